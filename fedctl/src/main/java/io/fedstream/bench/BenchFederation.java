package io.fedstream.bench;

import io.fedstream.avro.ModelManifest;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.LocalJob;
import io.fedstream.launch.NetworkBuffers;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.protocol.model.ModelSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

/**
 * One synthetic federation against a given Kafka: provisions the topics, publishes a seeded initial model, runs
 * the aggregation job (in this JVM's MiniCluster or in a {@link JobProcess} of its own) and one
 * {@link SyntheticClient} thread per client, and waits for the federation's finish. Every thread and process it
 * starts, it stops. What happened is in the {@link Result}: per-client timings, when each model manifest became
 * readable, and the job process's memory report.
 */
public final class BenchFederation {
    public enum JobMode { IN_PROCESS, CHILD_JVM }

    private final Config c;

    public BenchFederation(Config config) {
        this.c = config;
    }

    public static String clientId(int i) {
        return String.format("client-%03d", i + 1);
    }

    public Result run() throws Exception {
        Topics topics = new Topics(c.federation);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < c.clients; i++) {
            ids.add(clientId(i));
        }
        try (TopicProvisioner p = new TopicProvisioner(c.bootstrapServers)) {
            p.ensureFederationTopics(topics, c.parallelism);
            for (String id : ids) {
                p.ensureClientTopics(topics, id);
            }
        }
        stampAppendTime(c.bootstrapServers, topics.models());
        ModelManifest initial;
        {
            float[] weights = SyntheticModel.initialWeights(c.spec, c.seed);
            initial = SyntheticModel.publishInitial(c.bootstrapServers, topics, c.spec, weights, c.chunkFloats);
        }
        JobSettings.Builder jobSettings = JobSettings.builder()
                .bootstrapServers(c.bootstrapServers).federation(c.federation)
                .minClients(c.clients).clientsPerRound(c.clients).rounds(c.rounds).seed(c.seed)
                .parallelism(c.parallelism).delivery(c.delivery)
                // Checkpoints of a big model's state are not what is measured: far apart, on the filesystem.
                .checkpointInterval(c.checkpointInterval)
                .checkpointDir(c.workDir.resolve("checkpoints").toUri().toString())
                .roundTimeout(c.timeout).heartbeatTtl(c.timeout);
        if (c.bufferTimeoutMillis >= 0) {
            jobSettings.bufferTimeout(Duration.ofMillis(c.bufferTimeoutMillis));
        }
        JobSettings job = jobSettings.build();

        long started = System.nanoTime();
        JobProcess.Handle process = null;
        JobClient inProcess = null;
        Map<String, Object> jobReport = null;
        List<SyntheticClient> clients = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // At-least-once, a round ends when the broker appends its manifest, and the topic's append time says when:
        // each manifest is read once a client has its model, outside the timed windows. Exactly-once, a round ends
        // when a reader can see its manifest, and the watcher follows the topic.
        ManifestWatcher watcher = new ManifestWatcher(c.bootstrapServers, topics,
                c.delivery != JobSettings.Delivery.AT_LEAST_ONCE).start();
        boolean finished = false;
        String problem = null;
        try {
            if (c.jobMode == JobMode.CHILD_JVM) {
                process = JobProcess.start(job, c.jobHeap, c.jobJvmOptions, c.forcedGcMillis, c.flinkDefaultNetworkBuffers,
                        c.workDir.resolve("job"));
            } else {
                inProcess = LocalJob.start(job, NetworkBuffers.forJob(c.parallelism, c.flinkDefaultNetworkBuffers));
            }
            Semaphore permits = c.clientPermits > 0 ? new Semaphore(c.clientPermits) : null;
            CyclicBarrier together = c.commitTogether ? new CyclicBarrier(c.clients) : null;
            for (String id : ids) {
                SyntheticClient.Settings s = new SyntheticClient.Settings(c.bootstrapServers, topics, id,
                        c.spec.fingerprint(), SyntheticModel.samples(c.seed, id), c.seed, c.deltaScale,
                        Duration.ofSeconds(1), Duration.ofSeconds(5), permits, together);
                SyntheticClient client = new SyntheticClient(s);
                clients.add(client);
                Thread t = new Thread(() -> {
                    try {
                        client.run();
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "bench-" + c.federation + "-" + id);
                t.setDaemon(true);
                threads.add(t);
            }
            threads.forEach(Thread::start);
            long deadline = started + c.timeout.toNanos();
            int caughtUp = 0;
            while (true) {
                if (!watcher.live()) {
                    // A client that has the model of a round found its manifest before it: that window is over.
                    while (problem == null && caughtUp < c.rounds && anyReady(clients, caughtUp + 1)) {
                        problem = awaitManifest(watcher, ++caughtUp, topics);
                    }
                    if (problem != null) {
                        break;
                    }
                }
                if (clients.stream().allMatch(SyntheticClient::finished)) {
                    finished = true;
                    problem = awaitManifest(watcher, c.rounds, topics);
                    break;
                }
                if (failure.get() != null) {
                    problem = "a synthetic client failed: " + failure.get();
                    break;
                }
                if (process != null && !process.alive()) {
                    problem = "the job process exited:\n" + process.logTail(40);
                    break;
                }
                if (inProcess != null && inProcess.getJobStatus().get().isGloballyTerminalState()) {
                    problem = "the job stopped: " + inProcess.getJobStatus().get();
                    break;
                }
                if (System.nanoTime() > deadline) {
                    problem = "the federation did not finish within " + c.timeout + " (" + progress(clients) + ")";
                    break;
                }
                Thread.sleep(100);
            }
        } finally {
            for (SyntheticClient client : clients) {
                client.stop();
            }
            for (Thread t : threads) {
                t.join(15_000);
                if (t.isAlive()) {
                    // Blocked waiting for a memory permit that will not come: interrupt it.
                    t.interrupt();
                    t.join(15_000);
                }
            }
            for (SyntheticClient client : clients) {
                try {
                    client.close();
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                }
            }
            watcher.close();
            if (process != null) {
                try {
                    jobReport = process.stop(Duration.ofSeconds(90));
                } finally {
                    process.close();
                }
            }
            if (inProcess != null) {
                try {
                    inProcess.cancel().get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // Already finished or failed: nothing to cancel.
                }
            }
        }
        long elapsed = System.nanoTime() - started;
        if (problem != null) {
            throw new IllegalStateException("federation " + c.federation + ": " + problem);
        }
        return new Result(c, topics, initial, new ArrayList<>(clients), watcher, jobReport, elapsed, finished);
    }

    /** Null once the watcher has the manifest of model {@code version}, or what is wrong if it does not come. */
    private static String awaitManifest(ManifestWatcher watcher, int version, Topics topics) throws InterruptedException {
        return watcher.catchUp(version, Duration.ofSeconds(60)) ? null
                : "the manifest of model version " + version + " is not on " + topics.models();
    }

    /** True if a client has read the plan and the whole base model of {@code round}. */
    private static boolean anyReady(List<SyntheticClient> clients, int round) {
        return clients.stream().anyMatch(s -> s.readyNanos(round) != null);
    }

    private static String progress(List<SyntheticClient> clients) {
        StringBuilder sb = new StringBuilder();
        for (SyntheticClient s : clients) {
            sb.append(s.clientId()).append(": ").append(s.roundsTrained()).append(" trained, ")
                    .append(s.plansHandled()).append(" plans; ");
        }
        return sb.toString();
    }

    /**
     * Makes the broker stamp the topic's records with their append time, so a manifest's timestamp says when it
     * was committed, however far behind a reader on this busy machine is.
     */
    static void stampAppendTime(String bootstrapServers, String topic) throws Exception {
        try (Admin admin = admin(bootstrapServers)) {
            AlterConfigOp op = new AlterConfigOp(new ConfigEntry(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime"),
                    AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topic), List.of(op)))
                    .all().get(60, TimeUnit.SECONDS);
        }
    }

    /** Deletes every topic of a federation (benchmarks free the broker's disk between runs). */
    public static void deleteTopics(String bootstrapServers, String federation) throws Exception {
        try (Admin admin = admin(bootstrapServers)) {
            String prefix = "fedstream." + federation + ".";
            List<String> names = admin.listTopics().names().get().stream().filter(t -> t.startsWith(prefix)).toList();
            admin.deleteTopics(names).all().get(60, TimeUnit.SECONDS);
        }
    }

    private static Admin admin(String bootstrapServers) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return Admin.create(p);
    }

    /** What one federation run produced. */
    public static final class Result {
        public final Config config;
        public final Topics topics;
        public final ModelManifest initialManifest;
        public final List<SyntheticClient> clients;
        private final ManifestWatcher watcher;
        /** The job process's report (memory figures), or null when the job ran in this JVM. */
        public final Map<String, Object> jobReport;
        public final long elapsedNanos;
        public final boolean finished;

        Result(Config config, Topics topics, ModelManifest initialManifest, List<SyntheticClient> clients,
               ManifestWatcher watcher, Map<String, Object> jobReport, long elapsedNanos, boolean finished) {
            this.config = config;
            this.topics = topics;
            this.initialManifest = initialManifest;
            this.clients = clients;
            this.watcher = watcher;
            this.jobReport = jobReport;
            this.elapsedNanos = elapsedNanos;
            this.finished = finished;
        }

        public long modelBytes() {
            return config.spec.totalFloats() * Float.BYTES;
        }

        /**
         * nanoTime when the manifest of model {@code version} was committed on the models topic: appended by the
         * broker (at-least-once), or read here (exactly-once: readable when the job's transaction commits).
         */
        public Long manifestNanos(int version) {
            if (watcher.live()) {
                return watcher.seenNanos(version);
            }
            Long appended = watcher.appendedNanos(version);
            if (appended == null && watcher.manifest(version) != null) {
                throw new IllegalStateException(topics.models() + " does not stamp its records with their append time");
            }
            return appended;
        }

        /**
         * nanoTime when the manifest of model {@code version} was read here as the rounds ran, or null if the
         * manifests were read after them (at-least-once: see {@link ManifestWatcher}).
         */
        public Long manifestSeenNanos(int version) {
            return watcher.live() ? watcher.seenNanos(version) : null;
        }

        public ModelManifest manifest(int version) {
            return version == 0 ? initialManifest : watcher.manifest(version);
        }

        /** The earliest start of an update of {@code round}: its first record was about to be produced. */
        public long firstUpdateNanos(int round) {
            return clients.stream().map(s -> s.updateStartedNanos(round)).filter(v -> v != null)
                    .mapToLong(Long::longValue).min().orElseThrow(() -> new IllegalStateException("no update in round " + round));
        }

        /**
         * When the first update of {@code round} began to commit, every record of it on the broker: with clients
         * that commit together, the moment the whole round's updates were there to be read.
         */
        public long firstCommitStartNanos(int round) {
            return clients.stream().map(s -> s.commitStartedNanos(round)).filter(v -> v != null)
                    .mapToLong(Long::longValue).min().orElseThrow(() -> new IllegalStateException("no commit in round " + round));
        }

        /** When the last update of {@code round} had been committed. */
        public long lastCommitNanos(int round) {
            return clients.stream().map(s -> s.committedNanos(round)).filter(v -> v != null)
                    .mapToLong(Long::longValue).max().orElseThrow(() -> new IllegalStateException("no commit in round " + round));
        }

        /** When the plan and model of {@code round} had been read by every client it went to. */
        public long allReadyNanos(int round) {
            return clients.stream().map(s -> s.readyNanos(round)).filter(v -> v != null)
                    .mapToLong(Long::longValue).max().orElseThrow(() -> new IllegalStateException("nobody got round " + round));
        }

        /**
         * The timestamp from which every record of the reference check of {@code round} is on Kafka (see
         * {@link FedAvgReference#check(String, Topics, int, Long)}): the records were written after the previous
         * round began, its base model then. A second's margin for the clocks of the broker and the clients, which
         * are this machine's. Null for the first round, whose base is the initial model.
         */
        public Long referenceFromMs(int round) {
            return round == 0 ? null : wallClockMs(firstUpdateNanos(round - 1)) - 1000;
        }

        public int updatesIn(int round) {
            return (int) clients.stream().filter(s -> s.committedNanos(round) != null).count();
        }
    }

    /** A {@link System#nanoTime()} of this JVM as wall-clock milliseconds, the scale of Kafka record timestamps. */
    static long wallClockMs(long nanoTime) {
        return System.currentTimeMillis() - (System.nanoTime() - nanoTime) / 1_000_000;
    }

    public static Config.Builder config() {
        return new Config.Builder();
    }

    /** Settings of one benchmark federation. */
    public static final class Config {
        final String bootstrapServers;
        final String federation;
        final ModelSpec spec;
        final int clients;
        final int rounds;
        final int parallelism;
        final long seed;
        final float deltaScale;
        final int chunkFloats;
        final JobMode jobMode;
        final String jobHeap;
        final List<String> jobJvmOptions;
        final long forcedGcMillis;
        final long bufferTimeoutMillis;
        final boolean flinkDefaultNetworkBuffers;
        final int clientPermits;
        final boolean commitTogether;
        final Path workDir;
        final JobSettings.Delivery delivery;
        final Duration checkpointInterval;
        final Duration timeout;

        private Config(Builder b) {
            bootstrapServers = b.bootstrapServers;
            federation = b.federation;
            spec = b.spec;
            clients = b.clients;
            rounds = b.rounds;
            parallelism = b.parallelism;
            seed = b.seed;
            deltaScale = b.deltaScale;
            chunkFloats = b.chunkFloats;
            jobMode = b.jobMode;
            jobHeap = b.jobHeap;
            jobJvmOptions = List.copyOf(b.jobJvmOptions);
            forcedGcMillis = b.forcedGcMillis;
            bufferTimeoutMillis = b.bufferTimeoutMillis;
            flinkDefaultNetworkBuffers = b.flinkDefaultNetworkBuffers;
            clientPermits = b.clientPermits;
            commitTogether = b.commitTogether;
            workDir = b.workDir;
            delivery = b.delivery;
            checkpointInterval = b.checkpointInterval;
            timeout = b.timeout;
        }

        public ModelSpec spec() {
            return spec;
        }

        public int clients() {
            return clients;
        }

        public int rounds() {
            return rounds;
        }

        public static final class Builder {
            private String bootstrapServers;
            private String federation = "bench";
            private ModelSpec spec;
            private int clients = 8;
            private int rounds = 1;
            private int parallelism = 2;
            private long seed = 42;
            private float deltaScale = 1e-3f;
            private int chunkFloats = ChunkLayout.DEFAULT_CHUNK_FLOATS;
            private JobMode jobMode = JobMode.IN_PROCESS;
            private String jobHeap = "2g";
            private List<String> jobJvmOptions = List.of();
            private long forcedGcMillis;
            private long bufferTimeoutMillis = -1;
            private boolean flinkDefaultNetworkBuffers;
            private int clientPermits;
            private boolean commitTogether;
            private Path workDir;
            private JobSettings.Delivery delivery = JobSettings.Delivery.AT_LEAST_ONCE;
            private Duration checkpointInterval = Duration.ofMinutes(30);
            private Duration timeout = Duration.ofMinutes(30);

            public Builder bootstrapServers(String v) { bootstrapServers = v; return this; }
            public Builder federation(String v) { federation = v; return this; }
            public Builder spec(ModelSpec v) { spec = v; return this; }
            public Builder clients(int v) { clients = v; return this; }
            public Builder rounds(int v) { rounds = v; return this; }
            public Builder parallelism(int v) { parallelism = v; return this; }
            public Builder seed(long v) { seed = v; return this; }
            public Builder deltaScale(float v) { deltaScale = v; return this; }
            public Builder chunkFloats(int v) { chunkFloats = v; return this; }
            public Builder jobMode(JobMode v) { jobMode = v; return this; }
            /** -Xmx of the job process, e.g. "2g". */
            public Builder jobHeap(String v) { jobHeap = v; return this; }
            /** More JVM options of the job process, e.g. -XX:+UseParallelGC. */
            public Builder jobJvmOptions(List<String> v) { jobJvmOptions = v; return this; }
            /** Full collections at this interval in the job process, to sample its live heap exactly (0 = none). */
            public Builder forcedGcMillis(long v) { forcedGcMillis = v; return this; }
            /** Flink's network buffer timeout for the job, in ms (-1 = the job's own setting). */
            public Builder bufferTimeoutMillis(long v) { bufferTimeoutMillis = v; return this; }
            /** The job's MiniCluster keeps Flink's default network buffers rather than {@link NetworkBuffers}'. */
            public Builder flinkDefaultNetworkBuffers(boolean v) { flinkDefaultNetworkBuffers = v; return this; }
            /** How many clients may hold a model-sized buffer at once (0 = all). */
            public Builder clientPermits(int v) { clientPermits = v; return this; }
            /** Clients commit each round's updates together (see {@link SyntheticClient}); needs all permits. */
            public Builder commitTogether(boolean v) { commitTogether = v; return this; }
            public Builder workDir(Path v) { workDir = v; return this; }
            public Builder delivery(JobSettings.Delivery v) { delivery = v; return this; }
            public Builder checkpointInterval(Duration v) { checkpointInterval = v; return this; }
            public Builder timeout(Duration v) { timeout = v; return this; }

            public Config build() {
                if (bootstrapServers == null || spec == null || workDir == null) {
                    throw new IllegalArgumentException("bootstrap servers, model spec and work directory are required");
                }
                if (clients < 1 || rounds < 1 || parallelism < 1) {
                    throw new IllegalArgumentException("clients, rounds and parallelism must be at least 1");
                }
                if (commitTogether && clientPermits > 0 && clientPermits < clients) {
                    // A client holding a permit would wait at the barrier for one that waits for the permit.
                    throw new IllegalArgumentException("clients can commit together only if all may hold an update at once");
                }
                Topics.requireId("federation", federation);
                return new Config(this);
            }
        }
    }
}

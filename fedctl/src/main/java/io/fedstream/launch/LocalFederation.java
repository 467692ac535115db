package io.fedstream.launch;

import io.fedstream.avro.Finish;
import io.fedstream.avro.RoundSummary;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.data.Dataset;
import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import io.fedstream.job.JobSettings;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.sidecar.InitialModelPublisher;
import io.fedstream.sidecar.Sidecar;
import io.fedstream.sidecar.SidecarSettings;
import io.fedstream.train.LocalModel;
import io.fedstream.train.ModelKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.flink.core.execution.JobClient;

/**
 * A whole federation on one machine against a given Kafka: partitions a dataset into silos, provisions the
 * topics, publishes the seeded initial model, runs the aggregation job in a Flink MiniCluster and one sidecar
 * thread per silo, and follows the metrics topic until the finish message. Used by {@code fedstream demo} and
 * by the end-to-end tests.
 */
public final class LocalFederation {
    private final Options o;

    public LocalFederation(Options options) {
        this.o = options;
    }

    /** The client id of silo {@code i}. */
    public static String clientId(int i) {
        return "client-" + (i + 1);
    }

    public FederationResult run(Consumer<RoundSummary> onRound) throws Exception {
        long started = System.currentTimeMillis();
        Topics topics = new Topics(o.federation);
        Dataset dataset = DatasetLoader.resolve(o.dataset, o.dataRoot);
        List<SiloData> silos = new DirichletPartitioner(o.clients, o.alpha, o.testFraction, o.seed).partition(dataset);
        Path siloRoot = o.workDir.resolve("silos");
        SiloData.writeAll(silos, siloRoot);

        try (TopicProvisioner provisioner = new TopicProvisioner(o.bootstrapServers)) {
            provisioner.ensureFederationTopics(topics, Math.max(1, o.parallelism));
            for (int i = 0; i < o.clients; i++) {
                provisioner.ensureClientTopics(topics, clientId(i));
            }
        }
        try (LocalModel initial = LocalModel.create(o.model, silos.get(0).featureShape(), silos.get(0).numClasses(), o.seed)) {
            InitialModelPublisher.publish(o.bootstrapServers, topics, initial, o.chunkFloats);
        }

        JobSettings job = JobSettings.builder()
                .bootstrapServers(o.bootstrapServers).federation(o.federation)
                .minClients(o.clients).clientsPerRound(o.clientsPerRound > 0 ? o.clientsPerRound : o.clients)
                .rounds(o.rounds).seed(o.seed).localEpochs(o.localEpochs).batchSize(o.batchSize)
                .learningRate(o.learningRate).parallelism(o.parallelism).delivery(o.delivery)
                .checkpointInterval(o.checkpointInterval)
                .checkpointDir(o.workDir.resolve("checkpoints").toUri().toString())
                .build();
        JobClient jobClient = LocalJob.start(job);

        List<Sidecar> sidecars = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> sidecarFailure = new AtomicReference<>();
        for (int i = 0; i < o.clients; i++) {
            SidecarSettings s = SidecarSettings.builder()
                    .bootstrapServers(o.bootstrapServers).federation(o.federation).clientId(clientId(i))
                    .data(SiloData.siloDir(siloRoot, i)).model(o.model).seed(o.seed).createTopics(false)
                    .checkinInterval(Duration.ofSeconds(1))
                    .build();
            Thread t = new Thread(() -> {
                try (Sidecar sidecar = new Sidecar(s)) {
                    sidecars.add(sidecar);
                    sidecar.run();
                } catch (Throwable e) {
                    sidecarFailure.compareAndSet(null, e);
                }
            }, "sidecar-" + clientId(i));
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }

        List<RoundSummary> rounds = new ArrayList<>();
        Finish finish;
        try (MetricsWatcher watcher = new MetricsWatcher(o.bootstrapServers, topics)) {
            finish = watcher.follow(r -> {
                rounds.add(r);
                onRound.accept(r);
            }, o.timeout, () -> sidecarFailure.get() == null && !jobClient.getJobStatus().join().isGloballyTerminalState());
        } finally {
            for (Thread t : threads) {
                t.join(finishGraceMs());
            }
            synchronized (sidecars) {
                sidecars.forEach(Sidecar::stop);
            }
            for (Thread t : threads) {
                t.join(10_000);
            }
            try {
                jobClient.cancel().get();
            } catch (Exception e) {
                // Already finished or failed: nothing to cancel.
            }
        }
        if (sidecarFailure.get() != null) {
            throw new IllegalStateException("a sidecar failed: " + sidecarFailure.get(), sidecarFailure.get());
        }
        return new FederationResult(rounds, finish, System.currentTimeMillis() - started);
    }

    private static long finishGraceMs() {
        return 5_000;
    }

    public static Options.Builder options() {
        return new Options.Builder();
    }

    /** Settings of a local federation, with the demo's defaults. */
    public static final class Options {
        final String bootstrapServers;
        final String federation;
        final String dataset;
        final Path dataRoot;
        final Path workDir;
        final int clients;
        final int clientsPerRound;
        final double alpha;
        final double testFraction;
        final long seed;
        final ModelKind model;
        final int rounds;
        final int localEpochs;
        final int batchSize;
        final double learningRate;
        final int parallelism;
        final JobSettings.Delivery delivery;
        final Duration checkpointInterval;
        final Duration timeout;
        final int chunkFloats;

        private Options(Builder b) {
            this.bootstrapServers = b.bootstrapServers;
            this.federation = b.federation;
            this.dataset = b.dataset;
            this.dataRoot = b.dataRoot;
            this.workDir = b.workDir;
            this.clients = b.clients;
            this.clientsPerRound = b.clientsPerRound;
            this.alpha = b.alpha;
            this.testFraction = b.testFraction;
            this.seed = b.seed;
            this.model = b.model;
            this.rounds = b.rounds;
            this.localEpochs = b.localEpochs;
            this.batchSize = b.batchSize;
            this.learningRate = b.learningRate;
            this.parallelism = b.parallelism;
            this.delivery = b.delivery;
            this.checkpointInterval = b.checkpointInterval;
            this.timeout = b.timeout;
            this.chunkFloats = b.chunkFloats;
        }

        public static final class Builder {
            private String bootstrapServers;
            private String federation = "demo";
            private String dataset = DatasetLoader.MNIST_10K;
            private Path dataRoot = DatasetLoader.defaultDataRoot();
            private Path workDir;
            private int clients = 5;
            private int clientsPerRound;
            private double alpha = 0.5;
            private double testFraction = 0.2;
            private long seed = 42;
            private ModelKind model = ModelKind.MLP;
            private int rounds = 10;
            private int localEpochs = 2;
            private int batchSize = 16;
            private double learningRate = 0.1;
            private int parallelism = 1;
            private JobSettings.Delivery delivery = JobSettings.Delivery.AT_LEAST_ONCE;
            private Duration checkpointInterval = Duration.ofSeconds(10);
            private Duration timeout = Duration.ofMinutes(20);
            private int chunkFloats = ChunkLayout.DEFAULT_CHUNK_FLOATS;

            public Builder bootstrapServers(String v) { bootstrapServers = v; return this; }
            public Builder federation(String v) { federation = v; return this; }
            public Builder dataset(String v) { dataset = v; return this; }
            public Builder dataRoot(Path v) { dataRoot = v; return this; }
            public Builder workDir(Path v) { workDir = v; return this; }
            public Builder clients(int v) { clients = v; return this; }
            public Builder clientsPerRound(int v) { clientsPerRound = v; return this; }
            public Builder alpha(double v) { alpha = v; return this; }
            public Builder testFraction(double v) { testFraction = v; return this; }
            public Builder seed(long v) { seed = v; return this; }
            public Builder model(ModelKind v) { model = v; return this; }
            public Builder rounds(int v) { rounds = v; return this; }
            public Builder localEpochs(int v) { localEpochs = v; return this; }
            public Builder batchSize(int v) { batchSize = v; return this; }
            public Builder learningRate(double v) { learningRate = v; return this; }
            public Builder parallelism(int v) { parallelism = v; return this; }
            public Builder delivery(JobSettings.Delivery v) { delivery = v; return this; }
            public Builder checkpointInterval(Duration v) { checkpointInterval = v; return this; }
            public Builder timeout(Duration v) { timeout = v; return this; }
            /** Floats per model chunk; small values exercise multi-chunk models with small data. */
            public Builder chunkFloats(int v) { chunkFloats = v; return this; }

            public Options build() {
                if (bootstrapServers == null) {
                    throw new IllegalArgumentException("bootstrap servers are required");
                }
                if (workDir == null) {
                    throw new IllegalArgumentException("a work directory is required");
                }
                if (clients < 1) {
                    throw new IllegalArgumentException("--clients must be at least 1, got " + clients);
                }
                if (!(alpha > 0)) {
                    throw new IllegalArgumentException("--alpha must be positive, got " + alpha);
                }
                if (!(testFraction > 0 && testFraction < 1)) {
                    throw new IllegalArgumentException("--test-fraction must be between 0 and 1, got " + testFraction);
                }
                Topics.requireId("federation", federation);
                return new Options(this);
            }
        }
    }
}

package io.fedstream.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.fedstream.avro.Finish;
import io.fedstream.avro.RoundSummary;
import io.fedstream.data.Dataset;
import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.MetricsWatcher;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.sidecar.InitialModelPublisher;
import io.fedstream.sidecar.Sidecar;
import io.fedstream.sidecar.SidecarSettings;
import io.fedstream.train.LocalModel;
import io.fedstream.train.ModelKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The shaded job jar ({@code flink-job-<version>-flink.jar}, the artifact users hand to {@code flink run}) on a
 * REAL Flink session cluster: a JobManager and a TaskManager in their own JVMs ({@link FlinkSessionCluster}) whose
 * classpath is a Flink distribution's lib/ and nothing of fedstream, so every class of the job, the Kafka
 * connector, kafka-clients and Avro must come from the uploaded jar. The jar is uploaded and run through the REST
 * API; the federation itself (3 DJL sidecars on the digits set, 3 rounds of FedAvg) runs against an in-process
 * Kafka broker, with the sidecars in this JVM and the aggregation only on the cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ShadedJarOnSessionClusterIT {
    private static final String ENTRY_CLASS = "io.fedstream.job.AggregationJob";
    private static final int CLIENTS = 3;
    private static final int ROUNDS = 3;
    private static final int PARALLELISM = 2;

    private EmbeddedKafka kafka;
    private FlinkSessionCluster cluster;
    private Path work;

    /** The shaded jar: passed by failsafe, else found next to this module (for runs from an IDE). */
    static Path shadedJar() {
        String configured = System.getProperty("fedstream.flinkJobJar");
        Path jar = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.dir")).getParent().resolve("flink-job/target/flink-job-0.1.0-SNAPSHOT-flink.jar");
        assertTrue(Files.isRegularFile(jar), "shaded job jar " + jar + " missing: build it first (mvn -pl flink-job package)");
        return jar;
    }

    @Test
    @Order(1)
    void shadedJarHoldsTheJobAndItsConnectorsButNotFlink() throws IOException {
        try (JarFile jar = new JarFile(shadedJar().toFile())) {
            // The job and what it brings: the Kafka connector, kafka-clients, Avro, the fedstream modules.
            for (String present : List.of(
                    "io/fedstream/job/AggregationJob.class",
                    "io/fedstream/avro/RoundSummary.class",
                    "io/fedstream/protocol/Topics.class",
                    "org/apache/flink/connector/kafka/source/KafkaSource.class",
                    "org/apache/flink/connector/kafka/sink/KafkaSink.class",
                    "org/apache/kafka/clients/consumer/KafkaConsumer.class",
                    "org/apache/avro/Schema.class",
                    "org/apache/avro/specific/SpecificRecordBase.class")) {
                assertNotNull(jar.getEntry(present), "shaded jar lacks " + present);
            }
            // Provided by the cluster: Flink itself, connector-base, logging.
            for (String absent : List.of(
                    "org/apache/flink/streaming/api/environment/StreamExecutionEnvironment.class",
                    "org/apache/flink/api/common/functions/Function.class",
                    "org/apache/flink/connector/base/DeliveryGuarantee.class",
                    "org/apache/flink/runtime/jobgraph/JobGraph.class",
                    "org/slf4j/Logger.class",
                    "org/apache/logging/log4j/Logger.class")) {
                assertNull(jar.getEntry(absent), "shaded jar must not contain " + absent + " (provided by Flink)");
            }
            assertEquals(ENTRY_CLASS, jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
    }

    @Test
    @Order(2)
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void federationRunsOnARealSessionClusterFromTheShadedJar() throws Exception {
        long t0 = System.currentTimeMillis();
        Path jar = shadedJar();
        cluster = FlinkSessionCluster.launch(PARALLELISM); // starts in the background while Kafka and data get ready
        for (String entry : cluster.classpath()) {
            String file = Path.of(entry).getFileName().toString();
            assertFalse(file.startsWith("flink-connector-kafka") || file.startsWith("kafka-clients") || file.startsWith("avro-")
                    || file.startsWith("flink-job") || file.startsWith("kafka-protocol"),
                    "the cluster classpath must not hold the job's own dependencies: " + entry);
        }

        kafka = EmbeddedKafka.start();
        String bootstrap = kafka.bootstrapServers();
        for (String server : bootstrap.split(",")) {
            String host = server.substring(0, server.lastIndexOf(':'));
            assertTrue(host.equals("127.0.0.1") || host.equals("localhost"), "broker not on loopback: " + server);
        }

        work = Files.createTempDirectory("fedstream-cluster-it-");
        Topics topics = new Topics("cluster-it");
        Path dataRoot = Path.of(System.getProperty("user.dir")).getParent().resolve("data");
        Dataset digits = DatasetLoader.resolve(DatasetLoader.DIGITS, dataRoot);
        List<SiloData> silos = new DirichletPartitioner(CLIENTS, 0.5, 0.2, 7).partition(digits);
        Path siloRoot = work.resolve("silos");
        SiloData.writeAll(silos, siloRoot);
        try (TopicProvisioner provisioner = new TopicProvisioner(bootstrap)) {
            provisioner.ensureFederationTopics(topics, PARALLELISM);
            for (int i = 0; i < CLIENTS; i++) {
                provisioner.ensureClientTopics(topics, clientId(i));
            }
        }
        try (LocalModel initial = LocalModel.create(ModelKind.MLP, silos.get(0).featureShape(), silos.get(0).numClasses(), 7)) {
            InitialModelPublisher.publish(bootstrap, topics, initial);
        }

        cluster.awaitReady(Duration.ofSeconds(60));
        long clusterReady = System.currentTimeMillis();
        JsonNode overview = cluster.get("/overview");
        assertEquals(1, overview.path("taskmanagers").asInt(), overview.toString());
        assertEquals(PARALLELISM, overview.path("slots-total").asInt(), overview.toString());
        assertTrue(cluster.get("/config").path("flink-version").asText().startsWith("2.2"), "not a Flink 2.2 cluster");
        // The README's network buffers for large models: 256 MB of network memory in segments of 2 MiB.
        String taskManager = cluster.get("/taskmanagers").path("taskmanagers").path(0).path("id").asText();
        // The REST endpoint serves metrics it fetched earlier: zeros until its first fetch.
        JsonNode tmMetrics = cluster.get("/taskmanagers/" + taskManager).path("metrics");
        for (long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
             tmMetrics.path("nettyShuffleMemorySegmentsTotal").asInt() == 0 && System.nanoTime() < until; ) {
            Thread.sleep(500);
            tmMetrics = cluster.get("/taskmanagers/" + taskManager).path("metrics");
        }
        assertEquals(128, tmMetrics.path("nettyShuffleMemorySegmentsTotal").asInt(), tmMetrics.toString());
        assertEquals(256L * 1024 * 1024, tmMetrics.path("nettyShuffleMemoryTotal").asLong(), tmMetrics.toString());
        // The README's JVM options for the TaskManager: its metrics name the parallel collector's two collectors.
        List<String> collectors = new ArrayList<>();
        for (JsonNode metric : cluster.get("/taskmanagers/" + taskManager + "/metrics")) {
            String id = metric.path("id").asText();
            if (id.startsWith("Status.JVM.GarbageCollector.") && id.endsWith(".Count")) {
                collectors.add(id);
            }
        }
        assertTrue(collectors.stream().anyMatch(id -> id.contains("PS_Scavenge")), collectors.toString());
        assertTrue(collectors.stream().noneMatch(id -> id.contains("G1")), collectors.toString());

        JobSettings settings = JobSettings.builder()
                .bootstrapServers(bootstrap).federation(topics.federation())
                .minClients(CLIENTS).clientsPerRound(CLIENTS).rounds(ROUNDS).seed(7)
                .localEpochs(2).batchSize(16).learningRate(0.05).parallelism(PARALLELISM)
                .checkpointInterval(Duration.ofSeconds(5))
                .checkpointDir(work.resolve("checkpoints").toUri().toString())
                .build();
        String jarId = cluster.uploadJar(jar);
        String jobId = cluster.runJar(jarId, ENTRY_CLASS, settings.toArgs());
        JsonNode running = cluster.awaitJobRunning(jobId, Duration.ofSeconds(60));
        assertEquals("RUNNING", running.path("state").asText());
        assertEquals("fedstream-" + topics.federation(), running.path("name").asText());
        long jobRunning = System.currentTimeMillis();

        List<Sidecar> sidecars = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        AtomicBoolean stopping = new AtomicBoolean();
        AtomicReference<Throwable> sidecarFailure = new AtomicReference<>();
        List<RoundSummary> rounds = Collections.synchronizedList(new ArrayList<>());
        Finish finish;
        String lastJobState = "RUNNING";
        try {
            for (int i = 0; i < CLIENTS; i++) {
                SidecarSettings s = SidecarSettings.builder()
                        .bootstrapServers(bootstrap).federation(topics.federation()).clientId(clientId(i))
                        .data(SiloData.siloDir(siloRoot, i)).model(ModelKind.MLP).seed(7).createTopics(false)
                        .checkinInterval(Duration.ofSeconds(1))
                        .build();
                Thread t = new Thread(() -> {
                    try (Sidecar sidecar = new Sidecar(s)) {
                        sidecars.add(sidecar);
                        if (!stopping.get()) {
                            sidecar.run();
                        }
                    } catch (Throwable e) {
                        sidecarFailure.compareAndSet(null, e);
                    }
                }, "sidecar-" + clientId(i));
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }

            JobWatch watch = new JobWatch(cluster, jobId);
            try (MetricsWatcher watcher = new MetricsWatcher(bootstrap, topics)) {
                finish = watcher.follow(rounds::add, Duration.ofSeconds(150),
                        () -> sidecarFailure.get() == null && watch.stillRunning());
            }
            lastJobState = watch.state;
            if (finish == null) {
                fail("no finish message; rounds seen: " + rounds.size() + ", job state " + lastJobState
                        + ", sidecar failure " + sidecarFailure.get() + "\njob exceptions: " + cluster.exceptions(jobId)
                        + "\n" + cluster.logTails(80));
            }
            // The job was still RUNNING on the cluster while the federation finished.
            assertEquals("RUNNING", cluster.jobState(jobId), cluster.exceptions(jobId));
        } finally {
            stopping.set(true);
            for (Thread t : threads) {
                t.join(5_000);
            }
            sidecars.forEach(Sidecar::stop);
            for (Thread t : threads) {
                t.join(10_000);
            }
            try {
                cluster.cancelJob(jobId, Duration.ofSeconds(20));
            } catch (Exception e) {
                System.err.println("cancel of job " + jobId + " failed: " + e);
            }
        }
        long done = System.currentTimeMillis();
        if (sidecarFailure.get() != null) {
            throw new AssertionError("a sidecar failed", sidecarFailure.get());
        }
        for (Thread t : threads) {
            assertFalse(t.isAlive(), t.getName() + " still running");
        }
        assertEquals("CANCELED", cluster.jobState(jobId), "job not canceled");

        List<RoundSummary> summaries = new ArrayList<>(rounds);
        summaries.sort(Comparator.comparingInt(RoundSummary::getRound));
        assertEquals(ROUNDS, summaries.size(), "round summaries: " + summaries);
        for (int r = 0; r < ROUNDS; r++) {
            RoundSummary s = summaries.get(r);
            assertEquals(r, s.getRound());
            assertEquals(CLIENTS, s.getParticipants().size(), s.toString());
            assertEquals(r + 1, s.getModelVersion());
        }
        assertEquals(topics.federation(), finish.getFederation().toString());
        assertEquals(ROUNDS, finish.getRounds());
        assertEquals(summaries.get(ROUNDS - 1).getModelDigest().toString(), finish.getFinalModelDigest().toString());
        double lastAccuracy = summaries.get(ROUNDS - 1).getEvalAccuracy();
        assertTrue(lastAccuracy > 0.5, "eval accuracy after the last round: " + lastAccuracy);

        // The job ran on the TaskManager, not somewhere in this JVM: its operators show up in the TM's log.
        String tmLog = cluster.log("taskmanager.log");
        assertTrue(tmLog.contains("round-coordinator") || tmLog.contains("chunk-aggregator"),
                "the TaskManager's log does not mention the job's operators");

        System.out.printf("ShadedJarOnSessionClusterIT: cluster ready %.1f s after launch, job RUNNING after %.1f s, "
                + "%d rounds + finish %.1f s later (total %.1f s); accuracy per round %s, final %.3f%n",
                (clusterReady - t0) / 1e3, (jobRunning - t0) / 1e3, ROUNDS, (done - jobRunning) / 1e3, (done - t0) / 1e3,
                summaries.stream().map(s -> String.format("%.3f", s.getEvalAccuracy())).toList(), finish.getFinalEvalAccuracy());
    }

    /**
     * {@code /jars/<id>/run} executes the job's main method inside the session cluster's JobManager JVM, so a bad
     * flag must come back as an error answer and leave the cluster (and every other federation's job on it) alive.
     */
    @Test
    @Order(3)
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aBadFlagIsAnErrorAnswerAndTheClusterSurvives() throws Exception {
        if (cluster == null) {
            cluster = FlinkSessionCluster.start(PARALLELISM, Duration.ofSeconds(60));
        }
        String jarId = cluster.uploadJar(shadedJar());
        try {
            String jobId = cluster.runJar(jarId, ENTRY_CLASS, List.of("--bootstrap-servers", "127.0.0.1:9", "--rounds", "0"));
            fail("a job was submitted with --rounds 0: " + jobId);
        } catch (IOException e) {
            assertTrue(e.getMessage().contains("--rounds must be at least 1"), "error answer does not name the bad flag: " + e.getMessage());
        }
        Thread.sleep(2000);
        cluster.checkAlive();
        assertEquals(1, cluster.get("/overview").path("taskmanagers").asInt());
    }

    @AfterAll
    void stopEverything() throws IOException {
        try {
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            try {
                if (kafka != null) {
                    kafka.close();
                }
            } finally {
                if (work != null) {
                    try (Stream<Path> walk = Files.walk(work)) {
                        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    }
                }
            }
        }
    }

    private static String clientId(int i) {
        return "client-" + (i + 1);
    }

    /** The job's state from REST, asked at most once a second. */
    private static final class JobWatch {
        private final FlinkSessionCluster cluster;
        private final String jobId;
        private long nextCheck;
        String state = "RUNNING";

        JobWatch(FlinkSessionCluster cluster, String jobId) {
            this.cluster = cluster;
            this.jobId = jobId;
        }

        boolean stillRunning() {
            long now = System.currentTimeMillis();
            if (now >= nextCheck) {
                nextCheck = now + 1000;
                try {
                    cluster.checkAlive();
                    state = cluster.jobState(jobId);
                } catch (IllegalStateException e) {
                    state = "PROCESS-EXITED";
                } catch (Exception e) {
                    // A slow REST answer is not a failure; ask again next time.
                }
            }
            return !FlinkSessionCluster.isTerminal(state) && !state.equals("PROCESS-EXITED");
        }
    }
}

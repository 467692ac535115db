package io.fedstream.robust;

import io.fedstream.avro.ModelManifest;
import io.fedstream.job.AggregationJob;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.LocalJob;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.sidecar.InitialModelPublisher;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One federation of scripted clients against the real job in a MiniCluster: topics, a small synthetic initial
 * model (a flat spec of {@value #FLOATS} floats in chunks of {@value #CHUNK_FLOATS}, so several chunk
 * aggregators), the job with an in-memory metric reporter, a {@link Probe} on the job's output, and clean-up.
 */
final class Harness implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Harness.class);

    static final int FLOATS = 18_000;
    static final int CHUNK_FLOATS = 4_000;
    /** Heartbeat interval of the scripted clients; short enough for a 2 s heartbeat TTL. */
    static final Duration HEARTBEAT = Duration.ofMillis(300);

    final String bootstrap;
    final Topics topics;
    final ModelSpec spec = ModelSpec.flat("w", FLOATS);
    final String fingerprint = spec.fingerprint();
    final List<ScriptedClient> clients = new ArrayList<>();
    private ModelManifest manifest;
    private JobClient job;
    private Probe probe;
    private RawSender raw;
    private final long startedAt = System.nanoTime();

    Harness(EmbeddedKafka kafka, String federation) {
        this.bootstrap = kafka.bootstrapServers();
        this.topics = new Topics(federation);
    }

    /** Creates the federation's topics and these clients' topic pairs. */
    Harness provision(String... clientIds) {
        try (TopicProvisioner p = new TopicProvisioner(bootstrap)) {
            p.ensureFederationTopics(topics, 1);
            for (String c : clientIds) {
                p.ensureClientTopics(topics, c);
            }
        }
        return this;
    }

    /** Deterministic initial weights. */
    static float[] initialWeights() {
        float[] w = new float[FLOATS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (0.5 * Math.sin(i * 0.001) + 0.001 * (i % 7));
        }
        return w;
    }

    /** Publishes version 0: every chunk and the manifest in one transaction, as {@code fedstream init-model} does. */
    ModelManifest publishInitialModel() {
        manifest = InitialModelPublisher.publish(bootstrap, topics, spec, initialWeights(), CHUNK_FLOATS);
        return manifest;
    }

    ModelManifest initialManifest() {
        return manifest;
    }

    /** Settings with this federation's broker and id filled in. */
    JobSettings.Builder settings() {
        return JobSettings.builder().bootstrapServers(bootstrap).federation(topics.federation());
    }

    String jobName() {
        return AggregationJob.jobName(settings().build());
    }

    /**
     * Starts the job in a MiniCluster with {@link MemoryReporter} registered. Flink finds reporter factories only
     * through the service loader of the thread's context class loader, so the service entry is served from a
     * temporary folder while the MiniCluster starts.
     */
    JobClient startJob(JobSettings settings) throws Exception {
        Configuration conf = new Configuration();
        conf.setString("metrics.reporter.mem.factory.class", MemoryReporterFactory.class.getName());
        Path dir = Files.createTempDirectory("fedstream-reporter-");
        Path services = dir.resolve("META-INF/services/org.apache.flink.metrics.reporter.MetricReporterFactory");
        Files.createDirectories(services.getParent());
        Files.writeString(services, MemoryReporterFactory.class.getName() + "\n");
        ClassLoader original = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, original)) {
            Thread.currentThread().setContextClassLoader(loader);
            job = LocalJob.start(settings, conf);
        } finally {
            Thread.currentThread().setContextClassLoader(original);
            // The factory is loaded while the MiniCluster starts; the folder is not needed after that.
            Files.deleteIfExists(services);
            Files.deleteIfExists(services.getParent());
            Files.deleteIfExists(services.getParent().getParent());
            Files.deleteIfExists(dir);
        }
        probe = new Probe(bootstrap, topics);
        return job;
    }

    Probe probe() {
        return probe;
    }

    /** A job counter summed over subtasks; -1 if the job never registered it. */
    long metric(String name) {
        return MemoryReporter.count(jobName(), name);
    }

    ScriptedClient client(String id, long samples) {
        return client(id, samples, HEARTBEAT);
    }

    ScriptedClient client(String id, long samples, Duration heartbeatInterval) {
        ScriptedClient c = new ScriptedClient(bootstrap, topics, id, fingerprint, samples, 11, heartbeatInterval);
        clients.add(c);
        return c;
    }

    RawSender raw() {
        if (raw == null) {
            raw = new RawSender(bootstrap, topics.federation());
        }
        return raw;
    }

    /** Fails with the first error any client had (a model that did not verify, an unreadable record). */
    void assertClientsHealthy() {
        List<Throwable> errors = ScriptedClient.errorsOf(clients);
        if (!errors.isEmpty()) {
            AssertionError e = new AssertionError(errors.size() + " client error(s); first: " + errors.get(0));
            errors.forEach(e::addSuppressed);
            throw e;
        }
    }

    @Override
    public void close() throws Exception {
        for (ScriptedClient c : clients) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing client {}: {}", c.id(), e.toString());
            }
        }
        if (job != null) {
            try {
                job.cancel().get();
            } catch (Exception e) {
                LOG.warn("cancelling the job: {}", e.toString());
            }
        }
        if (probe != null) {
            probe.close();
        }
        if (raw != null) {
            raw.close();
        }
        LOG.info("[{}] scenario took {} s", topics.federation(), (System.nanoTime() - startedAt) / 1_000_000_000.0);
    }
}

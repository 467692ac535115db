package io.fedstream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Finish;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundSummary;
import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.LocalJob;
import io.fedstream.launch.MetricsWatcher;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.sidecar.InitialModelPublisher;
import io.fedstream.sidecar.Sidecar;
import io.fedstream.sidecar.SidecarSettings;
import io.fedstream.train.LocalModel;
import io.fedstream.train.ModelKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar stopped in the middle of a federation and started again under the same client id picks up where
 * its committed offsets left it, takes part in the remaining rounds, and the federation finishes.
 */
class SidecarRejoinIT {
    /** Work folders of this class; JUnit deletes it after the last test. */
    @TempDir
    static Path tempRoot;

    private static final int ROUNDS = 4;

    @Test
    void restartedSidecarRejoins() throws Exception {
        Topics topics = new Topics("rejoin");
        Path work = Files.createTempDirectory(tempRoot, "fedstream-rejoin-");
        Path dataRoot = Path.of(System.getProperty("user.dir")).getParent().resolve("data");
        List<SiloData> silos = new DirichletPartitioner(2, 1.0, 0.2, 3).partition(DatasetLoader.resolve("digits", dataRoot));
        SiloData.writeAll(silos, work);
        List<Thread> threads = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            String bootstrap = kafka.bootstrapServers();
            try (TopicProvisioner p = new TopicProvisioner(bootstrap)) {
                p.ensureFederationTopics(topics, 1);
            }
            try (LocalModel m = LocalModel.create(ModelKind.MLP, silos.get(0).featureShape(), silos.get(0).numClasses(), 3)) {
                InitialModelPublisher.publish(bootstrap, topics, m);
            }
            JobClient job = LocalJob.start(JobSettings.builder().bootstrapServers(bootstrap).federation(topics.federation())
                    .minClients(2).clientsPerRound(2).rounds(ROUNDS).seed(3).localEpochs(1).batchSize(16)
                    .learningRate(0.05).build());
            try {
                Sidecar steady = sidecar(bootstrap, topics, work, 0);
                threads.add(start(steady));
                Sidecar firstLife = sidecar(bootstrap, topics, work, 1);
                Thread firstThread = start(firstLife);
                long deadline = System.currentTimeMillis() + 120_000;
                while (firstLife.roundsTrained() < 1 && System.currentTimeMillis() < deadline) {
                    Thread.sleep(20);
                }
                assertTrue(firstLife.roundsTrained() >= 1, "client-2 never trained");
                firstLife.stop();
                firstThread.join(30_000);
                int trainedBefore = firstLife.roundsTrained();
                firstLife.close();
                assertTrue(trainedBefore < ROUNDS, "client-2 finished before it could be restarted");

                Sidecar secondLife = sidecar(bootstrap, topics, work, 1);
                threads.add(start(secondLife));
                Finish finish;
                List<RoundSummary> summaries = new ArrayList<>();
                try (MetricsWatcher w = new MetricsWatcher(bootstrap, topics)) {
                    finish = w.follow(summaries::add, Duration.ofMinutes(3), () -> true);
                }
                assertNotNull(finish, "the federation did not finish after the restart");
                assertEquals(ROUNDS, summaries.size());
                assertTrue(secondLife.roundsTrained() >= 1, "the restarted sidecar never trained");
                for (RoundDecision d : TopicReader.read(bootstrap, topics.control(), RoundDecision.class)) {
                    assertEquals(List.of("client-1", "client-2"),
                            d.getParticipants().stream().map(x -> x.getClientId()).toList(), "round " + d.getRound());
                }
                steady.close();
                secondLife.close();
            } finally {
                job.cancel().get();
                for (Thread t : threads) {
                    t.join(10_000);
                }
            }
        }
    }

    private static Sidecar sidecar(String bootstrap, Topics topics, Path root, int i) throws Exception {
        return new Sidecar(SidecarSettings.builder().bootstrapServers(bootstrap).federation(topics.federation())
                .clientId("client-" + (i + 1)).data(SiloData.siloDir(root, i)).model(ModelKind.MLP).seed(3)
                .checkinInterval(Duration.ofMillis(500)).build());
    }

    private static Thread start(Sidecar s) {
        Thread t = new Thread(s::run, "sidecar");
        t.setDaemon(true);
        t.start();
        return t;
    }
}

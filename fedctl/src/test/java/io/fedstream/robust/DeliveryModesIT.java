package io.fedstream.robust;

import static io.fedstream.robust.Reference.participants;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Finish;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.job.JobSettings.Delivery;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The same scripted federation with {@code --delivery at-least-once} and with {@code --delivery exactly-once}.
 * The clients' updates are deterministic and FedAvg does not depend on arrival order, so both runs must select
 * the same clients and publish the same model digest for every version. With exactly-once the job writes in
 * Kafka transactions that commit on checkpoints (a short checkpoint interval keeps the rounds quick); the
 * clients and the probe read read_committed, so the federation only progresses if those commits happen.
 */
class DeliveryModesIT extends WithKafka {
    private static final int ROUNDS = 3;
    private static final Duration CHECKPOINTS = Duration.ofMillis(300);

    /** What a run published, read_committed. */
    record Outcome(Map<Integer, String> modelDigests, Map<Integer, List<String>> selected,
                   Map<Integer, List<String>> participants, String finalDigest) { }

    @Test
    void atLeastOnceAndExactlyOnceRunTheSameFederationToTheSameModels() throws Exception {
        Outcome atLeastOnce = run("dm-alo", Delivery.AT_LEAST_ONCE);
        Outcome exactlyOnce = run("dm-eo", Delivery.EXACTLY_ONCE);

        assertEquals(ROUNDS + 1, atLeastOnce.modelDigests().size(), "versions " + atLeastOnce.modelDigests().keySet());
        assertEquals(atLeastOnce.modelDigests(), exactlyOnce.modelDigests(), "model digest of every version");
        assertEquals(atLeastOnce.selected(), exactlyOnce.selected(), "clients selected per round");
        assertEquals(atLeastOnce.participants(), exactlyOnce.participants(), "participants per round");
        assertEquals(atLeastOnce.finalDigest(), exactlyOnce.finalDigest(), "final model");
        assertEquals(atLeastOnce.modelDigests().get(ROUNDS), atLeastOnce.finalDigest());
    }

    private Outcome run(String federation, Delivery delivery) throws Exception {
        try (Harness h = new Harness(kafka, federation).provision("a", "b", "c", "d")) {
            h.publishInitialModel();
            // Three of four clients per round, so the seeded selection matters and must agree between the runs.
            h.startJob(h.settings().minClients(4).clientsPerRound(3).seed(7).rounds(ROUNDS)
                    .roundTimeout(Duration.ofSeconds(30)).parallelism(2)
                    .delivery(delivery).checkpointInterval(CHECKPOINTS).build());
            h.client("a", 100).start();
            h.client("b", 110).start();
            h.client("c", 120).start();
            h.client("d", 130).start();
            Finish finish = h.probe().awaitFinish(Duration.ofSeconds(60));
            h.assertClientsHealthy();
            String mode = delivery.name();

            // Every round's summary once, one finish, each version's manifest once, nothing rejected.
            for (int round = 0; round < ROUNDS; round++) {
                final int r = round;
                assertEquals(1, h.probe().summaries().stream().filter(s -> s.getRound() == r).count(),
                        mode + ": summaries of round " + round);
                assertEquals(1, h.probe().decisions().stream().filter(d -> d.getRound() == r).count(),
                        mode + ": decisions of round " + round);
                assertEquals("ALL_COMMITTED", h.probe().decision(round).getReason(), mode);
            }
            assertEquals(ROUNDS, h.probe().summaries().size(), mode + ": summaries");
            assertEquals(1, h.probe().all(h.topics.metrics(), Finish.class).size(), mode + ": finish records");
            assertEquals("COMPLETED", finish.getReason());
            assertTrue(h.probe().deadLetters().isEmpty() && h.probe().lates().isEmpty(), mode + ":\n" + h.probe().describe());
            Reference.assertModelsAreFedAvgOfAcceptedUpdates(h, ROUNDS);

            // The job's output really was transactional with exactly-once and plain with at-least-once: a
            // transaction leaves a commit marker that takes an offset but is never returned to a consumer.
            List<Rec> metrics = Topic.read(h.bootstrap, h.topics.metrics());
            assertEquals(ROUNDS + 1, metrics.size(), mode + ": summaries and the finish on the metrics topic");
            long end = Topic.endOffset(h.bootstrap, h.topics.metrics());
            if (delivery == Delivery.EXACTLY_ONCE) {
                assertTrue(end > metrics.size(), mode + ": no transaction markers on the metrics topic (end offset " + end + ")");
            } else {
                assertEquals(metrics.size(), end, mode + ": the metrics topic holds only the records");
            }

            Map<Integer, String> digests = new TreeMap<>();
            for (ModelManifest m : h.probe().manifests()) {
                assertEquals(null, digests.put(m.getVersion(), m.getDigest()), mode + ": manifest of version " + m.getVersion());
            }
            Map<Integer, List<String>> selected = new TreeMap<>();
            for (RoundPlan p : h.probe().plans()) {
                assertEquals(null, selected.put(p.getRound(), p.getSelectedClients()), mode + ": plans of round " + p.getRound());
            }
            Map<Integer, List<String>> decided = new TreeMap<>();
            for (RoundDecision d : h.probe().decisions()) {
                decided.put(d.getRound(), participants(d));
            }
            for (RoundSummary s : h.probe().summaries()) {
                assertEquals(digests.get(s.getRound() + 1), s.getModelDigest(), mode + ": digest in the summary of round " + s.getRound());
            }
            assertNotNull(finish.getFinalModelDigest());
            return new Outcome(digests, selected, decided, finish.getFinalModelDigest());
        }
    }
}

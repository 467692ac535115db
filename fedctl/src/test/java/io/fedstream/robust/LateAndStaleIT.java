package io.fedstream.robust;

import static io.fedstream.robust.Reference.participants;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Stale and late updates against the real job: neither is ever mixed into a round. In round 1, client s sends an
 * update trained on the model of round 0 (its commit and chunks name version 0's digest) and nothing else; client
 * l stays silent until round 1 has closed at its deadline (with a and b) and round 2 is planned, and then sends
 * its honest round-1 update. Every record of both updates must land on the late topic with STALE_UPDATE or
 * LATE_UPDATE, its source and its exact bytes; round 1's summary and the {@code updatesLate} counter count the
 * two commits; and every published model is FedAvg over the accepted updates only.
 *
 * <p>No race decides where l's late commit is counted: round 1's summary waits for every client of round 2 to
 * evaluate the new model, and l evaluates it only after sending the late update on the same (one-partition)
 * topic, so the job reads the late commit while that summary is still open.
 */
class LateAndStaleIT extends WithKafka {
    private static final int CHUNKS = 5;

    @Test
    void staleAndLateUpdatesGoToTheLateTopicAreCountedAndNeverMixedIntoARound() throws Exception {
        try (Harness h = new Harness(kafka, "late-stale").provision("a", "b", "l", "s")) {
            String v0 = h.publishInitialModel().getDigest();
            // Round 1 ends at this deadline; rounds 0 and 2 close as soon as all four committed (about 1 s).
            h.startJob(h.settings().minClients(4).clientsPerRound(4).minClientsPerRound(2).rounds(3)
                    .roundTimeout(Duration.ofSeconds(6)).parallelism(2).build());
            h.client("a", 100).start();
            h.client("b", 110).start();
            // s: in round 1, an update trained on version 0 (a delta unlike any honest one, so mixing it in would
            // show in the model), then silence.
            ScriptedClient s = h.client("s", 120).script(1, (self, plan) -> {
                self.sendEval(plan);
                self.sendUpdate(plan.getRound(), v0, poison(), plan.getChunkFloats());
            }).start();
            // l: its honest round-1 update, once round 1 is closed and aggregated (round 2 is planned).
            ScriptedClient l = h.client("l", 130).script(1, (self, plan) -> {
                self.sendEval(plan);
                h.probe().await("the plan of round 2", Duration.ofSeconds(30), () -> h.probe().plan(2, 1) != null);
                self.sendUpdate(plan);
            }).start();
            h.probe().awaitFinish(Duration.ofSeconds(60));
            h.assertClientsHealthy();

            RoundPlan plan1 = h.probe().plan(1, 1);
            assertEquals(List.of("a", "b", "l", "s"), plan1.getSelectedClients());
            assertNotEquals(v0, plan1.getBaseModelDigest());
            assertEquals(v0, s.sent().get(1).baseModelDigest(), "s's round-1 update names the old model");
            assertEquals(1, s.sent().get(1).round());

            // Round 1 closed at its deadline with a and b only.
            RoundDecision d1 = h.probe().decision(1);
            assertEquals("DEADLINE_QUORUM", d1.getReason());
            assertEquals(List.of("a", "b"), participants(d1));
            RoundSummary s1 = h.probe().summary(1);
            assertEquals(List.of("a", "b"), s1.getParticipants());
            assertEquals(List.of("l", "s"), s1.getStragglers());
            assertEquals(210, s1.getTotalSamples());
            // The next round is not affected: everyone takes part with their round-2 update.
            assertEquals(List.of("a", "b", "l", "s"), participants(h.probe().decision(2)));
            assertEquals("ALL_COMMITTED", h.probe().decision(2).getReason());

            // Every record of both updates is on the late topic, with its reason, source and exact bytes.
            Map<String, Rec> late = bySource(h.probe().lates());
            List<Rec> stale = updateRecords(h, "s", 1);
            List<Rec> tooLate = updateRecords(h, "l", 1);
            assertEquals(CHUNKS + 1, stale.size());
            assertEquals(CHUNKS + 1, tooLate.size());
            assertLate(late, stale, "STALE_UPDATE", "s", 1);
            assertLate(late, tooLate, "LATE_UPDATE", "l", 1);
            assertEquals(stale.size() + tooLate.size(), late.size(), "late topic: " + late.keySet());
            assertTrue(h.probe().deadLetters().isEmpty(), "dead letters: " + h.probe().deadLetters());

            // Counted: the two commits in round 1's summary and in updatesLate; the ten chunks by the aggregators.
            assertEquals(3, h.probe().summaries().size(), "summaries");
            for (int round = 0; round < 3; round++) {
                RoundSummary x = h.probe().summary(round);
                assertEquals(round == 1 ? 2 : 0, x.getLateUpdates(), "late updates in the summary of round " + round);
                assertEquals(0, x.getRejections(), "rejections in the summary of round " + round);
            }
            assertEquals(2, h.metric("updatesLate"), "updatesLate");
            assertEquals(2 * CHUNKS, h.metric("updatesRejected"), "updatesRejected");
            assertEquals(0, h.metric("commitsRejected"), "commitsRejected");
            assertEquals(0, h.metric("recordsRejected"), "recordsRejected");

            Reference.assertModelsAreFedAvgOfAcceptedUpdates(h, 3);
        }
    }

    /** A delta of 0.25 everywhere: no honest client sends anything like it. */
    private static float[] poison() {
        float[] d = new float[Harness.FLOATS];
        Arrays.fill(d, 0.25f);
        return d;
    }

    /** The chunks and commits a client sent for a round, as they are on its updates topic. */
    private static List<Rec> updateRecords(Harness h, String client, int round) {
        return Topic.read(h.bootstrap, h.topics.clientUpdates(client)).stream()
                .filter(r -> (r.record() instanceof UpdateChunk c && c.getRound() == round)
                        || (r.record() instanceof UpdateCommit c2 && c2.getRound() == round))
                .toList();
    }

    private static Map<String, Rec> bySource(List<Rec> rejections) {
        Map<String, Rec> out = new HashMap<>();
        for (Rec r : rejections) {
            Rejected x = r.as(Rejected.class);
            Rec previous = out.put(Rec.source(x.getSourceTopic(), x.getSourcePartition(), x.getSourceOffset()), r);
            assertEquals(null, previous, "two rejections of the record at " + r);
        }
        return out;
    }

    private static void assertLate(Map<String, Rec> late, List<Rec> sent, String reason, String client, int round) {
        for (Rec r : sent) {
            Rec l = late.get(r.source());
            assertNotNull(l, "no late record for " + r + "; late topic: " + late.keySet());
            Rejected x = l.as(Rejected.class);
            assertEquals(reason, x.getReason(), "reason for " + r + ": " + x.getDetail());
            assertEquals(client, x.getClientId());
            assertEquals(round, x.getRound());
            byte[] payload = new byte[x.getPayload().remaining()];
            x.getPayload().duplicate().get(payload);
            assertArrayEquals(r.value(), payload, "payload of the late record for " + r);
        }
    }
}

package io.fedstream.robust;

import static io.fedstream.robust.Reference.participants;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.EvalReport;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Duplicates against the real job: a record delivered twice is never counted twice, and an identical resend is
 * not an error, so it makes no dead-letter or late-topic noise (docs/protocol.md, "Idempotency").
 *
 * <ul>
 *   <li>Round 0, the same update twice in the round: a resends its whole update (chunks and commit) through the
 *       same producer, as an at-least-once retry would; b resends it through a new producer with the same
 *       transactional id, as a restarted sidecar would; c sends an update in which one chunk appears twice.</li>
 *   <li>Round 1, a replay: before its round-1 update, every client re-sends the exact bytes of all its round-0
 *       records (the update chunks, commits and eval report, the duplicates included) to its updates topic.
 *       The replay sits before the client's round-1 commit on the same partition, so the job has read it before
 *       round 1 can close, while round 0's summary is still open (it waits for the round-1 evaluations).</li>
 * </ul>
 * The models must be FedAvg with every participant counted once, and the decisions and summaries must count
 * each participant and its samples once.
 */
class DuplicatesIT extends WithKafka {
    private static final int CHUNKS = 5;

    @Test
    void resentReplayedAndDuplicatedUpdatesAreCountedOnceAndMakeNoNoise() throws Exception {
        try (Harness h = new Harness(kafka, "duplicates").provision("a", "b", "c")) {
            h.publishInitialModel();
            h.startJob(h.settings().minClients(3).clientsPerRound(3).rounds(3).roundTimeout(Duration.ofSeconds(20))
                    .parallelism(2).build());
            Map<String, Integer> replayed = new ConcurrentHashMap<>();
            ScriptedClient.Script replayThenNormal = (self, plan) -> {
                replayed.put(self.id(), replayRound(h, self.id(), 0));
                ScriptedClient.NORMAL.onPlan(self, plan);
            };
            ScriptedClient a = h.client("a", 100).script(0, (self, plan) -> {
                ScriptedClient.NORMAL.onPlan(self, plan);
                self.sendUpdate(plan); // the same update again, same producer
            }).script(1, replayThenNormal).start();
            ScriptedClient b = h.client("b", 110).script(0, (self, plan) -> {
                ScriptedClient.NORMAL.onPlan(self, plan);
                self.restartPublisher();
                self.sendUpdate(plan); // the same update again, after a "restart"
            }).script(1, replayThenNormal).start();
            // c commits last in round 0, once both resends are on Kafka, so the job usually reads them while the
            // round is open (they are on other partitions than c's commit, so not always); they must be ignored
            // either way.
            h.client("c", 120).script(0, (self, plan) -> {
                self.sendEval(plan);
                h.probe().await("a's and b's resends", Duration.ofSeconds(30), () -> a.sent().size() == 2 && b.sent().size() == 2);
                sendWithADuplicatedChunk(h, self, plan, 2);
            }).script(1, replayThenNormal).start();
            h.probe().awaitFinish(Duration.ofSeconds(60));
            h.assertClientsHealthy();

            // The duplicates were really sent.
            assertEquals(a.sent().get(0).digest(), a.sent().get(1).digest(), "a resent the same update");
            assertEquals(b.sent().get(0).digest(), b.sent().get(1).digest(), "b resent the same update");
            assertEquals(4, commits(h, "a", 0), "a's round-0 commits: sent, resent, and both replayed");
            assertEquals(4, commits(h, "b", 0), "b's round-0 commits: sent, resent, and both replayed");
            assertEquals(2, commits(h, "c", 0), "c's round-0 commits: sent and replayed");
            assertEquals(4, chunkCopies(h, "c", 0, 2), "c's chunk 2 of round 0: twice in the update, twice in the replay");
            assertEquals(Map.of("a", 2 * (CHUNKS + 1) + 1, "b", 2 * (CHUNKS + 1) + 1, "c", CHUNKS + 2 + 1), replayed,
                    "records replayed per client (update chunks, commits, the eval report)");

            // No noise: an identical copy is neither rejected nor late, and nothing counts it.
            assertTrue(h.probe().deadLetters().isEmpty(), "dead letters:\n" + h.probe().describe());
            assertTrue(h.probe().lates().isEmpty(), "late records:\n" + h.probe().describe());
            for (String counter : List.of("recordsRejected", "commitsRejected", "updatesLate", "updatesRejected")) {
                assertEquals(0, h.metric(counter), counter);
            }

            // Counted once: every round decided once with each client once, and summarised once.
            Map<Integer, RoundDecision> decisions = Reference.assertModelsAreFedAvgOfAcceptedUpdates(h, 3);
            for (RoundDecision d : decisions.values()) {
                assertEquals(List.of("a", "b", "c"), participants(d), "round " + d.getRound());
                assertEquals(330, d.getTotalSamples(), "round " + d.getRound());
                assertEquals("ALL_COMMITTED", d.getReason(), "round " + d.getRound());
            }
            assertEquals(List.of(0, 1, 2), h.probe().summaries().stream().map(RoundSummary::getRound).toList(), "summaries");
            for (RoundSummary s : h.probe().summaries()) {
                assertEquals(List.of("a", "b", "c"), s.getParticipants(), "round " + s.getRound());
                assertEquals(330, s.getTotalSamples(), "round " + s.getRound());
                assertEquals(0, s.getLateUpdates(), "round " + s.getRound());
                assertEquals(0, s.getRejections(), "round " + s.getRound());
                assertEquals(3, s.getEvalClients(), "evaluations of round " + s.getRound() + "'s model");
            }
            assertEquals(1, h.probe().plans().stream().filter(p -> p.getRound() == 1).count(), "plans of round 1");
            assertEquals(4, h.probe().manifests().size(), "model versions 0..3, each once");
        }
    }

    /** c's update with chunk {@code dup} sent twice (identical copies), all in one transaction as a sidecar would. */
    private static void sendWithADuplicatedChunk(Harness h, ScriptedClient c, RoundPlan plan, int dup) throws Exception {
        Update u = Update.of(h.topics.federation(), plan.getRound(), c.id(), c.samples(), plan.getBaseModelDigest(),
                h.fingerprint, c.delta(plan.getRound(), Harness.FLOATS), plan.getChunkFloats());
        List<byte[]> values = new ArrayList<>(u.encoded());
        values.add(dup + 1, values.get(dup));
        h.raw().transaction(c.id(), h.topics.clientUpdates(c.id()), values);
    }

    /** Re-sends the exact bytes of every record {@code client} sent for {@code round}; returns how many. */
    private static int replayRound(Harness h, String client, int round) throws Exception {
        String topic = h.topics.clientUpdates(client);
        List<byte[]> values = Topic.read(h.bootstrap, topic).stream().filter(r -> roundOf(r) == round).map(Rec::value)
                .collect(Collectors.toList());
        h.raw().transaction("replay-" + client, topic, values);
        return values.size();
    }

    private static int roundOf(Rec r) {
        if (r.record() instanceof UpdateChunk c) {
            return c.getRound();
        } else if (r.record() instanceof UpdateCommit c) {
            return c.getRound();
        } else if (r.record() instanceof EvalReport e) {
            return e.getRound();
        }
        return -1;
    }

    private static long commits(Harness h, String client, int round) {
        return Topic.read(h.bootstrap, h.topics.clientUpdates(client)).stream()
                .filter(r -> r.record() instanceof UpdateCommit c && c.getRound() == round).count();
    }

    private static long chunkCopies(Harness h, String client, int round, int chunk) {
        return Topic.read(h.bootstrap, h.topics.clientUpdates(client)).stream()
                .filter(r -> r.record() instanceof UpdateChunk c && c.getRound() == round && c.getChunkIndex() == chunk)
                .count();
    }
}

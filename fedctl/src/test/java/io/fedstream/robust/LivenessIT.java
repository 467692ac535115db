package io.fedstream.robust;

import static io.fedstream.robust.Reference.participants;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Which clients are eligible for selection, against the real job. The coordinator picks a round's clients when
 * the previous round is decided (they are the decision's {@code nextRecipients} and receive the new model
 * straight away), and round 0's when the federation starts; a client is eligible if it was heard from (check-in
 * or heartbeat) within {@code --heartbeat-ttl} and, with {@code --max-load}, its last heartbeat's load is not
 * above it. If fewer eligible clients remain than {@code --clients-per-round}, the round runs with all of them.
 *
 * <p>So each scenario holds a round open (one client's script waits) until a client's heartbeats have been
 * silent for longer than the TTL, or until heartbeats with a new load have been sent, and then lets the round
 * close: the next round's plan shows whether the client was selected. {@code --clients-per-round} is the number
 * of clients, so every eligible client is selected and the plans do not depend on the seed.
 */
class LivenessIT extends WithKafka {
    private static final Duration TTL = Duration.ofSeconds(2);
    /** Longer than any lag of a heartbeat through Kafka and the job; heartbeats go out every 300 ms. */
    private static final Duration SETTLE = Duration.ofMillis(1_200);

    @Test
    void aClientWhoseHeartbeatsStopIsNotSelectedAfterTheTtlAndIsSelectedAgainOnceTheyResume() throws Exception {
        try (Harness h = new Harness(kafka, "live-ttl").provision("a", "b", "c")) {
            h.publishInitialModel();
            h.startJob(h.settings().minClients(3).clientsPerRound(3).rounds(4).heartbeatTtl(TTL)
                    .roundTimeout(Duration.ofSeconds(20)).parallelism(2).build());
            ScriptedClient c = h.client("c", 120);
            // Round 0: c trains and then falls silent. a commits last, only once c has been silent for longer than
            // the TTL, so the decision of round 0 (which selects round 1) no longer sees c.
            c.script(0, (self, plan) -> {
                ScriptedClient.NORMAL.onPlan(self, plan);
                self.pauseHeartbeats();
            });
            // Round 1: c's heartbeats resume; a commits last, once the job has had time to hear them.
            h.client("a", 100)
                    .script(0, (self, plan) -> {
                        self.sendEval(plan);
                        awaitSilence(c, TTL.plus(SETTLE));
                        self.sendUpdate(plan);
                    })
                    .script(1, (self, plan) -> {
                        self.sendEval(plan);
                        int before = c.heartbeatsSent();
                        c.resumeHeartbeats();
                        await("c's heartbeats to resume", () -> c.heartbeatsSent() >= before + 2);
                        Thread.sleep(SETTLE.toMillis());
                        self.sendUpdate(plan);
                    })
                    .start();
            h.client("b", 110).start();
            c.start();
            h.probe().awaitFinish(Duration.ofSeconds(60));
            h.assertClientsHealthy();

            assertEquals(List.of("a", "b", "c"), selected(h, 0), "round 0: everyone is alive");
            assertEquals(List.of("a", "b"), selected(h, 1), "round 1: c was silent for longer than the TTL");
            assertEquals(List.of("a", "b", "c"), selected(h, 2), "round 2: c is back");
            assertEquals(List.of("a", "b", "c"), selected(h, 3));
            assertEquals(List.of("a", "b"), h.probe().decision(0).getNextRecipients(),
                    "the model of round 0 goes only to the live clients");
            // With fewer live clients than --clients-per-round, the round runs with those that are live and closes
            // once all of them committed; c is not a straggler, it was never selected.
            RoundDecision d1 = h.probe().decision(1);
            assertEquals("ALL_COMMITTED", d1.getReason());
            assertEquals(List.of("a", "b"), participants(d1));
            RoundSummary s1 = h.probe().summary(1);
            assertEquals(List.of(), s1.getStragglers());
            assertEquals(210, s1.getTotalSamples());
            // c took part again: it trained on the model of round 2 it received as a next recipient.
            assertTrue(c.handledPlans().stream().anyMatch(p -> p.getRound() == 2 && !p.getEvaluateOnly()), "c handled round 2");
            assertEquals(List.of("a", "b", "c"), participants(h.probe().decision(2)));
            assertEquals(1, attempts(h), "no round needed a re-plan");
            Reference.assertModelsAreFedAvgOfAcceptedUpdates(h, 4);
        }
    }

    @Test
    void aClientReportingALoadAboveMaxLoadIsSkippedUntilItsLoadDrops() throws Exception {
        try (Harness h = new Harness(kafka, "live-load").provision("a", "b", "c", "d")) {
            h.publishInitialModel();
            h.startJob(h.settings().minClients(3).clientsPerRound(4).maxLoad(1.0).rounds(3)
                    .roundTimeout(Duration.ofSeconds(20)).parallelism(2).build());
            ScriptedClient c = h.client("c", 120);
            c.load(3.0);
            // Round 1: c's load drops below the limit; a commits last, once the job has had time to hear of it.
            ScriptedClient a = h.client("a", 100).script(1, (self, plan) -> {
                self.sendEval(plan);
                int before = c.heartbeatsSent();
                c.load(0.25);
                await("heartbeats of c with its new load", () -> c.heartbeatsSent() >= before + 3);
                Thread.sleep(SETTLE.toMillis());
                self.sendUpdate(plan);
            });
            a.load(0.5);
            ScriptedClient b = h.client("b", 110);
            b.load(1.0); // at the limit is not above it
            // The check-in topic has one partition, so the job reads these in the order they are sent: a's and b's
            // check-ins, then c's (which reports its load in its resources) and c's heartbeats, then d's check-in.
            // Overloaded c must not count towards --min-clients 3 at any point: round 0 waits for d.
            a.start();
            b.start();
            await("check-ins of a and b", () -> a.heartbeatsSent() >= 1 && b.heartbeatsSent() >= 1);
            c.start();
            await("heartbeats of c", () -> c.heartbeatsSent() >= 2);
            ScriptedClient d = h.client("d", 130).start();
            h.probe().awaitFinish(Duration.ofSeconds(60));
            h.assertClientsHealthy();

            assertEquals(List.of("a", "b", "d"), selected(h, 0), "round 0: c's load 3.0 is above --max-load 1.0");
            assertEquals(List.of("a", "b", "d"), selected(h, 1), "round 1: c is still overloaded");
            assertEquals(List.of("a", "b", "c", "d"), selected(h, 2), "round 2: c's load dropped to 0.25");
            assertTrue(c.handledPlans().stream().noneMatch(p -> p.getRound() < 2), "c got no plan before round 2");
            // c was alive throughout (it kept checking in and heartbeating): load alone kept it out.
            assertTrue(c.heartbeatsSent() > 5, "c heartbeats");
            assertTrue(d.handledPlans().stream().anyMatch(p -> p.getRound() == 0), "d handled round 0");
            for (int round = 0; round < 3; round++) {
                assertEquals("ALL_COMMITTED", h.probe().decision(round).getReason(), "round " + round);
                assertEquals(List.of(), h.probe().summary(round).getStragglers(), "round " + round);
            }
            assertEquals(List.of("a", "b", "c", "d"), h.probe().plan(3, 1).getSelectedClients(),
                    "the final evaluation goes to every eligible client");
            Reference.assertModelsAreFedAvgOfAcceptedUpdates(h, 3);
        }
    }

    /** The clients of the first plan of a round; fails if there is none. */
    private static List<String> selected(Harness h, int round) {
        RoundPlan p = h.probe().plan(round, 1);
        assertNotNull(p, "no plan for round " + round + "\n" + h.probe().describe());
        return p.getSelectedClients();
    }

    private static int attempts(Harness h) {
        return h.probe().plans().stream().mapToInt(RoundPlan::getAttempt).max().orElse(0);
    }

    /** Waits until {@code c} has sent no heartbeat (nor check-in) for {@code quiet}. */
    private static void awaitSilence(ScriptedClient c, Duration quiet) throws InterruptedException {
        int seen = c.heartbeatsSent();
        long since = System.nanoTime();
        while (System.nanoTime() - since < quiet.toNanos()) {
            Thread.sleep(50);
            if (c.heartbeatsSent() != seen) {
                seen = c.heartbeatsSent();
                since = System.nanoTime();
            }
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}

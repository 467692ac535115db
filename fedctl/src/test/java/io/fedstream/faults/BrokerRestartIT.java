package io.fedstream.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Finish;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The only Kafka broker (a real broker process, {@link KafkaBrokerProcess}) is stopped in the middle of a round
 * and started again on the same ports and data, while the job ({@code fedstream job}) and two sidecars
 * ({@code fedstream sidecar}) run as child JVMs. Nothing is lost: every round has a summary, every round was
 * decided with every client's update on the first attempt, and the federation finishes.
 */
class BrokerRestartIT {
    private static final int ROUNDS = 4;
    private static final int CLIENTS = 2;
    private static final Duration TIMEOUT = Duration.ofMinutes(4);

    @Test
    void brokerRestartedMidRoundLosesNothing() throws Exception {
        Path work = Files.createTempDirectory("fedstream-brokerrestart-");
        try (ProcessGroup procs = new ProcessGroup(); KafkaBrokerProcess broker = procs.add(KafkaBrokerProcess.launch())) {
            try {
                String bootstrap = broker.bootstrapServers();
                FaultFederation f = FaultFederation.prepare(bootstrap, "broker-restart", work, CLIENTS, 29);
                // Every client must commit; a lost update would show as a re-plan after 90 s, not as a quorum close.
                ChildJvm job = procs.add(f.jobProcess("job", ROUNDS, "min-clients-per-round", String.valueOf(CLIENTS),
                        "round-timeout", "PT90S")).start();
                ChildJvm[] sidecars = new ChildJvm[CLIENTS];
                for (int i = 0; i < CLIENTS; i++) {
                    sidecars[i] = procs.add(f.sidecarProcess(i)).start();
                }
                Runnable alive = () -> {
                    ProcessGroup.requireAlive(job);
                    ProcessGroup.requireAlive(sidecars);
                };
                try (TopicFollower follow = new TopicFollower(bootstrap, List.of(f.topics.control(), f.topics.metrics()))) {
                    follow.await(RoundPlan.class, p -> p.getRound() == 1 && !p.getEvaluateOnly(), TIMEOUT, alive,
                            "round 1's plan");
                    long t0 = System.nanoTime();
                    broker.stop();
                    long stopped = System.nanoTime();
                    Thread.sleep(2_000);
                    broker.start();
                    System.out.printf("BrokerRestartIT: broker stopped in %d ms, down for %d ms in all%n",
                            (stopped - t0) / 1_000_000, (System.nanoTime() - t0) / 1_000_000);
                    Finish finish = follow.await(Finish.class, x -> true, TIMEOUT, alive, "the Finish record");
                    assertEquals(ROUNDS, finish.getRounds());
                }
                Map<Integer, RoundSummary> summaries = FaultFederation.byRound(
                        TopicFollower.readAll(bootstrap, f.topics.metrics(), RoundSummary.class));
                assertEquals(ROUNDS, summaries.size(), "one summary per round: " + summaries.keySet());
                Map<Integer, RoundDecision> decisions = new TreeMap<>();
                for (RoundDecision d : TopicFollower.readAll(bootstrap, f.topics.control(), RoundDecision.class)) {
                    decisions.putIfAbsent(d.getRound(), d);
                }
                assertEquals(ROUNDS, decisions.size(), "one decision per round: " + decisions.keySet());
                for (RoundDecision d : decisions.values()) {
                    List<String> who = d.getParticipants().stream().map(Participant::getClientId).map(Object::toString).toList();
                    assertEquals(f.clientIds(), who, "participants of round " + d.getRound());
                    assertEquals("ALL_COMMITTED", d.getReason().toString(), "how round " + d.getRound() + " closed");
                }
                for (RoundSummary s : summaries.values()) {
                    assertEquals(1, s.getAttempts(), "attempts of round " + s.getRound());
                    assertTrue(s.getStragglers().isEmpty(), "stragglers of round " + s.getRound() + ": " + s.getStragglers());
                }
                ProcessGroup.assertStoppedAtFinish(sidecars);
            } catch (Throwable t) {
                procs.report(t);
                throw t;
            }
        } finally {
            KafkaBrokerProcess.cleanup(work);
        }
    }
}

package io.fedstream.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Finish;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.LocalJob;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;

/**
 * Three sidecars as child JVMs ({@code fedstream sidecar}), every one selected every round, a quorum of two and a
 * 5 s round deadline. One sidecar is killed (SIGKILL) in the middle of a round it was selected for: that round
 * closes at its deadline with the other two (DEADLINE_QUORUM, the killed client a straggler), and the federation
 * goes on without it. Started again under the same client id, it checks in, is selected again and takes part in a
 * later round; the federation finishes and every sidecar, the restarted one included, exits on the Finish record.
 *
 * <p>To kill it at a known point of the protocol, the victim is frozen (SIGSTOP) as soon as round 0 is decided,
 * before round 1's plan reaches it, and killed once round 1's plan is out: it was selected for round 1 and cannot
 * have committed an update for it.
 */
class SidecarKillIT {
    /**
     * Rounds on the digits set take a few hundred ms; enough of them must be left after round 1 for the restarted
     * JVM to load PyTorch, check in and be selected again.
     */
    private static final int ROUNDS = 60;
    private static final int CLIENTS = 3;
    private static final int VICTIM = 2;
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    @Test
    void killedSidecarIsAStragglerAtTheDeadlineAndRejoinsWhenRestarted() throws Exception {
        Path work = Files.createTempDirectory("fedstream-sidecarkill-");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(); ProcessGroup procs = new ProcessGroup()) {
            String bootstrap = kafka.bootstrapServers();
            FaultFederation f = FaultFederation.prepare(bootstrap, "sidecar-kill", work, CLIENTS, 23);
            String victimId = f.clientId(VICTIM);
            JobClient job = LocalJob.start(JobSettings.builder().bootstrapServers(bootstrap).federation(f.federation())
                    .minClients(CLIENTS).clientsPerRound(CLIENTS).minClientsPerRound(2).rounds(ROUNDS).seed(f.seed)
                    .localEpochs(1).batchSize(16).learningRate(0.05)
                    .roundTimeout(Duration.ofSeconds(5)).heartbeatTtl(Duration.ofSeconds(3))
                    .checkpointInterval(Duration.ofSeconds(2)).build());
            try (TopicFollower follow = new TopicFollower(bootstrap, List.of(f.topics.control(), f.topics.metrics()))) {
                ChildJvm[] sidecars = new ChildJvm[CLIENTS];
                for (int i = 0; i < CLIENTS; i++) {
                    sidecars[i] = procs.add(f.sidecarProcess(i)).start();
                }
                ChildJvm victim = sidecars[VICTIM];
                Runnable othersAlive = () -> ProcessGroup.requireAlive(sidecars[0], sidecars[1]);
                try {
                    RoundDecision d0 = follow.await(RoundDecision.class, d -> d.getRound() == 0, TIMEOUT,
                            () -> ProcessGroup.requireAlive(sidecars), "round 0's decision");
                    assertTrue(d0.getNextRecipients().contains(victimId), "round 1 goes to " + d0.getNextRecipients());
                    victim.suspend();
                    RoundPlan p1 = follow.await(RoundPlan.class, p -> p.getRound() == 1 && !p.getEvaluateOnly(), TIMEOUT,
                            othersAlive, "round 1's plan");
                    assertTrue(p1.getSelectedClients().contains(victimId), "round 1 selects " + p1.getSelectedClients());
                    victim.kill();
                    long killedAt = System.currentTimeMillis();

                    RoundDecision d1 = follow.await(RoundDecision.class, d -> d.getRound() == 1, TIMEOUT, othersAlive,
                            "round 1's decision");
                    assertEquals("DEADLINE_QUORUM", d1.getReason().toString(), "how round 1 closed");
                    assertEquals(List.of(f.clientId(0), f.clientId(1)), participants(d1), "round 1's participants");
                    assertTrue(d1.getDecidedAtMs() >= p1.getDeadlineMs(), "round 1 closed before its deadline");

                    victim.start();
                    System.out.printf("SidecarKillIT: %s killed in round 1, restarted %d ms later%n", victimId,
                            System.currentTimeMillis() - killedAt);
                    Finish finish = follow.await(Finish.class, x -> true, TIMEOUT, othersAlive, "the Finish record");
                    assertEquals(ROUNDS, finish.getRounds());

                    Map<Integer, RoundSummary> summaries = FaultFederation.byRound(follow.seen(RoundSummary.class));
                    assertEquals(ROUNDS, summaries.size(), "one summary per round: " + summaries.keySet());
                    RoundSummary s1 = summaries.get(1);
                    assertEquals("DEADLINE_QUORUM", s1.getCloseReason().toString(), "round 1's summary");
                    assertTrue(s1.getStragglers().stream().map(Object::toString).toList().contains(victimId),
                            "round 1's stragglers " + s1.getStragglers());
                    assertFalse(s1.getParticipants().stream().map(Object::toString).toList().contains(victimId));

                    Map<Integer, List<String>> later = new TreeMap<>();
                    for (RoundDecision d : follow.seen(RoundDecision.class)) {
                        if (d.getRound() > 1) {
                            later.putIfAbsent(d.getRound(), participants(d));
                        }
                    }
                    assertTrue(later.values().stream().anyMatch(p -> p.contains(victimId)),
                            "the restarted " + victimId + " took part in no later round: " + later);
                    System.out.printf("SidecarKillIT: participants after the restart %s%n", later);
                    ProcessGroup.assertStoppedAtFinish(sidecars);
                } catch (Throwable t) {
                    procs.report(t);
                    throw t;
                }
            } finally {
                job.cancel().get(60, TimeUnit.SECONDS);
            }
        } finally {
            KafkaBrokerProcess.cleanup(work);
        }
    }

    private static List<String> participants(RoundDecision d) {
        return d.getParticipants().stream().map(Participant::getClientId).map(Object::toString).toList();
    }
}

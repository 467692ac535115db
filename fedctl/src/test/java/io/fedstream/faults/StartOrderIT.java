package io.fedstream.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Start order does not matter: sidecars ({@code fedstream sidecar}, child JVMs) started before the job
 * ({@code fedstream job}, a child JVM) check in and wait, and a job started before any sidecar (before even the
 * clients' own topics exist) waits for them and discovers their topics. Both federations finish with every client
 * in every round.
 */
class StartOrderIT {
    private static final int ROUNDS = 3;
    private static final int CLIENTS = 2;
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    private static EmbeddedKafka kafka;
    private static Path work;

    @BeforeAll
    static void startKafka() throws IOException {
        kafka = EmbeddedKafka.start();
        work = Files.createTempDirectory("fedstream-startorder-");
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
        KafkaBrokerProcess.cleanup(work);
    }

    @Test
    void sidecarsStartedBeforeTheJob() throws Exception {
        String bootstrap = kafka.bootstrapServers();
        FaultFederation f = FaultFederation.prepare(bootstrap, "sidecars-first", work.resolve("sidecars-first"), CLIENTS, 31, false);
        try (ProcessGroup procs = new ProcessGroup();
             TopicFollower follow = new TopicFollower(bootstrap, List.of(f.topics.checkin(), f.topics.control(), f.topics.metrics()))) {
            try {
                ChildJvm[] sidecars = new ChildJvm[CLIENTS];
                for (int i = 0; i < CLIENTS; i++) {
                    sidecars[i] = procs.add(f.sidecarProcess(i)).start();
                }
                // Both sidecars are up and checking in, with no job to answer them.
                Set<String> checkedIn = new HashSet<>();
                follow.await(CheckIn.class, c -> checkedIn.add(c.getClientId().toString()) && checkedIn.size() == CLIENTS,
                        TIMEOUT, () -> ProcessGroup.requireAlive(sidecars), "a check-in from every sidecar");
                Thread.sleep(3_000);
                follow.poll(Duration.ofMillis(200));
                assertTrue(follow.seen(RoundPlan.class).isEmpty(), "a plan before the job started");
                ChildJvm job = procs.add(f.jobProcess("job", ROUNDS)).start();
                finishAndCheck(f, follow, job, sidecars);
            } catch (Throwable t) {
                procs.report(t);
                throw t;
            }
        }
    }

    @Test
    void jobStartedBeforeAnySidecar() throws Exception {
        String bootstrap = kafka.bootstrapServers();
        FaultFederation f = FaultFederation.prepare(bootstrap, "job-first", work.resolve("job-first"), CLIENTS, 37, false);
        try (ProcessGroup procs = new ProcessGroup();
             TopicFollower follow = new TopicFollower(bootstrap, List.of(f.topics.control(), f.topics.metrics()))) {
            try {
                ChildJvm job = procs.add(f.jobProcess("job", ROUNDS)).start();
                awaitLog(job, "running in a local MiniCluster", TIMEOUT);
                // Give the job's Kafka source time to start reading (and find no client topics).
                Thread.sleep(3_000);
                ProcessGroup.requireAlive(job);
                ChildJvm[] sidecars = new ChildJvm[CLIENTS];
                for (int i = 0; i < CLIENTS; i++) {
                    sidecars[i] = procs.add(f.sidecarProcess(i)).start();
                }
                finishAndCheck(f, follow, job, sidecars);
            } catch (Throwable t) {
                procs.report(t);
                throw t;
            }
        }
    }

    private static void finishAndCheck(FaultFederation f, TopicFollower follow, ChildJvm job, ChildJvm[] sidecars)
            throws InterruptedException {
        Runnable alive = () -> {
            ProcessGroup.requireAlive(job);
            ProcessGroup.requireAlive(sidecars);
        };
        Finish finish = follow.await(Finish.class, x -> true, TIMEOUT, alive, "the Finish record");
        assertEquals(ROUNDS, finish.getRounds());
        Map<Integer, RoundSummary> summaries = FaultFederation.byRound(follow.seen(RoundSummary.class));
        assertEquals(ROUNDS, summaries.size(), "one summary per round: " + summaries.keySet());
        for (RoundDecision d : follow.seen(RoundDecision.class)) {
            assertEquals(f.clientIds(), d.getParticipants().stream().map(Participant::getClientId).map(Object::toString).toList(),
                    "participants of round " + d.getRound());
        }
        ProcessGroup.assertStoppedAtFinish(sidecars);
    }

    private static void awaitLog(ChildJvm p, String text, Duration timeout) throws InterruptedException, IOException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            ProcessGroup.requireAlive(p);
            if (Files.exists(p.log()) && Files.readString(p.log(), StandardCharsets.UTF_8).contains(text)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(p.name() + " did not print '" + text + "' within " + timeout.toSeconds() + " s");
    }
}

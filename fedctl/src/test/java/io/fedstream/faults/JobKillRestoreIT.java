package io.fedstream.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Finish;
import io.fedstream.avro.RoundSummary;
import io.fedstream.job.CheckpointLocator;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.sidecar.Sidecar;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The aggregation job ({@code fedstream job}, a child JVM with a MiniCluster, checkpointing to a local directory)
 * is killed with SIGKILL in the middle of a round and started again with {@code --restore-from latest}: the
 * federation goes on, and its final global model is bit for bit the model of the same federation run without the
 * fault (same seed, same data, same clients). The sidecars run in this JVM and keep running across the outage;
 * after the restore they see plans and model chunks again that the job had sent before it died.
 */
class JobKillRestoreIT {
    private static final int ROUNDS = 4;
    private static final int CLIENTS = 3;
    private static final long SEED = 17;
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    private record Run(Finish finish, Map<Integer, RoundSummary> rounds, Path restoredFrom) {}

    @Test
    void jobKilledMidRoundAndRestoredFromItsLastCheckpointEndsWithTheSameModel() throws Exception {
        Path work = Files.createTempDirectory("fedstream-jobkill-");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Run clean = run(kafka.bootstrapServers(), "jobkill-clean", work.resolve("clean"), false);
            Run faulty = run(kafka.bootstrapServers(), "jobkill-faulty", work.resolve("faulty"), true);
            System.out.printf("JobKillRestoreIT: restored from %s; final model %s (clean) / %s (restored)%n",
                    faulty.restoredFrom, clean.finish.getFinalModelDigest(), faulty.finish.getFinalModelDigest());
            assertEquals(ROUNDS, clean.rounds.size(), "summaries of the run without the fault");
            assertEquals(ROUNDS, faulty.rounds.size(), "summaries of the run with the restored job");
            for (int r = 0; r < ROUNDS; r++) {
                assertEquals(clean.rounds.get(r).getModelDigest(), faulty.rounds.get(r).getModelDigest(),
                        "global model of round " + r);
                assertEquals(clean.rounds.get(r).getParticipants(), faulty.rounds.get(r).getParticipants(),
                        "participants of round " + r);
            }
            assertEquals(clean.finish.getFinalModelDigest(), faulty.finish.getFinalModelDigest(), "final global model");
        } finally {
            KafkaBrokerProcess.cleanup(work);
        }
    }

    private static Run run(String bootstrap, String federation, Path work, boolean killJob) throws Exception {
        FaultFederation f = FaultFederation.prepare(bootstrap, federation, work, CLIENTS, SEED);
        String checkpoints = work.resolve("checkpoints").toUri().toString();
        // A long heartbeat TTL: the clients' heartbeats sent while the job is down must not make them look gone
        // when the restored job catches up, or the run with the fault would select differently.
        String[] flags = {"checkpoint-dir", checkpoints, "checkpoint-interval", "PT0.5S", "heartbeat-ttl", "PT5M",
                "round-timeout", "PT3M"};
        List<Sidecar> sidecars = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        try (ProcessGroup procs = new ProcessGroup();
             TopicFollower follow = new TopicFollower(bootstrap, List.of(f.topics.metrics(), f.topics.control()))) {
            try {
                ChildJvm[] job = {procs.add(f.jobProcess("job", ROUNDS, flags)).start()};
                for (int i = 0; i < CLIENTS; i++) {
                    Sidecar s = f.sidecarInProcess(i);
                    sidecars.add(s);
                    Thread t = new Thread(s::run, federation + "-sidecar-" + i);
                    t.setDaemon(true);
                    t.start();
                    threads.add(t);
                }
                Path restoredFrom = null;
                if (killJob) {
                    // Round 1's summary comes once every client has evaluated model 2, i.e. is training round 2.
                    follow.await(RoundSummary.class, s -> s.getRound() == 1, TIMEOUT,
                            () -> ProcessGroup.requireAlive(job[0]), "round 1's summary");
                    // On a loaded machine round 1 can end before the first checkpoint completes; the kill must
                    // leave one to restore from, as a crash after the job's first checkpoint interval would.
                    long deadline = System.nanoTime() + TIMEOUT.toNanos();
                    while (CheckpointLocator.latest(checkpoints).isEmpty() && System.nanoTime() < deadline) {
                        ProcessGroup.requireAlive(job[0]);
                        Thread.sleep(100);
                    }
                    job[0].kill();
                    Optional<Path> latest = CheckpointLocator.latest(checkpoints);
                    assertTrue(latest.isPresent(), "no completed checkpoint under " + checkpoints);
                    restoredFrom = latest.get();
                    String[] restore = new String[flags.length + 2];
                    System.arraycopy(flags, 0, restore, 0, flags.length);
                    restore[flags.length] = "restore-from";
                    restore[flags.length + 1] = "latest";
                    job[0] = procs.add(f.jobProcess("job-restored", ROUNDS, restore)).start();
                }
                Finish finish = follow.await(Finish.class, x -> true, TIMEOUT,
                        () -> ProcessGroup.requireAlive(job[0]), "the federation's Finish record");
                for (Thread t : threads) {
                    t.join(30_000);
                }
                for (int i = 0; i < CLIENTS; i++) {
                    assertTrue(sidecars.get(i).finish() != null, f.clientId(i) + " never saw the Finish record");
                }
                return new Run(finish, FaultFederation.byRound(follow.seen(RoundSummary.class)), restoredFrom);
            } catch (Throwable t) {
                procs.report(t);
                throw t;
            } finally {
                for (Sidecar s : sidecars) {
                    s.stop();
                }
                for (Thread t : threads) {
                    t.join(30_000);
                }
                for (Sidecar s : sidecars) {
                    s.close();
                }
            }
        }
    }
}

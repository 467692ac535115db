package io.fedstream.robust;

import static io.fedstream.robust.Reference.participants;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.serde.WireCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Every kind of bad input of issue #4, mixed with good updates, against the real job. Three honest clients
 * (alice, bob, carol) train normally; mallory is checked in and selected but sends only bad records in rounds 0
 * and 1 (and behaves in round 2); eve never checked in; dave checked in with another model. Each bad record must
 * land on the dead-letter topic (or, for an update trained on another model, the late topic) with its reason
 * code, its source topic/partition/offset and its exact bytes; the round summaries and the job's Flink counters
 * must count them; the job must keep running (round 2 completes with all four clients) and every published model
 * must be FedAvg over the good updates only.
 */
class BadInputIT extends WithKafka {
    private static final int ROUNDS = 3;
    private static final int CHUNKS = 5;
    /** Eight clients heartbeating every 300 ms load two cores; the default heartbeat TTL is 30 s. */
    private static final Duration SLOW_BEAT = Duration.ofSeconds(1);

    /** Who is expected to reject a record: the router, the coordinator, or a chunk aggregator. */
    enum By { ROUTER, COORDINATOR, AGGREGATOR }

    /** One rejection the test expects: where the bad record is, why, who rejects it, and which round's summary counts it. */
    record Expect(String what, RawSender.Sent sent, String reason, By by, boolean late, int summaryRound) { }

    private final List<Expect> expected = new CopyOnWriteArrayList<>();

    private void expect(String what, RawSender.Sent sent, String reason, By by, int round) {
        expected.add(new Expect(what, sent, reason, by, false, round));
    }

    @Test
    void everyBadRecordIsDeadLetteredWithItsReasonAndSourceAndTheModelIsUnaffected() throws Exception {
        List<String> good = List.of("alice", "bob", "carol");
        List<String> bad = List.of("m-digest", "m-length", "m-nan", "m-updigest", "mallory");
        List<String> selected = new ArrayList<>(good);
        selected.addAll(bad);
        selected.sort(null);
        List<String> topics = new ArrayList<>(selected);
        topics.addAll(List.of("eve", "dave"));
        try (Harness h = new Harness(kafka, "bad-input").provision(topics.toArray(new String[0]))) {
            h.publishInitialModel();
            String fed = h.topics.federation();
            h.raw();
            h.startJob(h.settings().minClients(selected.size()).clientsPerRound(selected.size()).minClientsPerRound(3)
                    .rounds(ROUNDS).roundTimeout(Duration.ofSeconds(8)).parallelism(2).build());
            long samples = 100;
            for (String id : good) {
                h.client(id, samples += 50, SLOW_BEAT).start();
            }
            // Each bad client sends one kind of bad update as its first update of rounds 0 and 1 (the first update
            // a client sends in a round binds it), and behaves in round 2.
            h.client("m-length", 90, SLOW_BEAT).script(0, (c, p) -> script(h, c, p, this::wrongLengthThenGood))
                    .script(1, (c, p) -> script(h, c, p, this::wrongLengthThenGood)).start();
            h.client("m-nan", 80, SLOW_BEAT).script(0, (c, p) -> script(h, c, p, (x, y, z) -> nonFinite(x, y, z, Float.NaN, 2)))
                    .script(1, (c, p) -> script(h, c, p, (x, y, z) -> nonFinite(x, y, z, Float.POSITIVE_INFINITY, 3))).start();
            h.client("m-digest", 70, SLOW_BEAT).script(0, (c, p) -> script(h, c, p, (x, y, z) -> chunkDigest(x, y, z, 0)))
                    .script(1, (c, p) -> script(h, c, p, (x, y, z) -> chunkDigest(x, y, z, 3))).start();
            h.client("m-updigest", 60, SLOW_BEAT).script(0, (c, p) -> script(h, c, p, (x, y, z) -> {
                        updateDigest(x, y, z);
                        daveAndEve(x, y, z);
                    }))
                    .script(1, (c, p) -> script(h, c, p, this::updateDigest)).start();
            h.client("mallory", 150, SLOW_BEAT).script(0, (c, p) -> script(h, c, p, this::roundZeroGarbage))
                    .script(1, (c, p) -> script(h, c, p, this::roundOneGarbage)).start();

            Probe probe = h.probe();
            probe.awaitFinish(Duration.ofSeconds(90));
            h.assertClientsHealthy();

            // Every expected rejection is there once, with its reason, source and exact payload; nothing else is.
            Map<String, List<Rec>> bySource = new HashMap<>();
            for (Rec r : probe.deadLetters()) {
                bySource.computeIfAbsent(sourceOf(r) + " dead", k -> new ArrayList<>()).add(r);
            }
            for (Rec r : probe.lates()) {
                bySource.computeIfAbsent(sourceOf(r) + " late", k -> new ArrayList<>()).add(r);
            }
            List<String> problems = new ArrayList<>();
            for (Expect e : expected) {
                List<Rec> found = bySource.remove(e.sent().source() + (e.late() ? " late" : " dead"));
                if (found == null || found.size() != 1) {
                    problems.add(e.what() + " (" + e.reason() + " at " + e.sent().source() + "): "
                            + (found == null ? "no rejection record" : found.size() + " rejection records"));
                    continue;
                }
                Rejected x = found.get(0).as(Rejected.class);
                if (!x.getReason().equals(e.reason())) {
                    problems.add(e.what() + " at " + e.sent().source() + ": reason " + x.getReason() + ", expected "
                            + e.reason() + " (" + x.getDetail() + ")");
                }
                assertEquals(fed, x.getFederation());
                byte[] payload = new byte[x.getPayload().remaining()];
                x.getPayload().duplicate().get(payload);
                if (!java.util.Arrays.equals(e.sent().value(), payload)) {
                    problems.add(e.what() + " at " + e.sent().source() + ": payload differs from the bytes sent");
                }
            }
            bySource.forEach((k, v) -> problems.add("unexpected rejection at " + k + ": "
                    + v.stream().map(r -> r.as(Rejected.class).getReason() + " (" + r.as(Rejected.class).getDetail() + ")").toList()));
            assertTrue(problems.isEmpty(), problems.size() + " problem(s):\n  " + String.join("\n  ", problems)
                    + "\n" + probe.describe());

            // The job kept going: rounds 0 and 1 closed at their deadline with the good clients only, round 2 with all.
            for (int round = 0; round < ROUNDS; round++) {
                RoundDecision d = probe.decision(round);
                RoundSummary s = probe.summary(round);
                assertNotNull(s, "no summary of round " + round);
                if (round < 2) {
                    assertEquals("DEADLINE_QUORUM", d.getReason());
                    assertEquals(good, participants(d));
                    assertEquals(bad, s.getStragglers());
                } else {
                    assertEquals("ALL_COMMITTED", d.getReason());
                    assertEquals(selected, participants(d));
                }
                final int r = round;
                long counted = expected.stream().filter(e -> e.summaryRound() == r && !e.late()).count();
                assertEquals(counted, s.getRejections(), "rejections in the summary of round " + round);
                long late = expected.stream().filter(e -> e.summaryRound() == r && e.by() == By.COORDINATOR && e.late()).count();
                assertEquals(late, s.getLateUpdates(), "late updates in the summary of round " + round);
            }
            for (RoundPlan p : probe.plans()) {
                assertEquals(selected, p.getSelectedClients(), "plan of round " + p.getRound());
            }

            // The job's Flink counters.
            assertEquals(expected.stream().filter(e -> e.by() == By.ROUTER).count(), h.metric("recordsRejected"), "recordsRejected");
            assertEquals(expected.stream().filter(e -> e.by() == By.COORDINATOR && !e.late()).count(), h.metric("commitsRejected"),
                    "commitsRejected");
            assertEquals(expected.stream().filter(e -> e.by() == By.AGGREGATOR).count(), h.metric("updatesRejected"), "updatesRejected");
            assertEquals(expected.stream().filter(e -> e.by() == By.COORDINATOR && e.late()).count(), h.metric("updatesLate"),
                    "updatesLate");

            // The global model is FedAvg over the good updates only.
            Reference.assertModelsAreFedAvgOfAcceptedUpdates(h, ROUNDS);
        }
    }

    /** What a bad client sends instead of its update. */
    interface Garbage {
        void send(Harness h, ScriptedClient client, RoundPlan plan) throws Exception;
    }

    private static void script(Harness h, ScriptedClient c, RoundPlan plan, Garbage g) throws Exception {
        c.sendEval(plan);
        g.send(h, c, plan);
    }

    private static String sourceOf(Rec r) {
        Rejected x = r.as(Rejected.class);
        return Rec.source(x.getSourceTopic(), x.getSourcePartition(), x.getSourceOffset());
    }

    /** A delta unlike anything a good client sends, so any of it reaching a model would show. */
    private static float[] poison(int length) {
        float[] d = new float[length];
        java.util.Arrays.fill(d, 0.25f);
        return d;
    }

    private Update update(Harness h, int round, String client, long samples, String base) {
        return Update.of(h.topics.federation(), round, client, samples, base, h.fingerprint, poison(Harness.FLOATS),
                Harness.CHUNK_FLOATS);
    }

    private List<RawSender.Sent> send(Harness h, String client, Update u) throws Exception {
        List<RawSender.Sent> s = h.raw().transaction(client, h.topics.clientUpdates(client), u.encoded());
        assertEquals(CHUNKS + 1, s.size());
        return s;
    }

    private static RawSender.Sent commitOf(List<RawSender.Sent> s) {
        return s.get(s.size() - 1);
    }

    private static ByteBuffer bytes(float[] values) {
        return ByteBuffer.wrap(Floats.toBytes(values, 0, values.length));
    }

    private void wrongLengthThenGood(Harness h, ScriptedClient c, RoundPlan plan) throws Exception {
        int r = plan.getRound();
        // A chunk of the wrong length (consistent digest, right offset): the router cannot tell, the aggregator and
        // the coordinator can.
        float[] shortChunk = new float[Harness.CHUNK_FLOATS - 10];
        java.util.Arrays.fill(shortChunk, 0.25f);
        List<RawSender.Sent> s = send(h, c.id(), update(h, r, c.id(), c.samples(), plan.getBaseModelDigest())
                .chunk(1, b -> b.setData(bytes(shortChunk)).setChunkDigest(Digests.updateChunkDigest(Floats.toBytes(shortChunk, 0, shortChunk.length))))
                .reseal(h.fingerprint));
        expect("a chunk of the wrong length", s.get(1), "WRONG_LENGTH", By.AGGREGATOR, r);
        expect("the commit of an update with a chunk of the wrong length", commitOf(s), "WRONG_LENGTH", By.COORDINATOR, r);
        // The client's first update of the round binds it: a corrected one is not taken instead.
        s = send(h, c.id(), Update.of(h.topics.federation(), r, c.id(), c.samples(), plan.getBaseModelDigest(), h.fingerprint,
                c.delta(r, Harness.FLOATS), Harness.CHUNK_FLOATS));
        expect("a corrected update after a rejected one in the same round", commitOf(s), "WRONG_LENGTH", By.COORDINATOR, r);
    }

    private void nonFinite(Harness h, ScriptedClient c, RoundPlan plan, float value, int chunk) throws Exception {
        int r = plan.getRound();
        float[] data = poison(Harness.CHUNK_FLOATS);
        data[17] = value;
        List<RawSender.Sent> s = send(h, c.id(), update(h, r, c.id(), c.samples(), plan.getBaseModelDigest())
                .chunk(chunk, b -> b.setData(bytes(data)).setChunkDigest(Digests.updateChunkDigest(Floats.toBytes(data, 0, data.length))))
                .reseal(h.fingerprint));
        expect("a chunk with " + value, s.get(chunk), "NON_FINITE", By.ROUTER, r);
        expect("the commit of an update with " + value, commitOf(s), "NON_FINITE", By.COORDINATOR, r);
    }

    /** A chunk that does not hash to its digest; the commit names the claimed digests. */
    private void chunkDigest(Harness h, ScriptedClient c, RoundPlan plan, int chunk) throws Exception {
        int r = plan.getRound();
        List<RawSender.Sent> s = send(h, c.id(), update(h, r, c.id(), c.samples(), plan.getBaseModelDigest())
                .chunk(chunk, b -> b.setChunkDigest(Digests.updateChunkDigest(("not chunk " + chunk).getBytes(StandardCharsets.UTF_8))))
                .reseal(h.fingerprint));
        expect("a chunk whose digest does not match", s.get(chunk), "DIGEST_MISMATCH", By.ROUTER, r);
        expect("the commit of an update with a bad chunk digest", commitOf(s), "DIGEST_MISMATCH", By.COORDINATOR, r);
    }

    private void updateDigest(Harness h, ScriptedClient c, RoundPlan plan) throws Exception {
        int r = plan.getRound();
        List<RawSender.Sent> s = send(h, c.id(), update(h, r, c.id(), c.samples(), plan.getBaseModelDigest())
                .commit(b -> b.setUpdateDigest(Digests.sha256Hex("not the update".getBytes(StandardCharsets.UTF_8)))));
        expect("an update digest that does not match its chunks", commitOf(s), "DIGEST_MISMATCH", By.COORDINATOR, r);
    }

    /** Commit-level defects (checked before the update's chunks are), and garbage that is not an update at all. */
    private void roundZeroGarbage(Harness h, ScriptedClient mallory, RoundPlan plan) throws Exception {
        int r = plan.getRound();
        String base = plan.getBaseModelDigest();
        String topic = h.topics.clientUpdates("mallory");
        RawSender raw = h.raw();

        expect("bytes that are not Avro", raw.send(topic, "this is not avro at all".getBytes(StandardCharsets.UTF_8)),
                "NOT_AVRO", By.ROUTER, r);
        byte[] unknown = new byte[] {(byte) 0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 42, 42, 42};
        expect("an unknown schema fingerprint", raw.send(topic, unknown), "UNKNOWN_SCHEMA", By.ROUTER, r);

        List<RawSender.Sent> s = send(h, "mallory", update(h, r, "mallory", 150, base)
                .commit(b -> b.setSpecFingerprint(Digests.sha256Hex("another model".getBytes(StandardCharsets.UTF_8)))));
        expect("a commit naming another model spec", commitOf(s), "SPEC_MISMATCH", By.COORDINATOR, r);

        for (long samples : new long[] {0, -5, 5_000_000_000_000L}) {
            s = send(h, "mallory", update(h, r, "mallory", samples, base));
            for (int i = 0; i < CHUNKS; i++) {
                expect("a chunk with sample count " + samples, s.get(i), "BAD_SAMPLE_COUNT", By.ROUTER, r);
            }
            expect("a commit with sample count " + samples, commitOf(s), "BAD_SAMPLE_COUNT", By.COORDINATOR, r);
        }

        // alice's update, on mallory's topic.
        s = send(h, "mallory", update(h, r, "alice", 100, base));
        for (RawSender.Sent x : s) {
            expect("a record of alice on mallory's topic", x, "CLIENT_TOPIC_MISMATCH", By.ROUTER, r);
        }

        // An update for the next round, trained on this round's model: the commit and the chunks wait for round 1
        // (a restored job reads later rounds' records early) and then turn out to be trained on the wrong model.
        s = send(h, "mallory", update(h, r + 1, "mallory", 150, base));
        expected.add(new Expect("a commit for the next round", commitOf(s), "STALE_UPDATE", By.COORDINATOR, true, r + 1));
        for (int i = 0; i < CHUNKS; i++) {
            expected.add(new Expect("a chunk for a future round", s.get(i), "STALE_UPDATE", By.AGGREGATOR, true, r + 1));
        }

    }

    /** eve never checked in; dave checks in with another model (rejected), so he is known but never selected. */
    private void daveAndEve(Harness h, ScriptedClient c, RoundPlan plan) throws Exception {
        int r = plan.getRound();
        String base = plan.getBaseModelDigest();
        String otherSpec = io.fedstream.protocol.model.ModelSpec.flat("w", Harness.FLOATS + 1).fingerprint();
        // Sent once the federation's model is known (a check-in that comes before the initial model cannot be
        // checked against it yet).
        RawSender.Sent checkIn = h.raw().send(h.topics.checkin(), WireCodec.get().encode(CheckIn.newBuilder()
                .setFederation(h.topics.federation()).setClientId("dave").setTrainSamples(10).setTestSamples(1)
                .setSpecFingerprint(otherSpec).setTimestampMs(System.currentTimeMillis()).build()));
        expect("dave's check-in with another model", checkIn, "SPEC_MISMATCH", By.COORDINATOR, r);
        h.probe().await("dave's check-in rejected", Duration.ofSeconds(10),
                () -> h.probe().deadLetters().stream().anyMatch(x -> sourceOf(x).equals(checkIn.source())));
        for (String who : List.of("eve", "dave")) {
            List<RawSender.Sent> s = send(h, who, update(h, r, who, 50, base));
            for (int i = 0; i < CHUNKS; i++) {
                expect("a chunk of " + who, s.get(i), "NOT_SELECTED", By.AGGREGATOR, r);
            }
            expect("the commit of " + who, commitOf(s), who.equals("eve") ? "UNKNOWN_CLIENT" : "NOT_SELECTED",
                    By.COORDINATOR, r);
        }
    }

    private void roundOneGarbage(Harness h, ScriptedClient mallory, RoundPlan plan) throws Exception {
        int r = plan.getRound();
        String base = plan.getBaseModelDigest();
        RawSender raw = h.raw();
        expect("bytes that are not Avro on the check-in topic",
                raw.send(h.topics.checkin(), new byte[] {(byte) 0xC3, 0x01, 0}), "NOT_AVRO", By.ROUTER, r);
        expect("a record with a body that does not match its schema", raw.send(h.topics.clientUpdates("mallory"),
                java.util.Arrays.copyOf(WireCodec.get().encode(update(h, r, "mallory", 150, base).commit), 14)), "CORRUPT", By.ROUTER, r);
        Update eve = update(h, r, "eve", 50, base);
        expect("a lone commit of eve", raw.send(h.topics.clientUpdates("eve"), WireCodec.get().encode(eve.commit)),
                "UNKNOWN_CLIENT", By.COORDINATOR, r);
        Update far = update(h, 9, "mallory", 150, base);
        expect("a lone commit for round 9", raw.send(h.topics.clientUpdates("mallory"), WireCodec.get().encode(far.commit)),
                "FUTURE_ROUND", By.COORDINATOR, r);
    }
}

package io.fedstream.round;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.chunk.ModelChunker;
import io.fedstream.job.JobSettings;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import io.fedstream.validate.RejectReason;
import io.fedstream.wire.Routed;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The round lifecycle, driven directly on {@link RoundCoordinator} with a {@link FederationState} and a
 * recording {@link CoordinatorOutput}: gathering, selection, plans, whole-update checks, commits and their
 * rejections, decisions, deadlines and re-plans, model commits, evaluations, summaries and the finish.
 */
class RoundCoordinatorTest {
    private static final String FED = "fed1";
    private static final Topics T = new Topics(FED);
    private static final long SEED = 1234;
    private static final ModelSpec SPEC = ModelSpec.flat("w", 10);
    private static final String FP = SPEC.fingerprint();
    private static final String OTHER_FP = ModelSpec.flat("w", 11).fingerprint();
    private static final int CHUNK_FLOATS = 4; // 10 floats -> chunks of 4, 4, 2
    private static final ChunkLayout LAYOUT = new ChunkLayout(10, CHUNK_FLOATS);
    private static final int CHUNKS = 3;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    // ------------------------------------------------------------------ recording output

    record PlanOrder(int round, int chunkCount, List<String> selected, String baseModelDigest) {}

    record Distribution(int version, int chunkCount, List<String> recipients) {}

    static final class Recorder implements CoordinatorOutput {
        final List<Routed> sent = new ArrayList<>();
        final List<PlanOrder> plans = new ArrayList<>();
        final List<RoundDecision> decisions = new ArrayList<>();
        final List<Distribution> distributions = new ArrayList<>();
        final List<Long> timers = new ArrayList<>();
        final List<String> rejectedMetrics = new ArrayList<>();

        @Override
        public void send(Routed record) {
            sent.add(record);
        }

        @Override
        public void plan(int round, ChunkLayout layout, List<String> selected, String baseModelDigest) {
            plans.add(new PlanOrder(round, layout.chunkCount(), List.copyOf(selected), baseModelDigest));
        }

        @Override
        public void decide(RoundDecision decision) {
            decisions.add(decision);
        }

        @Override
        public void distribute(int version, int chunkCount, List<String> recipients) {
            distributions.add(new Distribution(version, chunkCount, List.copyOf(recipients)));
        }

        @Override
        public void timer(long timestampMs) {
            timers.add(timestampMs);
        }

        @Override
        public void rejected(String reason, boolean late) {
            rejectedMetrics.add(reason + (late ? "/late" : ""));
        }

        boolean isEmpty() {
            return sent.isEmpty() && plans.isEmpty() && decisions.isEmpty() && distributions.isEmpty();
        }

        void clear() {
            sent.clear();
            plans.clear();
            decisions.clear();
            distributions.clear();
            timers.clear();
            rejectedMetrics.clear();
        }

        List<Routed> to(String topic) {
            return sent.stream().filter(r -> r.topic.equals(topic)).toList();
        }

        /** Every record on {@code topic} that is a {@code type}, decoded. */
        <R extends SpecificRecord> List<R> all(String topic, Class<R> type) throws WireFormatException {
            List<R> rs = new ArrayList<>();
            for (Routed r : to(topic)) {
                SpecificRecord rec = WireCodec.get().decode(r.value);
                if (type.isInstance(rec)) {
                    rs.add(type.cast(rec));
                }
            }
            return rs;
        }

        /** The one record sent to {@code topic}, decoded; fails if there is not exactly one. */
        <R extends SpecificRecord> R only(String topic, Class<R> type) throws WireFormatException {
            List<Routed> rs = to(topic);
            assertEquals(1, rs.size(), "records on " + topic + ": " + rs.size());
            return WireCodec.get().decode(rs.get(0).value, type);
        }

        /** Removes what was sent to {@code topic}, so the rest can be checked on its own. */
        void drop(String topic) {
            sent.removeIf(r -> r.topic.equals(topic));
        }
    }

    // ------------------------------------------------------------------ fixture

    private RoundCoordinator coordinator;
    private FederationState state;
    private Recorder out;
    private long now = 1_700_000_000_000L;
    private long offset;
    private ModelManifest manifest0;

    private static JobSettings.Builder settings(int minClients, int clientsPerRound, int rounds) {
        return JobSettings.builder().bootstrapServers("127.0.0.1:1").federation(FED).minClients(minClients)
                .clientsPerRound(clientsPerRound).rounds(rounds).seed(SEED).localEpochs(2).batchSize(16)
                .learningRate(0.05).roundTimeout(TIMEOUT).heartbeatTtl(Duration.ofDays(1));
    }

    @BeforeEach
    void setUp() {
        use(settings(3, 3, 2));
        float[] params = new float[10];
        for (int i = 0; i < params.length; i++) {
            params[i] = i * 0.5f - 2;
        }
        ModelChunker chunker = new ModelChunker(FED, 0, SPEC, params, CHUNK_FLOATS);
        chunker.all();
        manifest0 = chunker.manifest(-1, now);
        assertEquals(CHUNKS, manifest0.getChunkCount());
    }

    private void use(JobSettings.Builder settings) {
        coordinator = new RoundCoordinator(settings.build());
        state = new FederationState();
        out = new Recorder();
    }

    private void handle(SpecificRecord record, String source) {
        now += 1_000;
        coordinator.handle(state, RoundEvent.of(record.getClass().getSimpleName(), WireCodec.get().encode(record), source),
                now, out);
    }

    private void handle(SpecificRecord record, String topic, int partition) {
        handle(record, topic + "/" + partition + "@" + offset++);
    }

    private void notice(RoundEvent e) {
        now += 1_000;
        coordinator.handle(state, e, now, out);
    }

    private void checkIn(String client, String fingerprint) {
        handle(CheckIn.newBuilder().setFederation(FED).setClientId(client).setTrainSamples(1000).setTestSamples(200)
                .setSpecFingerprint(fingerprint).setTimestampMs(now).build(), T.checkin(), 0);
    }

    private void checkIn(String client) {
        checkIn(client, FP);
    }

    private void heartbeat(String client, double load) {
        handle(Heartbeat.newBuilder().setFederation(FED).setClientId(client).setLoad(load).setTimestampMs(now).build(),
                T.checkin(), 0);
    }

    private void manifest(ModelManifest m) {
        handle(m, T.models(), 0);
    }

    private static String digestOf(String text) {
        return Digests.sha256Hex(text.getBytes(StandardCharsets.UTF_8));
    }

    /** What the router tells the coordinator about one accepted update chunk. */
    private RoundEvent seen(String client, int round, int chunk, long samples, String base, String tag) {
        return RoundEvent.chunkSeen(round, client, chunk, LAYOUT.offset(chunk), LAYOUT.length(chunk),
                digestOf(client + "/" + round + "/" + chunk + "/" + tag), samples, base,
                T.clientUpdates(client) + "/0@" + offset++);
    }

    /** Notices for every chunk of an update; returns the update digest its commit must carry. */
    private String sendUpdate(String client, int round, long samples, String base, String tag) {
        List<String> digests = new ArrayList<>();
        for (int c = 0; c < CHUNKS; c++) {
            RoundEvent e = seen(client, round, c, samples, base, tag);
            digests.add(e.digest);
            notice(e);
        }
        return Digests.composite(FP, digests);
    }

    private static UpdateCommit.Builder commit(String client, int round, long samples, String updateDigest, String baseDigest) {
        return UpdateCommit.newBuilder().setFederation(FED).setRound(round).setClientId(client).setSampleCount(samples)
                .setChunkCount(CHUNKS).setUpdateDigest(updateDigest).setBaseModelDigest(baseDigest)
                .setSpecFingerprint(FP).setTrainLoss(1.0).setTrainAccuracy(0.5).setTrainTimeMs(10)
                .setCommittedAtMs(1);
    }

    private void commit(UpdateCommit c) {
        handle(c, T.clientUpdates(c.getClientId()), 0);
    }

    /** Chunks seen, then the commit: a complete, valid update. */
    private UpdateCommit update(String client, int round, long samples, String base, UnaryOperator<UpdateCommit.Builder> edit) {
        String digest = sendUpdate(client, round, samples, base, "t" + now);
        UpdateCommit c = edit.apply(commit(client, round, samples, digest, base)).build();
        commit(c);
        return c;
    }

    private UpdateCommit update(String client, int round, long samples, String base) {
        return update(client, round, samples, base, b -> b);
    }

    private void chunkDone(int round, int chunk, String digest) {
        chunkDone(round, chunk, digest, 0);
    }

    /** Round 0 started, and a, b and c have sent and committed their updates: it is decided. */
    private void round0WithAllUpdates() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        update("a", 0, 100, v0);
        update("b", 0, 200, v0);
        update("c", 0, 300, v0);
    }

    /** A chunk of model {@code round + 1} is finished: its completion notice, then the chunk read back. */
    private void chunkDone(int round, int chunk, String digest, int rejectedRecords) {
        chunkNotice(round, chunk, digest, rejectedRecords);
        chunkStored(round + 1, chunk, digest);
    }

    private void chunkNotice(int round, int chunk, String digest, int rejectedRecords) {
        handle(ChunkAggregated.newBuilder().setFederation(FED).setRound(round).setVersion(round + 1).setChunkIndex(chunk)
                .setChunkCount(CHUNKS).setChunkDigest(digest).setContributors(3).setRejectedRecords(rejectedRecords)
                .setFinishedAtMs(now).build(), T.control(), 0);
    }

    /** What the router tells the coordinator about a model chunk it read on the models topic. */
    private void chunkStored(int version, int chunk, String digest) {
        notice(RoundEvent.modelChunkStored(version, chunk, digest, T.models() + "/0@" + offset++));
    }

    /** All chunks of the model of {@code round + 1}; returns its digest. */
    private String modelDone(int round) {
        List<String> digests = new ArrayList<>();
        for (int c = 0; c < CHUNKS; c++) {
            digests.add(digestOf("v" + (round + 1) + "c" + c));
            chunkDone(round, c, digests.get(c));
        }
        return Digests.composite(FP, digests);
    }

    private void eval(String client, int version, String digest, long testSamples, double loss, double accuracy) {
        handle(EvalReport.newBuilder().setFederation(FED).setRound(version).setClientId(client).setModelVersion(version)
                .setModelDigest(digest).setTestSamples(testSamples).setLoss(loss).setAccuracy(accuracy).setEvalTimeMs(5)
                .build(), T.clientUpdates(client), 0);
    }

    /** Checks the plan of {@code round} on the control topic and on each selected client's model topic. */
    private RoundPlan assertPlan(int round, int attempt, List<String> selected, boolean evaluateOnly, String baseDigest)
            throws WireFormatException {
        RoundPlan plan = out.only(T.control(), RoundPlan.class);
        assertArrayEquals(FED.getBytes(StandardCharsets.UTF_8), out.to(T.control()).get(0).key);
        assertEquals(FED, plan.getFederation());
        assertEquals(round, plan.getRound());
        assertEquals(attempt, plan.getAttempt());
        assertEquals(2, plan.getTotalRounds());
        assertEquals(selected, plan.getSelectedClients());
        assertEquals(evaluateOnly, plan.getEvaluateOnly());
        assertEquals(round, plan.getBaseModelVersion());
        assertEquals(baseDigest, plan.getBaseModelDigest());
        assertEquals(CHUNKS, plan.getChunkCount());
        assertEquals(CHUNK_FLOATS, plan.getChunkFloats());
        assertEquals(FP, plan.getSpecFingerprint());
        assertEquals(now, plan.getIssuedAtMs());
        assertEquals(now + TIMEOUT.toMillis(), plan.getDeadlineMs());
        assertEquals(List.of(plan.getDeadlineMs()), out.timers, "a timer at the plan's deadline");
        assertEquals(2, plan.getConfig().getLocalEpochs());
        assertEquals(16, plan.getConfig().getBatchSize());
        assertEquals(0.05, plan.getConfig().getLearningRate());
        assertEquals(SEED * 1000 + round, plan.getConfig().getSeed());
        byte[] encoded = out.to(T.control()).get(0).value;
        for (String client : selected) {
            List<Routed> rs = out.to(T.clientModel(client));
            assertEquals(1, rs.size(), "plan copies on " + client + "'s model topic");
            assertArrayEquals(encoded, rs.get(0).value, "every selected client gets the same plan");
            assertArrayEquals(client.getBytes(StandardCharsets.UTF_8), rs.get(0).key);
        }
        assertEquals(1 + selected.size(), out.sent.size(), "only the plan and its copies: " + out.sent.size());
        return plan;
    }

    /**
     * The one rejection record sent (to the dead-letter topic, or the late topic for late and stale updates),
     * checked against the reason and where the rejected record came from.
     */
    private Rejected assertRejected(RejectReason reason, String client, Integer round, String topic, int partition,
                                    long sourceOffset, byte[] payload) throws WireFormatException {
        boolean late = reason == RejectReason.LATE_UPDATE || reason == RejectReason.STALE_UPDATE;
        assertEquals(1, out.sent.size(), "only the rejection record");
        assertTrue(out.plans.isEmpty() && out.decisions.isEmpty() && out.distributions.isEmpty());
        Rejected r = out.only(late ? T.late() : T.deadLetter(), Rejected.class);
        assertEquals(reason.name(), r.getReason(), r.getDetail());
        assertEquals(FED, r.getFederation());
        assertEquals(client, r.getClientId());
        assertEquals(round, r.getRound());
        assertEquals(topic, r.getSourceTopic());
        assertEquals(partition, r.getSourcePartition());
        assertEquals(sourceOffset, r.getSourceOffset());
        assertArrayEquals(payload, Floats.bytesOf(r.getPayload()));
        assertFalse(r.getDetail().isBlank());
        assertEquals(List.of(reason.name() + (late ? "/late" : "")), out.rejectedMetrics);
        return r;
    }

    /** Sends {@code c} from "topic/0@5"-style source and expects it rejected for {@code reason}. */
    private Rejected expectRejected(UpdateCommit c, RejectReason reason, int partition, long sourceOffset)
            throws WireFormatException {
        out.clear();
        String topic = T.clientUpdates(c.getClientId());
        handle(c, topic + "/" + partition + "@" + sourceOffset);
        Rejected r = assertRejected(reason, c.getClientId(), c.getRound(), topic, partition, sourceOffset,
                WireCodec.get().encode(c));
        out.clear();
        return r;
    }

    /** Gathers a, b, c, then the manifest: round 0 starts with a, b, c. */
    private void startRound0() {
        checkIn("a");
        checkIn("b");
        checkIn("c");
        manifest(manifest0);
        assertEquals(FederationState.Phase.TRAINING, state.phase);
        out.clear();
    }

    // ------------------------------------------------------------------ gathering

    @Test
    void manifestFirstThenNoPlanUntilMinClientsWithTheRightSpec() throws Exception {
        manifest(manifest0);
        checkIn("a");
        checkIn("b");
        checkIn("a"); // repeated check-ins until acknowledged: still one client
        checkIn("b");
        heartbeat("b", 0.1);
        assertTrue(out.isEmpty(), "two clients of three: no plan yet");
        checkIn("x", OTHER_FP);
        // A client of another model is told so on the dead-letter topic and never counts.
        Rejected r = out.only(T.deadLetter(), Rejected.class);
        assertEquals(RejectReason.SPEC_MISMATCH.name(), r.getReason());
        assertEquals("x", r.getClientId());
        assertNull(r.getRound());
        assertTrue(out.plans.isEmpty());
        assertEquals(FederationState.Phase.GATHERING, state.phase);
        out.clear();

        checkIn("c");
        List<String> selected = List.of("a", "b", "c");
        assertEquals(List.of(new Distribution(0, CHUNKS, selected)), out.distributions);
        assertEquals(List.of(new PlanOrder(0, CHUNKS, selected, manifest0.getDigest())), out.plans);
        assertTrue(out.decisions.isEmpty());
        assertPlan(0, 1, selected, false, manifest0.getDigest());
        assertEquals(FederationState.Phase.TRAINING, state.phase);
        assertEquals(0, state.round);
    }

    @Test
    void checkInsFirstThenNoPlanUntilTheInitialManifest() throws Exception {
        checkIn("a");
        checkIn("b");
        checkIn("x", OTHER_FP);
        checkIn("c");
        checkIn("d");
        assertTrue(out.isEmpty(), "no model yet");
        // A later version's manifest is not an initial model.
        manifest(ModelManifest.newBuilder(manifest0).setVersion(3).setProducedByRound(2).setDigest(digestOf("v3")).build());
        assertTrue(out.isEmpty(), "a non-initial manifest must not start the federation");

        manifest(manifest0);
        List<String> selected = ClientSelector.select(List.of("a", "b", "c", "d"), 3, SEED, 0);
        assertEquals(3, selected.size());
        assertEquals(List.of(new Distribution(0, CHUNKS, selected)), out.distributions);
        assertEquals(List.of(new PlanOrder(0, CHUNKS, selected, manifest0.getDigest())), out.plans);
        assertPlan(0, 1, selected, false, manifest0.getDigest());
    }

    @Test
    void startsOnceOnly() {
        startRound0();
        checkIn("d");
        checkIn("a");
        manifest(manifest0);
        manifest(ModelManifest.newBuilder(manifest0).setDigest(digestOf("another v0")).build());
        assertTrue(out.isEmpty(), "the federation started already: " + out.sent.size() + " records");
        assertEquals(manifest0.getDigest(), state.modelDigests.get(0));
    }

    @Test
    void silentClientsDoNotCountUntilTheyAreBack() {
        use(settings(2, 2, 1).heartbeatTtl(Duration.ofSeconds(10)));
        checkIn("a");
        now += 60_000; // a falls silent
        checkIn("b");
        manifest(manifest0);
        assertTrue(out.isEmpty(), "a was not heard from within the heartbeat TTL");
        heartbeat("a", 0);
        assertTrue(out.isEmpty(), "a heartbeat keeps a client alive but does not start a round");
        checkIn("b");
        assertEquals(List.of("a", "b"), out.plans.get(0).selected());
    }

    @Test
    void overloadedClientsAreNotSelected() {
        use(settings(2, 2, 2).maxLoad(0.8));
        checkIn("a");
        checkIn("b");
        checkIn("c");
        heartbeat("b", 0.95);
        manifest(manifest0);
        assertEquals(List.of("a", "c"), out.plans.get(0).selected());
    }

    // ------------------------------------------------------------------ the whole federation

    @Test
    void fullFederationOfTwoRounds() throws Exception {
        checkIn("a");
        checkIn("b");
        manifest(manifest0);
        assertTrue(out.isEmpty());
        checkIn("c");
        long plan0At = now;
        List<String> selected0 = List.of("a", "b", "c");
        assertPlan(0, 1, selected0, false, manifest0.getDigest());
        assertEquals(List.of(new Distribution(0, CHUNKS, selected0)), out.distributions);
        out.clear();
        checkIn("d"); // arrives after the start: eligible from round 1 on
        assertTrue(out.isEmpty());

        String v0 = manifest0.getDigest();

        // --- rejected commits of round 0 ---
        // (a commit for round 1 would be held until round 1 starts; round 2 never comes in a two-round federation)
        expectRejected(commit("a", 2, 100, digestOf("a2"), v0).build(), RejectReason.FUTURE_ROUND, 0, 5);
        expectRejected(commit("zed", 0, 100, digestOf("z"), v0).build(), RejectReason.UNKNOWN_CLIENT, 4, 77);
        expectRejected(commit("d", 0, 100, digestOf("d0"), v0).build(), RejectReason.NOT_SELECTED, 0, 6);
        expectRejected(commit("a", 0, 100, digestOf("a0"), v0).setSpecFingerprint(OTHER_FP).build(),
                RejectReason.SPEC_MISMATCH, 0, 7);
        expectRejected(commit("a", 0, 100, digestOf("a0"), digestOf("older model")).build(),
                RejectReason.STALE_UPDATE, 1, 12_345_678_901L);

        // --- the real updates, out of client order, with a duplicate and a conflict ---
        update("c", 0, 600, v0, b -> b.setTrainLoss(0.9).setTrainAccuracy(0.6));
        UpdateCommit a0 = update("a", 0, 100, v0, b -> b.setTrainLoss(1.5).setTrainAccuracy(0.3));
        assertTrue(out.isEmpty(), "b has not committed yet");
        commit(a0); // identical duplicate: ignored silently
        assertTrue(out.isEmpty() && out.rejectedMetrics.isEmpty(), "an identical duplicate commit must be ignored silently");
        expectRejected(commit("a", 0, 100, digestOf("a0 again, different"), v0).build(), RejectReason.CONFLICT, 0, 9);
        // Rejections the router made are counted too (in the round that is running).
        notice(RoundEvent.rejection(0, null, "DIGEST_MISMATCH", T.models() + "/0@10"));
        notice(RoundEvent.rejection(-1, null, "NOT_AVRO", T.checkin() + "/0@12"));
        assertTrue(out.isEmpty(), "rejection notices are only counted");

        update("b", 0, 300, v0, b -> b.setTrainLoss(1.2).setTrainAccuracy(0.5));
        long decided0At = now;

        // --- the decision of round 0 ---
        List<String> selected1 = ClientSelector.select(List.of("a", "b", "c", "d"), 3, SEED, 1);
        assertEquals(1, out.decisions.size());
        RoundDecision d0 = out.decisions.get(0);
        assertEquals(d0, out.only(T.control(), RoundDecision.class), "the decision is also logged on control");
        assertEquals(1, out.sent.size());
        assertEquals(FED, d0.getFederation());
        assertEquals(0, d0.getRound());
        assertEquals(0, d0.getBaseModelVersion());
        assertEquals(CHUNKS, d0.getChunkCount());
        assertEquals("ALL_COMMITTED", d0.getReason());
        assertEquals(1000, d0.getTotalSamples(), "the duplicate commit must not be counted twice");
        assertEquals(decided0At, d0.getDecidedAtMs());
        assertEquals(List.of("a", "b", "c"), d0.getParticipants().stream().map(Participant::getClientId).toList());
        assertEquals(List.of(100L, 300L, 600L), d0.getParticipants().stream().map(Participant::getSampleCount).toList());
        double weightSum = 0;
        for (Participant p : d0.getParticipants()) {
            assertEquals(p.getSampleCount() / 1000.0, p.getWeight(), 1e-15, p.getClientId());
            weightSum += p.getWeight();
        }
        assertEquals(1.0, weightSum, 1e-12);
        assertEquals(selected1, d0.getNextRecipients());
        assertTrue(out.plans.isEmpty() && out.distributions.isEmpty());
        out.clear();

        // A replayed commit of the closed round is still a duplicate, not a late update ...
        commit(a0);
        assertTrue(out.isEmpty() && out.rejectedMetrics.isEmpty(), "a replayed commit of a decided round");
        // ... a new one is late.
        expectRejected(commit("b", 0, 300, digestOf("b0 retrained"), v0).build(), RejectReason.LATE_UPDATE, 2, 13);
        // The deadline of round 0 passes while it is aggregated: nothing happens.
        coordinator.onTimer(state, plan0At + TIMEOUT.toMillis(), plan0At + TIMEOUT.toMillis(), out);
        assertTrue(out.isEmpty());

        // --- chunk completions of version 1, out of order, with a duplicate and strays ---
        List<String> chunkDigests1 = List.of(digestOf("v1c0"), digestOf("v1c1"), digestOf("v1c2"));
        chunkDone(0, 2, chunkDigests1.get(2));
        chunkDone(0, 0, chunkDigests1.get(0));
        chunkDone(0, 0, chunkDigests1.get(0));
        handle(ChunkAggregated.newBuilder().setFederation(FED).setRound(0).setVersion(7).setChunkIndex(1)
                .setChunkCount(CHUNKS).setChunkDigest("stray").setContributors(3).setFinishedAtMs(now).build(), T.control(), 0);
        chunkDone(1, 1, digestOf("a future round"));
        assertTrue(out.isEmpty(), "two of three chunks: the model is not complete");
        chunkDone(0, 1, chunkDigests1.get(1));
        long v1At = now;

        String v1 = Digests.composite(FP, chunkDigests1);
        ModelManifest m1 = out.only(T.models(), ModelManifest.class);
        assertArrayEquals("manifest".getBytes(StandardCharsets.UTF_8), out.to(T.models()).get(0).key);
        assertEquals(FED, m1.getFederation());
        assertEquals(1, m1.getVersion());
        assertEquals(0, m1.getProducedByRound());
        assertEquals(v1, m1.getDigest());
        assertEquals(manifest0.getTensors(), m1.getTensors());
        assertEquals(FP, m1.getSpecFingerprint());
        assertEquals(CHUNKS, m1.getChunkCount());
        assertEquals(manifest0.getTotalFloats(), m1.getTotalFloats());
        assertEquals(manifest0.getChunkFloats(), m1.getChunkFloats());
        // ... and the plan of round 1 to the clients that received the model.
        out.drop(T.models());
        assertPlan(1, 1, selected1, false, v1);
        assertEquals(List.of(new PlanOrder(1, CHUNKS, selected1, v1)), out.plans);
        assertEquals(List.of(new Distribution(1, CHUNKS, selected1)), out.distributions,
                "model v1 goes to the next round's clients once its manifest is written");
        assertTrue(out.decisions.isEmpty());
        out.clear();

        // --- round 1: evaluations of v1 by its recipients, then their updates ---
        Map<String, Long> testSamples = Map.of("a", 50L, "b", 150L, "c", 300L, "d", 500L);
        Map<String, Double> acc1 = Map.of("a", 0.7, "b", 0.8, "c", 0.9, "d", 0.6);
        Map<String, Double> loss1 = Map.of("a", 0.5, "b", 0.4, "c", 0.3, "d", 0.8);
        String outsider = List.of("a", "b", "c", "d").stream().filter(c -> !selected1.contains(c)).findFirst().get();
        eval(outsider, 1, v1, 1000, 0.1, 0.99); // not a recipient of v1
        eval(selected1.get(0), 1, digestOf("wrong model"), 1000, 0.1, 0.99); // another model
        eval(selected1.get(0), 0, v0, 1000, 0.1, 0.99); // nobody summarises v0
        for (int i = 0; i < selected1.size(); i++) {
            String c = selected1.get(i);
            assertTrue(out.isEmpty(), "summary before every recipient evaluated v1");
            eval(c, 1, v1, testSamples.get(c), loss1.get(c), acc1.get(c));
            if (i == 0) {
                eval(c, 1, v1, 100_000, 9.9, 0.0); // duplicate evaluation: ignored
            }
        }
        long evalSamples1 = selected1.stream().mapToLong(testSamples::get).sum();
        double evalAcc1 = 0;
        double evalLoss1 = 0;
        for (String c : selected1) {
            evalAcc1 += acc1.get(c) * testSamples.get(c) / evalSamples1;
            evalLoss1 += loss1.get(c) * testSamples.get(c) / evalSamples1;
        }
        RoundSummary s0 = out.only(T.metrics(), RoundSummary.class);
        assertEquals(1, out.sent.size());
        assertEquals(FED, s0.getFederation());
        assertEquals(0, s0.getRound());
        assertEquals(List.of("a", "b", "c"), s0.getParticipants());
        assertEquals(1000, s0.getTotalSamples());
        assertEquals((100 * 1.5 + 300 * 1.2 + 600 * 0.9) / 1000, s0.getTrainLoss(), 1e-12);
        assertEquals((100 * 0.3 + 300 * 0.5 + 600 * 0.6) / 1000, s0.getTrainAccuracy(), 1e-12);
        assertEquals(evalAcc1, s0.getEvalAccuracy(), 1e-12);
        assertEquals(evalLoss1, s0.getEvalLoss(), 1e-12);
        assertEquals(evalSamples1, s0.getEvalSamples());
        assertEquals(3, s0.getEvalClients());
        assertEquals(1, s0.getModelVersion());
        assertEquals(v1, s0.getModelDigest());
        assertEquals(v1At - decided0At, s0.getAggregationTimeMs());
        assertEquals(v1At - plan0At, s0.getRoundTimeMs());
        // FUTURE_ROUND, UNKNOWN_CLIENT, NOT_SELECTED, SPEC_MISMATCH, CONFLICT and the router's two notices.
        assertEquals(7, s0.getRejections());
        // STALE_UPDATE and LATE_UPDATE.
        assertEquals(2, s0.getLateUpdates());
        assertEquals(List.of(), s0.getStragglers());
        assertEquals("ALL_COMMITTED", s0.getCloseReason());
        assertEquals(1, s0.getAttempts());
        out.clear();

        // One rejection and one late update during round 1.
        expectRejected(commit(selected1.get(0), 2, 5, digestOf("f2"), v1).build(), RejectReason.FUTURE_ROUND, 0, 40);
        expectRejected(commit(selected1.get(0), 0, 5, digestOf("old"), v0).build(), RejectReason.LATE_UPDATE, 0, 41);

        Map<String, Long> samples1 = new TreeMap<>();
        long n = 200;
        for (String c : selected1) {
            samples1.put(c, n);
            long nc = n;
            update(c, 1, n, v1, b -> b.setTrainLoss(nc / 1000.0).setTrainAccuracy(1 - nc / 1000.0));
            n += 50;
        }
        long decided1At = now;
        assertEquals(1, out.decisions.size());
        RoundDecision d1 = out.decisions.get(0);
        assertEquals(1, d1.getRound());
        assertEquals(List.copyOf(samples1.keySet()), d1.getParticipants().stream().map(Participant::getClientId).toList());
        assertEquals(List.of("a", "b", "c", "d"), d1.getNextRecipients(), "after the last round every client gets the model");
        out.clear();

        // --- version 2 = the final model: an evaluate-only plan for everybody ---
        String v2 = modelDone(1);
        long v2At = now;
        ModelManifest m2 = out.only(T.models(), ModelManifest.class);
        assertEquals(2, m2.getVersion());
        assertEquals(1, m2.getProducedByRound());
        assertEquals(v2, m2.getDigest());
        out.drop(T.models());
        RoundPlan finalPlan = assertPlan(2, 1, List.of("a", "b", "c", "d"), true, v2);
        assertTrue(finalPlan.getEvaluateOnly());
        assertTrue(out.plans.isEmpty(), "nobody trains on the final model");
        assertEquals(List.of(new Distribution(2, CHUNKS, List.of("a", "b", "c", "d"))), out.distributions,
                "the final model goes to every client that evaluates it");
        assertEquals(FederationState.Phase.FINAL_EVAL, state.phase);
        out.clear();

        Map<String, Double> acc2 = Map.of("a", 0.91, "b", 0.85, "c", 0.95, "d", 0.75);
        long evalSamples2 = testSamples.values().stream().mapToLong(Long::longValue).sum();
        double evalAcc2 = 0;
        for (String c : List.of("a", "b", "c", "d")) {
            evalAcc2 += acc2.get(c) * testSamples.get(c) / evalSamples2;
        }
        for (String c : List.of("d", "b", "a")) {
            eval(c, 2, v2, testSamples.get(c), 0.2, acc2.get(c));
        }
        assertTrue(out.isEmpty(), "c has not evaluated the final model");
        eval("c", 2, v2, testSamples.get("c"), 0.2, acc2.get("c"));

        List<RoundSummary> summaries = out.all(T.metrics(), RoundSummary.class);
        assertEquals(1, summaries.size());
        RoundSummary s1 = summaries.get(0);
        assertEquals(1, s1.getRound());
        assertEquals(List.copyOf(samples1.keySet()), s1.getParticipants());
        assertEquals(samples1.values().stream().mapToLong(Long::longValue).sum(), s1.getTotalSamples());
        assertEquals(evalAcc2, s1.getEvalAccuracy(), 1e-12);
        assertEquals(0.2, s1.getEvalLoss(), 1e-12);
        assertEquals(evalSamples2, s1.getEvalSamples());
        assertEquals(4, s1.getEvalClients());
        assertEquals(2, s1.getModelVersion());
        assertEquals(v2, s1.getModelDigest());
        assertEquals(v2At - decided1At, s1.getAggregationTimeMs());
        assertEquals(1, s1.getRejections());
        assertEquals(1, s1.getLateUpdates());

        // --- finish: control, metrics and every client's model topic ---
        Finish f = out.only(T.control(), Finish.class);
        assertEquals(FED, f.getFederation());
        assertEquals(2, f.getRounds());
        assertEquals(2, f.getFinalModelVersion());
        assertEquals(v2, f.getFinalModelDigest());
        assertEquals(evalAcc2, f.getFinalEvalAccuracy(), 1e-12);
        assertEquals("COMPLETED", f.getReason());
        byte[] finish = out.to(T.control()).get(0).value;
        assertEquals(2, out.to(T.metrics()).size(), "the last summary and the finish");
        assertArrayEquals(finish, out.to(T.metrics()).get(1).value);
        for (String c : List.of("a", "b", "c", "d")) {
            assertEquals(1, out.to(T.clientModel(c)).size(), c);
            assertArrayEquals(finish, out.to(T.clientModel(c)).get(0).value, c);
        }
        assertEquals(1 + 2 + 4, out.sent.size());
        assertEquals(FederationState.Phase.FINISHED, state.phase);
        out.clear();

        // Nothing more happens after the finish.
        eval("c", 2, v2, 1, 0.2, 0.1);
        chunkDone(1, 0, digestOf("v2c0"));
        coordinator.onTimer(state, Long.MAX_VALUE, now, out);
        assertTrue(out.isEmpty());
    }

    // ------------------------------------------------------------------ whole-update checks

    @Test
    void commitBeforeAllItsChunksIsIncomplete() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        notice(seen("a", 0, 0, 10, v0, "x"));
        notice(seen("a", 0, 1, 10, v0, "x"));
        expectRejected(commit("a", 0, 10, digestOf("whatever"), v0).build(), RejectReason.INCOMPLETE_UPDATE, 0, 5);
        // The rest of the same update arrives (a resend repeats chunks 0 and 1 unchanged): now it is accepted.
        String digest = sendUpdate("a", 0, 10, v0, "x");
        commit(commit("a", 0, 10, digest, v0).build());
        assertTrue(out.sent.isEmpty(), "accepted silently");
        assertTrue(state.commits.containsKey("a"));
    }

    @Test
    void aResentUpdateWithOtherContentCannotReplaceTheFirst() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        notice(seen("a", 0, 0, 10, v0, "first"));
        // The aggregators keep the first chunks they summed, so a different resend would mix two updates.
        String digest = sendUpdate("a", 0, 10, v0, "second");
        expectRejected(commit("a", 0, 10, digest, v0).build(), RejectReason.CONFLICT, 0, 5);
        assertTrue(!state.commits.containsKey("a"));
    }

    @Test
    void commitDigestMustMatchItsChunks() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        sendUpdate("a", 0, 10, v0, "x");
        expectRejected(commit("a", 0, 10, digestOf("not the chunks"), v0).build(), RejectReason.DIGEST_MISMATCH, 0, 5);
    }

    @Test
    void commitSampleCountMustMatchItsChunks() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        String digest = sendUpdate("a", 0, 10, v0, "x");
        expectRejected(commit("a", 0, 11, digest, v0).build(), RejectReason.BAD_SAMPLE_COUNT, 0, 5);
        expectRejected(commit("b", 0, 0, digestOf("b"), v0).build(), RejectReason.BAD_SAMPLE_COUNT, 0, 6);
    }

    @Test
    void chunksTrainedOnAnotherModelMakeTheUpdateStale() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        String digest = sendUpdate("a", 0, 10, digestOf("older"), "x");
        expectRejected(commit("a", 0, 10, digest, v0).build(), RejectReason.STALE_UPDATE, 0, 5);
    }

    @Test
    void chunkOfTheWrongShapeTaintsTheUpdate() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        notice(seen("a", 0, 0, 10, v0, "x"));
        RoundEvent bad = seen("a", 0, 1, 10, v0, "x");
        bad.length = 3;
        notice(bad);
        notice(seen("a", 0, 2, 10, v0, "x"));
        Rejected r = expectRejected(commit("a", 0, 10, digestOf("w"), v0).build(), RejectReason.WRONG_LENGTH, 0, 5);
        assertTrue(r.getDetail().contains("chunk 1"), r.getDetail());
    }

    @Test
    void aChunkTheRouterRejectedTaintsTheClientsUpdateForTheRound() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        notice(seen("a", 0, 0, 10, v0, "x"));
        notice(RoundEvent.rejection(0, "a", "NON_FINITE", T.clientUpdates("a") + "/0@3"));
        notice(seen("a", 0, 2, 10, v0, "x"));
        expectRejected(commit("a", 0, 10, digestOf("w"), v0).build(), RejectReason.NON_FINITE, 0, 5);
        // A tainted update stays out of the round even if sent again: its clean chunks are already summed.
        String digest = sendUpdate("a", 0, 10, v0, "again");
        expectRejected(commit("a", 0, 10, digest, v0).build(), RejectReason.NON_FINITE, 0, 6);
        assertTrue(!state.commits.containsKey("a"));
        // A rejection notice of another client or round does not taint a's update.
        notice(RoundEvent.rejection(2, "b", "NON_FINITE", T.clientUpdates("b") + "/0@4"));
        update("b", 0, 20, v0);
        assertTrue(state.commits.containsKey("b"));
    }

    @Test
    void wrongChunkCount() throws Exception {
        startRound0();
        expectRejected(commit("a", 0, 10, digestOf("u"), manifest0.getDigest()).setChunkCount(CHUNKS + 1).build(),
                RejectReason.WRONG_LENGTH, 0, 5);
    }

    @Test
    void commitBeyondTheLastRoundIsFromTheFuture() throws Exception {
        checkIn("a");
        expectRejected(commit("a", 2, 10, digestOf("u"), "none").build(), RejectReason.FUTURE_ROUND, 0, 5);
        assertEquals(0, state.heldCount);
    }

    @Test
    void commitBeforeTheFederationStartedIsHeldUntilRoundZeroStartsAndThenChecked() throws Exception {
        checkIn("a");
        checkIn("b");
        commit(commit("a", 0, 10, digestOf("u"), digestOf("not the initial model")).build());
        assertTrue(out.isEmpty() && out.rejectedMetrics.isEmpty(), "held, not rejected");
        assertEquals(1, state.heldCount);
        checkIn("c");
        manifest(manifest0);
        assertEquals(FederationState.Phase.TRAINING, state.phase);
        assertEquals(0, state.heldCount);
        assertTrue(state.held.isEmpty());
        Rejected r = out.only(T.late(), Rejected.class);
        assertEquals(RejectReason.STALE_UPDATE.name(), r.getReason(), r.getDetail());
        assertEquals(List.of("STALE_UPDATE/late"), out.rejectedMetrics);
    }

    @Test
    void theManifestWaitsUntilEveryChunkItNamesIsReadableOnTheModelsTopic() throws Exception {
        round0WithAllUpdates();
        List<String> v1Chunks = List.of(digestOf("v1c0"), digestOf("v1c1"), digestOf("v1c2"));
        out.clear();
        // A chunk can come back before its notice, and the notices can all come before the last chunks.
        chunkStored(1, 2, v1Chunks.get(2));
        for (int c = 0; c < CHUNKS; c++) {
            chunkNotice(0, c, v1Chunks.get(c), 0);
        }
        chunkStored(1, 0, v1Chunks.get(0));
        // Stray records: another version's chunk 1, and a chunk 1 whose content is not the one aggregated.
        chunkStored(2, 1, v1Chunks.get(1));
        chunkStored(1, 1, digestOf("other content"));
        assertTrue(out.to(T.models()).isEmpty(), "chunk 1 of version 1 is not on the models topic yet");
        assertTrue(out.distributions.isEmpty(), "no copies of a model without a manifest");

        chunkStored(1, 1, v1Chunks.get(1));
        ModelManifest m1 = out.only(T.models(), ModelManifest.class);
        assertEquals(1, m1.getVersion());
        assertEquals(Digests.composite(FP, v1Chunks), m1.getDigest());
        chunkStored(1, 1, v1Chunks.get(1)); // read again (a replay): no second manifest
        assertEquals(1, out.to(T.models()).size());
    }

    @Test
    void chunkAggregatorRejectionsCountInTheRoundSummaryOncePerChunk() throws Exception {
        round0WithAllUpdates();
        notice(RoundEvent.rejection(0, null, "NOT_AVRO", T.checkin() + "/0@3"));
        List<String> v1Chunks = List.of(digestOf("v1c0"), digestOf("v1c1"), digestOf("v1c2"));
        chunkDone(0, 0, v1Chunks.get(0), 2);
        chunkDone(0, 0, v1Chunks.get(0), 2); // the same completion again (a replay): counted once
        chunkDone(0, 1, v1Chunks.get(1), 0);
        chunkDone(0, 2, v1Chunks.get(2), 1);
        String v1 = Digests.composite(FP, v1Chunks);
        out.clear();
        for (String client : state.drafts.get(0).evaluators) {
            eval(client, 1, v1, 100, 0.5, 0.75);
        }
        RoundSummary s0 = out.only(T.metrics(), RoundSummary.class);
        assertEquals(1 + 2 + 1, s0.getRejections(), "the router's one and the aggregators' three");
    }

    /**
     * A job restored from a checkpoint reads everything the clients sent since, on every topic at once: round 1's
     * update chunks, its commits and the evaluations of model 1 can all come before round 0 is decided again. They
     * are held until round 1 starts and then count as if they had come in order.
     */
    @Test
    void recordsOfARoundThatHasNotStartedAreHeldUntilItStarts() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        update("a", 0, 100, v0);
        update("b", 0, 200, v0);
        // Replayed from the clients' topics ahead of time: what a, b and c sent in round 1, trained on model 1.
        List<String> v1Chunks = List.of(digestOf("v1c0"), digestOf("v1c1"), digestOf("v1c2"));
        String v1 = Digests.composite(FP, v1Chunks);
        List<String> selected1 = ClientSelector.select(List.of("a", "b", "c"), 3, SEED, 1);
        assertEquals(List.of("a", "b", "c"), selected1);
        for (String client : selected1) {
            eval(client, 1, v1, 100, 0.5, 0.75);
        }
        Map<String, String> round1 = new TreeMap<>();
        for (String client : selected1) {
            String digest = sendUpdate(client, 1, 10, v1, "r1");
            round1.put(client, digest);
            if (client.equals("c")) {
                notice(RoundEvent.rejection(1, "c", "NON_FINITE", T.clientUpdates("c") + "/0@99"));
            }
            commit(commit(client, 1, 10, digest, v1).build());
        }
        assertTrue(out.isEmpty() && out.rejectedMetrics.isEmpty(), "nothing of round 1 is handled in round 0");
        assertEquals(3 + 3 * (CHUNKS + 1) + 1, state.heldCount);

        update("c", 0, 300, v0);
        assertEquals(1, out.decisions.size(), "round 0 is decided with a, b and c");
        out.clear();
        for (int c = 0; c < CHUNKS; c++) {
            chunkDone(0, c, v1Chunks.get(c));
        }
        // Round 1 starts; its held records are handled now: c's update had a rejected chunk, a's and b's are good.
        assertEquals(0, state.heldCount);
        assertEquals(1, state.round);
        assertEquals(Set.of("a", "b"), state.commits.keySet());
        Rejected r = out.only(T.deadLetter(), Rejected.class);
        assertEquals("NON_FINITE", r.getReason());
        assertEquals("c", r.getClientId());
        assertTrue(state.drafts.isEmpty(), "round 0's summary is out: every recipient of model 1 evaluated it");
        RoundSummary s0 = out.only(T.metrics(), RoundSummary.class);
        assertEquals(0, s0.getRound());
        assertEquals(0.75, s0.getEvalAccuracy(), 1e-12);
        assertEquals(3, s0.getEvalClients());
    }

    // ------------------------------------------------------------------ deadlines

    @Test
    void quorumAtTheDeadlineClosesTheRound() throws Exception {
        use(settings(3, 3, 2).minClientsPerRound(2));
        startRound0();
        long deadline = state.deadlineMs;
        String v0 = manifest0.getDigest();
        update("c", 0, 30, v0);
        update("a", 0, 10, v0);
        coordinator.onTimer(state, deadline - 1, now, out); // an earlier timer
        assertTrue(out.isEmpty());
        now = deadline;
        coordinator.onTimer(state, deadline, now, out);
        RoundDecision d = out.only(T.control(), RoundDecision.class);
        assertEquals("DEADLINE_QUORUM", d.getReason());
        assertEquals(List.of("a", "c"), d.getParticipants().stream().map(Participant::getClientId).toList());
        assertEquals(40, d.getTotalSamples());
        assertEquals(0.25, d.getParticipants().get(0).getWeight(), 1e-15);
        out.clear();
        // The straggler is late now.
        String digest = sendUpdate("b", 0, 20, v0, "late");
        expectRejected(commit("b", 0, 20, digest, v0).build(), RejectReason.LATE_UPDATE, 0, 8);

        String v1 = modelDone(0);
        out.clear();
        for (String c : d.getNextRecipients()) {
            eval(c, 1, v1, 10, 0.5, 0.5);
        }
        RoundSummary s = out.only(T.metrics(), RoundSummary.class);
        assertEquals(List.of("b"), s.getStragglers());
        assertEquals("DEADLINE_QUORUM", s.getCloseReason());
        assertEquals(List.of("a", "c"), s.getParticipants());
    }

    @Test
    void noQuorumAtTheDeadlineReplansWithAFreshSelection() throws Exception {
        use(settings(5, 3, 2).minClientsPerRound(3));
        List<String> all = List.of("a", "b", "c", "d", "e");
        for (String c : all) {
            checkIn(c);
        }
        manifest(manifest0);
        long plan0At = now;
        List<String> first = ClientSelector.select(all, 3, SEED, 0);
        List<String> fresh = ClientSelector.select(all, 3, SEED + 7919, 0);
        // The fixture's seed gives a re-plan that keeps one committed client and drops another.
        assertEquals(List.of("c", "d", "e"), first);
        assertEquals(List.of("b", "c", "d"), fresh);
        assertEquals(first, out.plans.get(0).selected());
        out.clear();
        String v0 = manifest0.getDigest();
        update("c", 0, 10, v0);
        UpdateCommit e0 = update("e", 0, 10, v0);
        assertTrue(out.isEmpty());

        now = state.deadlineMs;
        coordinator.onTimer(state, state.deadlineMs, now, out);
        assertTrue(out.decisions.isEmpty(), "two commits of three needed: no decision");
        assertPlan(0, 2, fresh, false, v0);
        assertEquals(List.of(new PlanOrder(0, CHUNKS, fresh, v0)), out.plans);
        assertEquals(List.of(new Distribution(0, CHUNKS, List.of("b"))), out.distributions,
                "only the client that never had the model gets it");
        assertEquals(List.of("c"), List.copyOf(state.commits.keySet()), "e's commit is left out with e");
        out.clear();

        // e is not selected any more: its commit (even the same one) is refused now.
        expectRejected(e0, RejectReason.NOT_SELECTED, 0, 20);
        update("d", 0, 20, v0);
        update("b", 0, 30, v0);
        RoundDecision d = out.only(T.control(), RoundDecision.class);
        assertEquals("ALL_COMMITTED", d.getReason());
        assertEquals(fresh, d.getParticipants().stream().map(Participant::getClientId).toList());
        assertEquals(60, d.getTotalSamples());
        String v1 = modelDone(0);
        long v1At = now;
        out.clear();
        for (String c : d.getNextRecipients()) {
            eval(c, 1, v1, 10, 0.5, 0.5);
        }
        RoundSummary s = out.only(T.metrics(), RoundSummary.class);
        assertEquals(2, s.getAttempts());
        assertEquals(v1At - plan0At, s.getRoundTimeMs(), "a round's time counts from its first plan");
    }

    @Test
    void overSelectionClosesAtTheFirstK() throws Exception {
        use(settings(3, 2, 2).overSelection(0.5));
        startRound0();
        assertEquals(3, state.selected.size());
        String v0 = manifest0.getDigest();
        update("c", 0, 30, v0);
        assertTrue(out.decisions.isEmpty());
        update("a", 0, 10, v0);
        RoundDecision d = out.only(T.control(), RoundDecision.class);
        assertEquals("FIRST_K", d.getReason());
        assertEquals(List.of("a", "c"), d.getParticipants().stream().map(Participant::getClientId).toList());
        out.clear();
        String digest = sendUpdate("b", 0, 20, v0, "slow");
        expectRejected(commit("b", 0, 20, digest, v0).build(), RejectReason.LATE_UPDATE, 0, 6);
    }

    @Test
    void finalEvaluationDeadlineEndsTheFederationWithTheReportsItHas() throws Exception {
        use(settings(2, 2, 1));
        checkIn("a");
        checkIn("b");
        manifest(manifest0);
        String v0 = manifest0.getDigest();
        update("a", 0, 10, v0);
        update("b", 0, 30, v0);
        String v1 = modelDone(0);
        assertEquals(FederationState.Phase.FINAL_EVAL, state.phase);
        long deadline = state.deadlineMs;
        out.clear();
        eval("b", 1, v1, 100, 0.4, 0.8);
        assertTrue(out.isEmpty(), "a has not reported");
        now = deadline;
        coordinator.onTimer(state, deadline, now, out);
        RoundSummary s = out.all(T.metrics(), RoundSummary.class).get(0);
        assertEquals(1, s.getEvalClients());
        assertEquals(0.8, s.getEvalAccuracy(), 1e-12);
        assertEquals(0.8, out.only(T.control(), Finish.class).getFinalEvalAccuracy(), 1e-12);
        assertEquals(FederationState.Phase.FINISHED, state.phase);
    }

    @Test
    void missingEvaluationsDoNotHoldASummaryPastTheNextDecision() throws Exception {
        use(settings(2, 2, 3));
        checkIn("a");
        checkIn("b");
        manifest(manifest0);
        String v0 = manifest0.getDigest();
        update("a", 0, 10, v0);
        update("b", 0, 30, v0);
        String v1 = modelDone(0);
        out.clear();
        eval("a", 1, v1, 100, 0.4, 0.8); // b never evaluates v1
        update("a", 1, 10, v1);
        update("b", 1, 30, v1);
        RoundSummary s0 = out.only(T.metrics(), RoundSummary.class);
        assertEquals(0, s0.getRound());
        assertEquals(1, s0.getEvalClients());
        assertEquals(0.8, s0.getEvalAccuracy(), 1e-12);
    }

    // ------------------------------------------------------------------ small things

    @Test
    void theFederationsStateDoesNotGrowWithTheNumberOfRounds() throws Exception {
        int remembered = RoundCoordinator.REMEMBERED_ROUNDS;
        int rounds = 3 * remembered;
        use(settings(3, 3, rounds + 1));
        startRound0();
        String base = manifest0.getDigest();
        Map<Integer, UpdateCommit> commitsOfA = new HashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (String client : List.of("a", "b", "c")) {
                UpdateCommit c = update(client, r, 100 + r, base);
                if (client.equals("a")) {
                    commitsOfA.put(r, c);
                }
            }
            assertEquals(List.of(r), out.decisions.stream().map(RoundDecision::getRound).toList());
            base = modelDone(r);
            assertEquals(List.of(r + 1), out.plans.stream().map(PlanOrder::round).toList());
            out.clear();
            assertEquals(Math.min(r + 1, remembered), state.aggregatedDigests.size(), "rounds remembered after round " + r);
            assertTrue(state.modelDigests.size() <= 2, "model digests kept: " + state.modelDigests.keySet());
        }
        assertEquals(base, state.modelDigests.get(rounds), "the model the running round trains on");
        // A commit of the oldest remembered round, sent again, is still known as a duplicate ...
        commit(commitsOfA.get(rounds - remembered));
        assertTrue(out.isEmpty() && out.rejectedMetrics.isEmpty(), "a replayed commit of a remembered round");
        // ... one of the round before is late, as any other commit of a closed round.
        expectRejected(commitsOfA.get(rounds - remembered - 1), RejectReason.LATE_UPDATE, 0, 99);
    }

    @Test
    void duplicateOfTheLastNeededCommitDoesNotDecideTwice() throws Exception {
        startRound0();
        String v0 = manifest0.getDigest();
        update("a", 0, 10, v0);
        UpdateCommit b = update("b", 0, 20, v0);
        update("c", 0, 30, v0);
        assertEquals(1, out.decisions.size());
        assertEquals(60, out.decisions.get(0).getTotalSamples());
        out.clear();
        commit(b);
        assertTrue(out.isEmpty(), "a replayed commit must never decide the round again");
    }

    @Test
    void rejectionNoticesAreCountedInTheRunningRound() {
        startRound0();
        notice(RoundEvent.rejection(0, null, "NOT_AVRO", "t/0@1"));
        notice(RoundEvent.rejection(0, null, "NOT_AVRO", "t/0@2"));
        notice(RoundEvent.rejection(3, null, "NOT_AVRO", "t/0@3"));
        notice(RoundEvent.rejection(-1, null, "NOT_AVRO", "t/0@4"));
        assertEquals(Map.of(0, 4), state.rejections);
        assertTrue(out.isEmpty());
    }

    @Test
    void sourceParsing() {
        assertArrayEquals(new String[] {"fedstream.f.client.a.updates", "0", "5"},
                RoundCoordinator.parseSource("fedstream.f.client.a.updates/0@5"));
        assertArrayEquals(new String[] {"t", "12", "9876543210"}, RoundCoordinator.parseSource("t/12@9876543210"));
    }

    @Test
    void clientsAreKeptInIdOrder() {
        for (String c : List.of("m", "b", "z", "a")) {
            checkIn(c);
        }
        assertEquals(List.of("a", "b", "m", "z"), List.copyOf(state.clients.keySet()));
    }
}

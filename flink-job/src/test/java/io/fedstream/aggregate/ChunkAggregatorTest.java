package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.Participant;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import io.fedstream.validate.RejectReason;
import io.fedstream.wire.Routed;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The chunk aggregator in Flink's keyed test harness, keyed by (round, chunk) like in the job. */
class ChunkAggregatorTest {
    private static final String FED = "fed1";
    private static final Topics T = new Topics(FED);
    private static final String FP = ModelSpec.flat("w", 13).fingerprint();
    private static final long TOTAL = 13;
    private static final int CHUNK_COUNT = 3;
    private static final String BASE_DIGEST = "b0".repeat(32);

    private KeyedOneInputStreamOperatorTestHarness<Long, ChunkInput, Routed> harness;
    private long sourceOffset = 500;

    @BeforeEach
    void open() throws Exception {
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new ChunkAggregator(FED, "127.0.0.1:1", new FedAvg(), Duration.ofHours(1)), ChunkInput::key, Types.LONG);
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    // ------------------------------------------------------------------ inputs

    private void feed(ChunkInput in) throws Exception {
        harness.processElement(in, 0L);
    }

    private static ChunkInput order(int kind, int round, int chunk) {
        ChunkInput in = new ChunkInput();
        in.kind = kind;
        in.round = round;
        in.chunk = chunk;
        in.chunkCount = CHUNK_COUNT;
        return in;
    }

    private void base(int version, int chunk, long offset, float... data) throws Exception {
        ChunkInput in = order(ChunkInput.BASE, version, chunk);
        in.offset = offset;
        in.totalFloats = TOTAL;
        in.specFingerprint = FP;
        in.data = Floats.toBytes(data, 0, data.length);
        in.digest = Digests.sha256Hex(Floats.toBytes(data, 0, data.length));
        in.sourceTopic = T.models();
        in.sourceOffset = sourceOffset++;
        feed(in);
    }

    /** The plan of a round for one chunk of {@code length} values, trained on {@link #BASE_DIGEST}. */
    private void plan(int round, int chunk, int length, String... selected) throws Exception {
        ChunkInput in = order(ChunkInput.PLAN, round, chunk);
        in.clients = selected.clone();
        in.length = length;
        in.baseModelDigest = BASE_DIGEST;
        feed(in);
    }

    private void plan(int round, int chunk, String... selected) throws Exception {
        plan(round, chunk, BASE.length, selected);
    }

    private ChunkInput update(int round, int chunk, String client, long samples, float... data) throws Exception {
        ChunkInput in = order(ChunkInput.UPDATE, round, chunk);
        in.offset = chunk * 5L;
        in.clientId = client;
        in.sampleCount = samples;
        in.baseModelDigest = BASE_DIGEST;
        in.data = Floats.toBytes(data, 0, data.length);
        in.digest = Digests.sha256Hex(Floats.toBytes(data, 0, data.length));
        in.sourceTopic = T.clientUpdates(client);
        in.sourcePartition = 2;
        in.sourceOffset = sourceOffset++;
        feed(in);
        return in;
    }

    private void decision(int round, int chunk, Map<String, Long> participants, String... next) throws Exception {
        long total = participants.values().stream().mapToLong(Long::longValue).sum();
        List<Participant> ps = new ArrayList<>();
        participants.forEach((c, n) -> ps.add(new Participant(c, n, (double) n / total)));
        RoundDecision d = RoundDecision.newBuilder().setFederation(FED).setRound(round).setBaseModelVersion(round)
                .setChunkCount(CHUNK_COUNT).setParticipants(ps).setTotalSamples(total).setNextRecipients(List.of(next))
                .setReason("ALL_COMMITTED").setDecidedAtMs(1).build();
        ChunkInput in = order(ChunkInput.DECISION, round, chunk);
        in.decision = WireCodec.get().encode(d);
        feed(in);
    }

    private void distribute(int version, int chunk, String... clients) throws Exception {
        ChunkInput in = order(ChunkInput.DISTRIBUTE, version, chunk);
        in.clients = clients.clone();
        feed(in);
    }

    private static Map<String, Long> participants(Object... clientAndSamples) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < clientAndSamples.length; i += 2) {
            m.put((String) clientAndSamples[i], ((Number) clientAndSamples[i + 1]).longValue());
        }
        return m;
    }

    // ------------------------------------------------------------------ outputs

    private List<Routed> drain() {
        List<Routed> out = new ArrayList<>(harness.extractOutputValues());
        harness.getOutput().clear();
        return out;
    }

    /** What went to the model-copies side output (the clients' model topics). */
    private List<Routed> drainCopies() {
        List<Routed> out = new ArrayList<>();
        if (harness.getSideOutput(ChunkAggregator.MODEL_COPIES) != null) {
            harness.getSideOutput(ChunkAggregator.MODEL_COPIES).forEach(r -> out.add(r.getValue()));
            harness.getSideOutput(ChunkAggregator.MODEL_COPIES).clear();
        }
        return out;
    }

    private static List<Routed> on(List<Routed> out, String topic) {
        return out.stream().filter(r -> r.topic.equals(topic)).toList();
    }

    private static ModelChunk modelChunk(Routed r) throws WireFormatException {
        return WireCodec.get().decode(r.value, ModelChunk.class);
    }

    /** base + sum(n_i d_i) / sum(n_i), exactly, rounded once. */
    private static float[] fedAvg(float[] base, float[][] deltas, long[] samples) {
        long total = 0;
        for (long n : samples) {
            total += n;
        }
        float[] out = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            BigDecimal sum = BigDecimal.ZERO;
            for (int c = 0; c < deltas.length; c++) {
                sum = sum.add(new BigDecimal(deltas[c][i]).multiply(BigDecimal.valueOf(samples[c])));
            }
            out[i] = new BigDecimal(base[i]).add(sum.divide(BigDecimal.valueOf(total), new MathContext(60))).floatValue();
        }
        return out;
    }

    private static void assertFloatsWithinOneUlp(float[] want, float[] got) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertTrue(FedAvgTest.ulps(want[i], got[i]) <= 1, "coordinate " + i + ": want " + want[i] + " got " + got[i]);
        }
    }

    /**
     * Checks one finished chunk: the new global chunk on the models topic, the completion on control, and nothing
     * else; no copy for any client yet (they wait for the coordinator's order). Returns the decoded model chunk.
     */
    private ModelChunk assertFinished(List<Routed> out, int round, int chunk, long offset, float[] expected,
                                      int contributors) throws WireFormatException {
        List<Routed> models = on(out, T.models());
        assertEquals(1, models.size(), "one new global chunk on the models topic");
        assertArrayEquals(String.valueOf(chunk).getBytes(StandardCharsets.UTF_8), models.get(0).key);
        ModelChunk mc = modelChunk(models.get(0));
        assertEquals(FED, mc.getFederation());
        assertEquals(round + 1, mc.getVersion());
        assertEquals(chunk, mc.getChunkIndex());
        assertEquals(CHUNK_COUNT, mc.getChunkCount());
        assertEquals(offset, mc.getOffset());
        assertEquals(TOTAL, mc.getTotalFloats());
        assertEquals(FP, mc.getSpecFingerprint());
        float[] data = Floats.fromBytes(mc.getData());
        assertFloatsWithinOneUlp(expected, data);
        String digest = Digests.sha256Hex(mc.getData());
        assertEquals(digest, mc.getChunkDigest());

        List<Routed> control = on(out, T.control());
        assertEquals(1, control.size());
        ChunkAggregated done = WireCodec.get().decode(control.get(0).value, ChunkAggregated.class);
        assertEquals(FED, done.getFederation());
        assertEquals(round, done.getRound());
        assertEquals(round + 1, done.getVersion());
        assertEquals(chunk, done.getChunkIndex());
        assertEquals(CHUNK_COUNT, done.getChunkCount());
        assertEquals(digest, done.getChunkDigest());
        assertEquals(contributors, done.getContributors());
        assertEquals(2, out.size(), "models + control, nothing else");
        assertTrue(drainCopies().isEmpty(), "no copies before the coordinator orders them");
        return mc;
    }

    private static Rejected assertRejected(List<Routed> out, RejectReason reason, ChunkInput update) throws Exception {
        boolean late = reason == RejectReason.LATE_UPDATE || reason == RejectReason.STALE_UPDATE;
        assertEquals(1, out.size(), "exactly the rejection record");
        assertEquals(late ? T.late() : T.deadLetter(), out.get(0).topic);
        Rejected r = WireCodec.get().decode(out.get(0).value, Rejected.class);
        assertEquals(reason.name(), r.getReason(), r.getDetail());
        assertEquals(update.clientId, r.getClientId());
        assertEquals(update.round, r.getRound());
        assertEquals(update.sourceTopic, r.getSourceTopic());
        assertEquals(update.sourcePartition, r.getSourcePartition());
        assertEquals(update.sourceOffset, r.getSourceOffset());
        UpdateChunk original = WireCodec.get().decode(Floats.bytesOf(r.getPayload()), UpdateChunk.class);
        assertEquals(update.clientId, original.getClientId());
        assertEquals(update.chunk, original.getChunkIndex());
        assertEquals(update.sampleCount, original.getSampleCount());
        assertArrayEquals(update.values(), Floats.fromBytes(original.getData()));
        assertEquals(update.digest, original.getChunkDigest());
        return r;
    }

    // ------------------------------------------------------------------ tests

    private static final float[] BASE = {1f, -2f, 0.5f, 3.25f, -0.125f};
    private static final float[] DA = {0.1f, 0.2f, -0.3f, 0.4f, 1e-6f};
    private static final float[] DB = {-0.05f, 0.7f, 0.3f, -1.25f, 2e-6f};

    /** Chunk 1 of round {@code round}: base BASE, a plan for b and a, and their updates DA (300 samples), DB (100). */
    private void baseAndUpdatesOfAAndB(int round) throws Exception {
        base(round, 1, 5, BASE);
        plan(round, 1, "b", "a");
        update(round, 1, "a", 300, DA);
        update(round, 1, "b", 100, DB);
    }

    @Test
    void basePlanTwoUpdatesAndDecisionMakeOneNewChunkCopiedToTheNextClientsWhenOrdered() throws Exception {
        baseAndUpdatesOfAAndB(4);
        assertTrue(drain().isEmpty(), "nothing before the decision");
        decision(4, 1, participants("a", 300, "b", 100), "a", "c");
        List<Routed> out = drain();
        assertFinished(out, 4, 1, 5, fedAvg(BASE, new float[][] {DA, DB}, new long[] {300, 100}), 2);
        List<Routed> models = on(out, T.models());
        // The chunk comes back from the models topic as the base of version 5; after the manifest, the order.
        base(5, 1, 5, Floats.fromBytes(modelChunk(models.get(0)).getData()));
        assertTrue(drainCopies().isEmpty(), "nothing before the order");
        distribute(5, 1, "a", "c");
        assertTrue(drain().isEmpty(), "copies go to their own output only");
        List<Routed> copies = drainCopies();
        assertEquals(2, copies.size());
        for (String client : List.of("a", "c")) {
            List<Routed> copy = on(copies, T.clientModel(client));
            assertEquals(1, copy.size(), "copy for " + client);
            assertArrayEquals(models.get(0).value, copy.get(0).value, "the recipients get the very same chunk");
            assertArrayEquals(client.getBytes(StandardCharsets.UTF_8), copy.get(0).key);
        }
    }

    @Test
    void chunksAndRoundsAreIndependentKeys() throws Exception {
        float[] base0 = {1f, 1f, 1f, 1f, 1f};
        base(0, 0, 0, base0);
        base(0, 2, 10, 5f, 6f, 7f);
        plan(0, 0, "a", "b");
        plan(0, 2, 3, "a", "b");
        update(0, 0, "a", 1, 1f, 1f, 1f, 1f, 1f);
        update(0, 2, "a", 1, 3f, 3f, 3f);
        update(0, 0, "b", 3, -1f, -1f, -1f, -1f, -1f);
        update(0, 2, "b", 3, 1f, 1f, 1f);
        decision(0, 2, participants("a", 1, "b", 3), "a");
        List<Routed> out = drain();
        assertFinished(out, 0, 2, 10, new float[] {6.5f, 7.5f, 8.5f}, 2);
        decision(0, 0, participants("a", 1, "b", 3), "a");
        assertFinished(drain(), 0, 0, 0, new float[] {0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, 2);
        // Another round's key has its own state: nothing of round 0 leaks into round 1.
        decision(1, 0, participants("a", 1), "a");
        assertTrue(drain().isEmpty());
    }

    @Test
    void updatesBeforeThePlanAreHeldAndCountedOnceItArrives() throws Exception {
        base(2, 0, 0, BASE);
        ChunkInput early = update(2, 0, "a", 300, DA);
        update(2, 0, "b", 100, DB);
        update(2, 0, "a", 300, DA); // a duplicate while held
        assertTrue(drain().isEmpty());
        decision(2, 0, participants("a", 300, "b", 100), "b");
        assertTrue(drain().isEmpty(), "no plan yet: the held updates are not counted yet");
        plan(2, 0, "a", "b");
        assertFinished(drain(), 2, 0, 0, fedAvg(BASE, new float[][] {DA, DB}, new long[] {300, 100}), 2);
        assertEquals("a", early.clientId);
    }

    @Test
    void heldUpdateOfAClientThatIsNotSelectedIsRejectedWhenThePlanArrives() throws Exception {
        base(2, 0, 0, BASE);
        ChunkInput stranger = update(2, 0, "mallory", 5, DB);
        assertTrue(drain().isEmpty());
        plan(2, 0, "a");
        assertRejected(drain(), RejectReason.NOT_SELECTED, stranger);
    }

    @Test
    void duplicateUpdateIsIgnored() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a", "b");
        update(0, 0, "a", 300, DA);
        update(0, 0, "a", 300, DA);
        update(0, 0, "a", 300, DB); // the same identity with other data: the first one stays
        assertTrue(drain().isEmpty(), "duplicates are dropped silently");
        update(0, 0, "b", 100, DB);
        decision(0, 0, participants("a", 300, "b", 100), "a");
        assertFinished(drain(), 0, 0, 0, fedAvg(BASE, new float[][] {DA, DB}, new long[] {300, 100}), 2);
    }

    @Test
    void updateOfAClientThatIsNotSelected() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a", "b");
        ChunkInput u = update(0, 0, "mallory", 50, DA);
        Rejected r = assertRejected(drain(), RejectReason.NOT_SELECTED, u);
        assertTrue(r.getDetail().contains("mallory"), r.getDetail());
        // ... and it does not count: a and b alone make the chunk.
        update(0, 0, "a", 300, DA);
        update(0, 0, "b", 100, DB);
        decision(0, 0, participants("a", 300, "b", 100));
        List<Routed> out = drain();
        assertFinished(out, 0, 0, 0, fedAvg(BASE, new float[][] {DA, DB}, new long[] {300, 100}), 2);
        // The rejection is reported with the chunk's completion, for the round's summary.
        assertEquals(1, WireCodec.get().decode(on(out, T.control()).get(0).value, ChunkAggregated.class).getRejectedRecords());
    }

    @Test
    void updateAfterTheChunkIsDone() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a", "b");
        update(0, 0, "a", 10, DA);
        decision(0, 0, participants("a", 10), "a");
        assertEquals(2, drain().size());
        ChunkInput late = update(0, 0, "b", 10, DB);
        Rejected r = assertRejected(drain(), RejectReason.LATE_UPDATE, late);
        assertTrue(r.getDetail().contains("already aggregated"), r.getDetail());
        // A contributor's chunk again (a replay) is a duplicate, not a late update.
        update(0, 0, "a", 10, DA);
        assertTrue(drain().isEmpty());
        // Replayed orders do not finish the chunk a second time.
        plan(0, 0, "a");
        decision(0, 0, participants("a", 10), "a");
        assertTrue(drain().isEmpty());
    }

    @Test
    void updateTrainedOnAnotherModelIsStale() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a", "b");
        ChunkInput in = order(ChunkInput.UPDATE, 0, 0);
        in.clientId = "a";
        in.sampleCount = 10;
        in.baseModelDigest = "0f".repeat(32);
        in.data = Floats.toBytes(DA, 0, DA.length);
        in.digest = Digests.sha256Hex(Floats.toBytes(DA, 0, DA.length));
        in.sourceTopic = T.clientUpdates("a");
        in.sourceOffset = 99;
        feed(in);
        assertRejected(drain(), RejectReason.STALE_UPDATE, in);
        // The stale chunk is not counted: a's real update still makes the chunk.
        update(0, 0, "a", 10, DB);
        decision(0, 0, participants("a", 10), "a");
        assertFinished(drain(), 0, 0, 0, fedAvg(BASE, new float[][] {DB}, new long[] {10}), 1);
    }

    @Test
    void aReplannedRoundAddsItsClients() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a", "b");
        plan(0, 0, "c", "d");
        update(0, 0, "a", 100, DA);
        update(0, 0, "d", 300, DB);
        ChunkInput stranger = update(0, 0, "e", 1, DA);
        assertRejected(drain(), RejectReason.NOT_SELECTED, stranger);
        decision(0, 0, participants("a", 100, "d", 300), "a");
        assertFinished(drain(), 0, 0, 0, fedAvg(BASE, new float[][] {DA, DB}, new long[] {100, 300}), 2);
    }

    @Test
    void heldUpdatesAreBounded() throws Exception {
        for (int i = 0; i < ChunkAggregator.MAX_EARLY; i++) {
            update(0, 0, "c" + i, 1, DA);
        }
        assertTrue(drain().isEmpty());
        ChunkInput tooMany = update(0, 0, "racer", 1, DA);
        assertRejected(drain(), RejectReason.FUTURE_ROUND, tooMany);
    }

    @Test
    void wrongLength() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a", "b");
        ChunkInput shorter = update(0, 0, "b", 100, 1f, 2f, 3f, 4f);
        Rejected r = assertRejected(drain(), RejectReason.WRONG_LENGTH, shorter);
        assertTrue(r.getDetail().contains("5"), r.getDetail());
        update(0, 0, "a", 300, DA);
        ChunkInput longer = update(0, 0, "b", 100, 1f, 2f, 3f, 4f, 5f, 6f);
        assertRejected(drain(), RejectReason.WRONG_LENGTH, longer);
        update(0, 0, "b", 100, DB);
        decision(0, 0, participants("a", 300, "b", 100), "a");
        assertFinished(drain(), 0, 0, 0, fedAvg(BASE, new float[][] {DA, DB}, new long[] {300, 100}), 2);
    }

    /** The plan fixes a chunk's length: a wrong-length update is refused even before the base arrives. */
    @Test
    void wrongLengthBeforeTheBase() throws Exception {
        plan(0, 0, "a", "b");
        ChunkInput shorter = update(0, 0, "b", 100, 1f, 2f, 3f);
        assertRejected(drain(), RejectReason.WRONG_LENGTH, shorter);
        update(0, 0, "a", 300, DA);
        base(0, 0, 0, BASE);
        update(0, 0, "b", 100, DB);
        decision(0, 0, participants("a", 300, "b", 100), "a");
        assertFinished(drain(), 0, 0, 0, fedAvg(BASE, new float[][] {DA, DB}, new long[] {300, 100}), 2);
    }

    @Test
    void decisionBeforeTheUpdatesFinishesOnceAllParticipantsArrived() throws Exception {
        base(3, 2, 10, 1f, 2f, 3f);
        plan(3, 2, 3, "a", "b", "c");
        decision(3, 2, participants("a", 10, "c", 30), "b", "c");
        assertTrue(drain().isEmpty());
        update(3, 2, "c", 30, 0.5f, 0.5f, 0.5f);
        assertTrue(drain().isEmpty(), "a has not arrived yet");
        update(3, 2, "a", 10, -1f, 1f, 2f);
        assertFinished(drain(), 3, 2, 10, fedAvg(new float[] {1f, 2f, 3f},
                new float[][] {{0.5f, 0.5f, 0.5f}, {-1f, 1f, 2f}}, new long[] {30, 10}), 2);
    }

    @Test
    void decisionAndUpdatesBeforeTheBaseFinishWhenTheBaseArrives() throws Exception {
        plan(1, 0, "a");
        update(1, 0, "a", 7, DA);
        decision(1, 0, participants("a", 7), "a");
        assertTrue(drain().isEmpty(), "no base yet");
        base(1, 0, 0, BASE);
        assertFinished(drain(), 1, 0, 0, fedAvg(BASE, new float[][] {DA}, new long[] {7}), 1);
    }

    @Test
    void distributeBeforeTheBaseWaitsForTheBase() throws Exception {
        distribute(0, 1, "a", "b");
        assertTrue(drain().isEmpty());
        assertTrue(drainCopies().isEmpty());
        base(0, 1, 5, BASE);
        assertTrue(drain().isEmpty(), "nothing on the models topic");
        List<Routed> out = drainCopies();
        assertEquals(2, out.size(), "one copy per recipient");
        String digest = Digests.sha256Hex(Floats.toBytes(BASE, 0, BASE.length));
        for (String client : List.of("a", "b")) {
            List<Routed> copy = on(out, T.clientModel(client));
            assertEquals(1, copy.size());
            ModelChunk mc = modelChunk(copy.get(0));
            assertEquals(0, mc.getVersion());
            assertEquals(1, mc.getChunkIndex());
            assertEquals(5, mc.getOffset());
            assertEquals(TOTAL, mc.getTotalFloats());
            assertArrayEquals(BASE, Floats.fromBytes(mc.getData()));
            assertEquals(digest, mc.getChunkDigest());
        }
        // A replayed base is not sent again.
        base(0, 1, 5, BASE);
        assertTrue(drain().isEmpty());
        assertTrue(drainCopies().isEmpty());
    }

    @Test
    void distributeAfterTheBaseSendsAtOnce() throws Exception {
        base(0, 0, 0, BASE);
        assertTrue(drain().isEmpty());
        distribute(0, 0, "c");
        assertTrue(drain().isEmpty());
        List<Routed> out = drainCopies();
        assertEquals(1, out.size());
        assertEquals(T.clientModel("c"), out.get(0).topic);
        assertArrayEquals(BASE, Floats.fromBytes(modelChunk(out.get(0)).getData()));
    }

    @Test
    void theNextRoundOfAChunkStartsFromZeroOnTheArraysTheLastOneReleased() throws Exception {
        baseAndUpdatesOfAAndB(0);
        decision(0, 1, participants("a", 300, "b", 100), "a");
        float[] next = Floats.fromBytes(modelChunk(on(drain(), T.models()).get(0)).getData());
        // Round 1 of the same chunk takes the base and sum arrays round 0 gave back: none of round 0's sum may
        // remain in them.
        base(1, 1, 5, next);
        plan(1, 1, "b");
        update(1, 1, "b", 7, DA);
        decision(1, 1, participants("b", 7), "b");
        assertFinished(drain(), 1, 1, 5, fedAvg(next, new float[][] {DA}, new long[] {7}), 1);
    }

    @Test
    void finishedChunkFreesItsArrays() throws Exception {
        base(0, 0, 0, BASE);
        plan(0, 0, "a");
        update(0, 0, "a", 10, DA);
        decision(0, 0, participants("a", 10), "a");
        drain();
        harness.getOperator().setCurrentKey(ChunkInput.key(0, 0));
        ValueStateDescriptor<ChunkState> d = new ValueStateDescriptor<>("chunk", TypeInformation.of(ChunkState.class));
        d.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofHours(1))
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired).build());
        ChunkState s = harness.getOperator().getKeyedStateBackend()
                .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, d).value();
        assertTrue(s.done);
        assertNull(s.base, "the base chunk is freed once the chunk is done");
        assertNull(s.sum, "the running sum is freed once the chunk is done");
        assertEquals(0, s.early.length);
    }
}

package io.fedstream.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.aggregate.ChunkInput;
import io.fedstream.aggregate.LocalHandoff;
import io.fedstream.avro.CheckIn;
import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.chunk.ModelChunker;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.round.RoundEvent;
import io.fedstream.wire.Routed;
import io.fedstream.wire.WireRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.JobID;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The router in Flink's ProcessFunction test harness: decoding, stateless checks and routing. */
class RouterTest {
    private static final String FED = "fed1";
    private static final Topics T = new Topics(FED);
    private static final String FP = ModelSpec.flat("w", 6).fingerprint();
    private static final String BASE_DIGEST = "ab".repeat(32);

    private OneInputStreamOperatorTestHarness<WireRecord, RoundEvent> harness;
    private long offset = 100;

    @BeforeEach
    void open() throws Exception {
        harness = ProcessFunctionTestHarnesses.forProcessFunction(new Router(FED));
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    /** A fresh router and empty outputs, for the next case of a test. */
    private void reset() throws Exception {
        harness.close();
        open();
    }

    // ------------------------------------------------------------------ helpers

    private WireRecord feed(String topic, int partition, byte[] value) throws Exception {
        WireRecord r = new WireRecord(topic, partition, offset++, 1_000L, value);
        harness.processElement(r, 1_000L);
        return r;
    }

    private WireRecord feed(String topic, SpecificRecord record) throws Exception {
        return feed(topic, 0, WireCodec.get().encode(record));
    }

    private <X> List<X> side(OutputTag<X> tag) {
        Queue<StreamRecord<X>> q = harness.getSideOutput(tag);
        List<X> out = new ArrayList<>();
        if (q != null) {
            for (StreamRecord<X> r : q) {
                out.add(r.getValue());
            }
        }
        return out;
    }

    private List<RoundEvent> main() {
        return harness.extractOutputValues();
    }

    private List<Rejected> rejects() throws Exception {
        List<Rejected> out = new ArrayList<>();
        for (Routed r : side(Router.REJECTS)) {
            assertEquals(T.deadLetter(), r.topic);
            out.add(WireCodec.get().decode(r.value, Rejected.class));
        }
        return out;
    }

    /** Exactly one reject, with its dead-letter record and its notice to the coordinator; returns the record. */
    private Rejected singleReject(RejectReason reason, WireRecord source, String clientId, Integer round) throws Exception {
        List<Rejected> rs = rejects();
        assertEquals(1, rs.size(), "rejects: " + rs);
        Rejected r = rs.get(0);
        assertEquals(reason.name(), r.getReason(), r.getDetail());
        assertEquals(FED, r.getFederation());
        assertEquals(source.topic, r.getSourceTopic());
        assertEquals(source.partition, r.getSourcePartition());
        assertEquals(source.offset, r.getSourceOffset());
        assertEquals(clientId, r.getClientId());
        assertEquals(round, r.getRound());
        assertArrayEquals(source.value, Floats.bytesOf(r.getPayload()), "payload must be the original bytes");
        assertTrue(!r.getDetail().isBlank());

        Routed routed = side(Router.REJECTS).get(0);
        assertArrayEquals(clientId == null ? null : clientId.getBytes(StandardCharsets.UTF_8), routed.key);

        List<RoundEvent> notices = main();
        assertEquals(1, notices.size(), "exactly the rejection notice on the main output");
        RoundEvent n = notices.get(0);
        assertEquals("Rejected", n.type);
        assertEquals(reason.name(), n.reason);
        assertEquals(clientId, n.clientId);
        assertEquals(round == null ? -1 : round, n.round);
        assertEquals(source.topic + "/" + source.partition + "@" + source.offset, n.source);
        assertTrue(side(Router.CHUNKS).isEmpty(), "a rejected record must not reach the aggregators");
        return r;
    }

    private static UpdateChunk.Builder update(String client, int round, int chunk, float[] values) {
        byte[] data = Floats.toBytes(values, 0, values.length);
        return UpdateChunk.newBuilder()
                .setFederation(FED).setRound(round).setClientId(client).setChunkIndex(chunk).setChunkCount(3)
                .setOffset(chunk * 4L).setSampleCount(250).setBaseModelDigest(BASE_DIGEST)
                .setData(ByteBuffer.wrap(data)).setChunkDigest(Digests.updateChunkDigest(data));
    }

    private static CheckIn checkIn(String federation, String client) {
        return CheckIn.newBuilder().setFederation(federation).setClientId(client).setTrainSamples(600)
                .setTestSamples(100).setSpecFingerprint(FP).setTimestampMs(5).build();
    }

    // ------------------------------------------------------------------ rejections

    @Test
    void notAvro() throws Exception {
        WireRecord in = feed(T.clientUpdates("alice"), 2, "{\"json\": true}".getBytes(StandardCharsets.UTF_8));
        singleReject(RejectReason.NOT_AVRO, in, "alice", null);
    }

    @Test
    void emptyValueIsNotAvro() throws Exception {
        WireRecord in = feed(T.checkin(), 0, new byte[0]);
        singleReject(RejectReason.NOT_AVRO, in, null, null);
    }

    @Test
    void unknownSchemaFingerprint() throws Exception {
        byte[] value = new byte[20];
        value[0] = (byte) 0xC3;
        value[1] = 0x01;
        ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(0x1234_5678_9abc_def0L);
        WireRecord in = feed(T.checkin(), 1, value);
        singleReject(RejectReason.UNKNOWN_SCHEMA, in, null, null);
    }

    @Test
    void corruptBody() throws Exception {
        byte[] good = WireCodec.get().encode(checkIn(FED, "alice"));
        byte[] bad = new byte[12];
        System.arraycopy(good, 0, bad, 0, 10);
        bad[10] = (byte) 0xff; // a string length prefix far beyond the body
        bad[11] = (byte) 0xff;
        WireRecord in = feed(T.checkin(), 0, bad);
        singleReject(RejectReason.CORRUPT, in, null, null);
    }

    @Test
    void updateChunkOnAnotherClientsTopic() throws Exception {
        WireRecord in = feed(T.clientUpdates("alice"), update("mallory", 3, 1, new float[] {1, 2}).build());
        Rejected r = singleReject(RejectReason.CLIENT_TOPIC_MISMATCH, in, "alice", 3);
        assertTrue(r.getDetail().contains("mallory"), r.getDetail());
    }

    @Test
    void commitOnAnotherClientsTopic() throws Exception {
        UpdateCommit c = UpdateCommit.newBuilder().setFederation(FED).setRound(0).setClientId("bob").setSampleCount(5)
                .setChunkCount(1).setUpdateDigest("x").setBaseModelDigest("y").setSpecFingerprint(FP)
                .setTrainLoss(1).setTrainAccuracy(0.5).setTrainTimeMs(1).setCommittedAtMs(2).build();
        WireRecord in = feed(T.clientUpdates("alice"), c);
        singleReject(RejectReason.CLIENT_TOPIC_MISMATCH, in, "alice", 0);
    }

    @Test
    void updateChunkDigestMismatch() throws Exception {
        WireRecord in = feed(T.clientUpdates("alice"),
                update("alice", 2, 0, new float[] {1, 2, 3}).setChunkDigest(Digests.updateChunkDigest(new byte[] {1})).build());
        singleReject(RejectReason.DIGEST_MISMATCH, in, "alice", 2);
    }

    @Test
    void updateChunkWithTheSha256DigestOfAnOlderClientIsCheckedAsSuch() throws Exception {
        byte[] data = Floats.toBytes(new float[] {1, 2, 3}, 0, 3);
        feed(T.clientUpdates("alice"), update("alice", 2, 0, new float[] {1, 2, 3}).setChunkDigest(Digests.sha256Hex(data)).build());
        assertEquals(1, side(Router.CHUNKS).size(), "a chunk that hashes to its SHA-256 digest is aggregated");
        assertTrue(side(Router.REJECTS).isEmpty());

        reset();
        WireRecord in = feed(T.clientUpdates("alice"),
                update("alice", 2, 1, new float[] {1, 2, 3}).setChunkDigest(Digests.sha256Hex(new byte[] {1})).build());
        singleReject(RejectReason.DIGEST_MISMATCH, in, "alice", 2);
    }

    @Test
    void updateChunkDigestOfAnUnknownFunctionIsAMismatch() throws Exception {
        WireRecord in = feed(T.clientUpdates("alice"),
                update("alice", 2, 0, new float[] {1, 2, 3}).setChunkDigest("md5:0123456789abcdef").build());
        singleReject(RejectReason.DIGEST_MISMATCH, in, "alice", 2);
    }

    @Test
    void modelChunkDigestMismatch() throws Exception {
        ModelChunk mc = new ModelChunker(FED, 4, ModelSpec.flat("w", 6), new float[] {1, 2, 3, 4, 5, 6}, 4).chunk(1);
        mc.setChunkDigest(Digests.sha256Hex(new byte[] {9}));
        WireRecord in = feed(T.models(), mc);
        singleReject(RejectReason.DIGEST_MISMATCH, in, null, 4);
    }

    /**
     * A model chunk that an aggregator in this JVM noted as written is checked by its checksum, and the note is
     * used up; a chunk whose bytes differ from the noted ones is hashed, and rejected.
     */
    @Test
    void aModelChunkNotedAsWrittenHereIsCheckedByTheNote() throws Exception {
        ModelChunk mc = new ModelChunker(FED, 4, ModelSpec.flat("w", 6), new float[] {1, 2, 3, 4, 5, 6}, 4).chunk(1);
        byte[] written = Floats.bytesOf(mc.getData());
        JobID job = noteWritten(mc.getChunkDigest(), written);
        try {
            feed(T.models(), mc);
            assertTrue(rejects().isEmpty());
            assertEquals("ModelChunkStored", main().get(0).type);
            assertFalse(LocalHandoff.readBackMatches(job, 4, 1, mc.getChunkDigest(), ByteBuffer.wrap(written)),
                    "the router used the note");
        } finally {
            LocalHandoff.deregister(job, 0, 0);
        }

        reset();
        ModelChunk tampered = new ModelChunker(FED, 4, ModelSpec.flat("w", 6), new float[] {1, 2, 3, 4, 5, 7}, 4).chunk(1);
        tampered.setChunkDigest(mc.getChunkDigest());
        job = noteWritten(mc.getChunkDigest(), written);
        try {
            WireRecord in = feed(T.models(), tampered);
            singleReject(RejectReason.DIGEST_MISMATCH, in, null, 4);
        } finally {
            LocalHandoff.deregister(job, 0, 0);
        }
    }

    /** Notes chunk 1 of model 4 as written by an aggregator of the harness's job, which registers for it. */
    private JobID noteWritten(String digest, byte[] bytes) {
        JobID job = harness.getEnvironment().getJobID();
        LocalHandoff.register(job, 0, 0, 1, 128);
        LocalHandoff.wrote(job, 4, 1, digest, bytes);
        return job;
    }

    @Test
    void nonFiniteValues() throws Exception {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            reset();
            WireRecord in = feed(T.clientUpdates("alice"), update("alice", 1, 2, new float[] {0.5f, bad, 1f}).build());
            Rejected r = singleReject(RejectReason.NON_FINITE, in, "alice", 1);
            // The detail names the position in the model: chunk offset 8 + index 1.
            assertTrue(r.getDetail().contains("offset 9"), r.getDetail());
        }
    }

    @Test
    void badSampleCounts() throws Exception {
        for (long n : new long[] {0, -1, Router.MAX_SAMPLES + 1, Long.MAX_VALUE}) {
            reset();
            WireRecord in = feed(T.clientUpdates("alice"), update("alice", 5, 0, new float[] {1}).setSampleCount(n).build());
            singleReject(RejectReason.BAD_SAMPLE_COUNT, in, "alice", 5);
        }
        for (long n : new long[] {1, Router.MAX_SAMPLES}) {
            reset();
            feed(T.clientUpdates("alice"), update("alice", 5, 0, new float[] {1}).setSampleCount(n).build());
            assertTrue(rejects().isEmpty(), "sample count " + n + " is valid");
            assertEquals(1, side(Router.CHUNKS).size());
        }
    }

    @Test
    void emptyUpdateChunk() throws Exception {
        WireRecord in = feed(T.clientUpdates("alice"), update("alice", 0, 0, new float[0]).build());
        singleReject(RejectReason.WRONG_LENGTH, in, "alice", 0);
    }

    @Test
    void anotherFederation() throws Exception {
        WireRecord in = feed(T.checkin(), checkIn("fed2", "alice"));
        Rejected r = singleReject(RejectReason.WRONG_FEDERATION, in, null, null);
        assertTrue(r.getDetail().contains("fed2"), r.getDetail());
        // Also on a client's topic: no client record of another federation reaches the aggregators.
        reset();
        UpdateChunk uc = update("alice", 0, 0, new float[] {1}).setFederation("fed2").build();
        in = feed(T.clientUpdates("alice"), uc);
        singleReject(RejectReason.WRONG_FEDERATION, in, null, null);
    }

    @Test
    void recordsOnTheWrongTopic() throws Exception {
        WireRecord in = feed(T.checkin(), update("alice", 0, 0, new float[] {1}).build());
        singleReject(RejectReason.WRONG_TOPIC, in, null, null);

        reset();
        in = feed(T.models(), checkIn(FED, "alice"));
        singleReject(RejectReason.WRONG_TOPIC, in, null, null);

        reset();
        // A ModelChunk has no client id: it never belongs on a client's updates topic.
        ModelChunk mc = new ModelChunker(FED, 0, ModelSpec.flat("w", 6), new float[6], 4).chunk(0);
        in = feed(T.clientUpdates("alice"), mc);
        singleReject(RejectReason.WRONG_TOPIC, in, "alice", null);

        reset();
        // A Heartbeat has a client id but belongs on the check-in topic.
        in = feed(T.clientUpdates("alice"), Heartbeat.newBuilder().setFederation(FED).setClientId("alice")
                .setTimestampMs(1).build());
        singleReject(RejectReason.WRONG_TOPIC, in, "alice", null);

        reset();
        in = feed(new Topics("fed1x").checkin(), 0, WireCodec.get().encode(checkIn(FED, "alice")));
        singleReject(RejectReason.WRONG_TOPIC, in, null, null);
    }

    /**
     * A client id becomes part of topic names; a check-in whose id cannot name a topic must be rejected here,
     * or the coordinator later fails building that client's model topic name (and fails again on every replay).
     */
    @Test
    void checkInWithAnIdThatCannotNameATopic() throws Exception {
        for (String bad : new String[] {"bad.id", "", "a/b", "x".repeat(101)}) {
            reset();
            WireRecord in = feed(T.checkin(), checkIn(FED, bad));
            Rejected r = singleReject(RejectReason.CLIENT_TOPIC_MISMATCH, in, null, null);
            assertTrue(r.getDetail().contains("letters, digits"), r.getDetail());
        }
    }

    // ------------------------------------------------------------------ routing

    @Test
    void goodUpdateChunkGoesToTheAggregatorsKeyedByRoundAndChunk() throws Exception {
        float[] values = {0.25f, -1.5f, 3e-8f, 7f};
        UpdateChunk uc = update("alice", 6, 2, values).build();
        WireRecord in = feed(T.clientUpdates("alice"), 3, WireCodec.get().encode(uc));

        // The coordinator hears of the chunk (to check whole updates against commits), without its data.
        List<RoundEvent> notices = main();
        assertEquals(1, notices.size());
        RoundEvent seen = notices.get(0);
        assertEquals("ChunkSeen", seen.type);
        assertEquals(6, seen.round);
        assertEquals("alice", seen.clientId);
        assertEquals(2, seen.chunk);
        assertEquals(8, seen.offset);
        assertEquals(values.length, seen.length);
        assertEquals(uc.getChunkDigest(), seen.digest);
        assertEquals(250, seen.sampleCount);
        assertEquals(BASE_DIGEST, seen.baseModelDigest);
        assertEquals(in.source(), seen.source);
        assertNull(seen.value, "chunk data must not go to the coordinator");
        assertTrue(rejects().isEmpty());
        List<ChunkInput> chunks = side(Router.CHUNKS);
        assertEquals(1, chunks.size());
        ChunkInput c = chunks.get(0);
        assertEquals(ChunkInput.UPDATE, c.kind);
        assertEquals(6, c.round);
        assertEquals(2, c.chunk);
        assertEquals((6L << 32) | 2L, c.key());
        assertEquals(ChunkInput.key(6, 2), c.key());
        assertEquals(3, c.chunkCount);
        assertEquals(8, c.offset);
        assertEquals("alice", c.clientId);
        assertEquals(250, c.sampleCount);
        assertEquals(BASE_DIGEST, c.baseModelDigest);
        assertArrayEquals(values, c.values());
        // The values stay where the Kafka record holds them, not copied out of it: the chunk carries the record.
        assertArrayEquals(in.value, c.data);
        assertEquals(values.length * Float.BYTES, c.dataLength);
        assertEquals(values.length, c.valueCount());
        assertEquals(uc.getChunkDigest(), c.digest);
        assertEquals(in.topic, c.sourceTopic);
        assertEquals(3, c.sourcePartition);
        assertEquals(in.offset, c.sourceOffset);
    }

    @Test
    void keysOfDifferentRoundsAndChunksDiffer() throws Exception {
        feed(T.clientUpdates("alice"), update("alice", 1, 0, new float[] {1}).build());
        feed(T.clientUpdates("alice"), update("alice", 0, 1, new float[] {1}).build());
        List<ChunkInput> chunks = side(Router.CHUNKS);
        assertEquals(2, chunks.size());
        assertTrue(chunks.get(0).key() != chunks.get(1).key());
    }

    @Test
    void modelChunkBecomesTheBaseOfTheRoundOfItsVersion() throws Exception {
        float[] params = {1, 2, 3, 4, 5, 6};
        ModelChunk mc = new ModelChunker(FED, 3, ModelSpec.flat("w", 6), params, 4).chunk(1);
        WireRecord in = feed(T.models(), mc);
        // The coordinator learns that the chunk is readable on the models topic.
        List<RoundEvent> notices = main();
        assertEquals(1, notices.size());
        assertEquals("ModelChunkStored", notices.get(0).type);
        assertEquals(3, notices.get(0).round);
        assertEquals(1, notices.get(0).chunk);
        assertEquals(mc.getChunkDigest(), notices.get(0).digest);
        assertEquals(in.source(), notices.get(0).source);
        List<ChunkInput> chunks = side(Router.CHUNKS);
        assertEquals(1, chunks.size());
        ChunkInput c = chunks.get(0);
        assertEquals(ChunkInput.BASE, c.kind);
        assertEquals(3, c.round);
        assertEquals(1, c.chunk);
        assertEquals(ChunkInput.key(3, 1), c.key());
        assertEquals(2, c.chunkCount);
        assertEquals(4, c.offset);
        assertEquals(6, c.totalFloats);
        assertEquals(FP, c.specFingerprint);
        assertArrayEquals(new float[] {5, 6}, c.values());
        assertEquals(in.offset, c.sourceOffset);
    }

    @Test
    void protocolRecordsGoToTheCoordinatorUnchanged() throws Exception {
        ModelChunker chunker = new ModelChunker(FED, 0, ModelSpec.flat("w", 6), new float[6], 4);
        chunker.all();
        ModelManifest manifest = chunker.manifest(-1, 7);
        UpdateCommit commit = UpdateCommit.newBuilder().setFederation(FED).setRound(0).setClientId("alice")
                .setSampleCount(5).setChunkCount(2).setUpdateDigest("u").setBaseModelDigest("b").setSpecFingerprint(FP)
                .setTrainLoss(1).setTrainAccuracy(0.5).setTrainTimeMs(1).setCommittedAtMs(2).build();
        EvalReport eval = EvalReport.newBuilder().setFederation(FED).setRound(1).setClientId("alice").setModelVersion(1)
                .setModelDigest("d").setTestSamples(10).setLoss(0.3).setAccuracy(0.9).setEvalTimeMs(3).build();
        ChunkAggregated agg = ChunkAggregated.newBuilder().setFederation(FED).setRound(0).setVersion(1).setChunkIndex(0)
                .setChunkCount(2).setChunkDigest("c").setContributors(2).setFinishedAtMs(9).build();
        List<WireRecord> fed = new ArrayList<>();
        fed.add(feed(T.checkin(), checkIn(FED, "alice")));
        fed.add(feed(T.checkin(), Heartbeat.newBuilder().setFederation(FED).setClientId("alice").setTimestampMs(1).build()));
        fed.add(feed(T.models(), manifest));
        fed.add(feed(T.clientUpdates("alice"), commit));
        fed.add(feed(T.clientUpdates("alice"), eval));
        fed.add(feed(T.control(), agg));
        String[] types = {"CheckIn", "Heartbeat", "ModelManifest", "UpdateCommit", "EvalReport", "ChunkAggregated"};

        List<RoundEvent> events = main();
        assertEquals(types.length, events.size());
        for (int i = 0; i < types.length; i++) {
            RoundEvent e = events.get(i);
            assertEquals(types[i], e.type);
            assertArrayEquals(fed.get(i).value, e.value);
            assertEquals(fed.get(i).source(), e.source);
            assertEquals(-1, e.round);
        }
        assertTrue(rejects().isEmpty());
        assertTrue(side(Router.CHUNKS).isEmpty());
    }

    @Test
    void coordinatorsOwnControlRecordsAreDroppedQuietly() throws Exception {
        RoundDecision d = RoundDecision.newBuilder().setFederation(FED).setRound(0).setBaseModelVersion(0).setChunkCount(1)
                .setParticipants(List.of(new Participant("alice", 5L, 1.0))).setTotalSamples(5)
                .setNextRecipients(List.of("alice")).setReason("ALL_COMMITTED").setDecidedAtMs(1).build();
        feed(T.control(), d);
        assertTrue(main().isEmpty());
        assertTrue(rejects().isEmpty());
        assertTrue(side(Router.CHUNKS).isEmpty());
    }

    @Test
    void oneBadRecordDoesNotDisturbTheNext() throws Exception {
        feed(T.clientUpdates("alice"), 0, new byte[] {1, 2, 3});
        feed(T.clientUpdates("alice"), update("alice", 0, 0, new float[] {1}).build());
        feed(T.checkin(), checkIn(FED, "bob"));
        assertEquals(1, rejects().size());
        assertEquals(1, side(Router.CHUNKS).size());
        List<RoundEvent> events = main();
        assertEquals(List.of("Rejected", "ChunkSeen", "CheckIn"), events.stream().map(e -> e.type).toList());
        assertNull(events.get(2).reason);
        assertNull(events.get(0).value);
    }
}

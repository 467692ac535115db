package io.fedstream.chunk;

import static io.fedstream.chunk.ChunkTestSupport.assertBitExact;
import static io.fedstream.chunk.ChunkTestSupport.shuffled;
import static io.fedstream.chunk.ChunkTestSupport.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.model.TensorSpec;
import io.fedstream.protocol.serde.WireCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Model -> ModelChunk records -> wire bytes -> ModelAssembler, for the sizes where layouts go wrong. */
class ModelChunkRoundTripTest {
    private static final int C = ChunkLayout.DEFAULT_CHUNK_FLOATS;
    private static final int ONE_MIB = 1_048_576;
    private static final WireCodec CODEC = WireCodec.get();

    @ParameterizedTest(name = "{0} floats")
    @ValueSource(ints = {1, 2, C - 1, C, C + 1, 3 * C + 7})
    void roundTripsOddSizesOutOfOrder(int n) throws Exception {
        float[] model = weights(n, n);
        ModelSpec spec = ModelSpec.flat("w", n);
        ModelChunker chunker = new ModelChunker("fed", 3, spec, model, C);
        assertEquals(ChunkLayout.of(n).chunkCount(), chunker.layout().chunkCount());

        float[] back = sendAndAssemble(chunker, shuffled(chunker.layout().chunkCount(), n));
        assertBitExact(model, back);
    }

    @Test
    void fiftyMillionFloatModel() throws Exception {
        // A 200 MB model (a mid-sized transformer): 191 chunks, each through the real wire encoding, offered
        // out of order. Holds the model, the assembler's copy and one chunk at a time (~400 MB of -Xmx3g).
        int n = 50_000_000;
        ModelSpec spec = new ModelSpec(List.of(
                new TensorSpec("embed.weight", new long[] {40_000, 1_000}),
                new TensorSpec("head.weight", new long[] {9_999, 1_000}),
                new TensorSpec("head.bias", new long[] {1_000})));
        assertEquals(n, spec.totalFloats());
        float[] model = weights(n, 50);
        ModelChunker chunker = new ModelChunker("big-fed", 12, spec, model, C);
        assertEquals(191, chunker.layout().chunkCount());

        float[] back = sendAndAssemble(chunker, shuffled(191, 50));
        assertBitExact(model, back);

        // The digest, computed independently of chunker and assembler: fingerprint + per-chunk SHA-256.
        List<String> chunkDigests = new ArrayList<>();
        ChunkLayout layout = ChunkLayout.of(n);
        for (int i = 0; i < layout.chunkCount(); i++) {
            chunkDigests.add(Digests.sha256Hex(Floats.toBytes(model, (int) layout.offset(i), layout.length(i))));
        }
        assertEquals(Digests.composite(spec.fingerprint(), chunkDigests), chunker.digest());

        ModelManifest manifest = chunker.manifest(11, 1L);
        assertEquals(chunker.digest(), manifest.getDigest());
        assertEquals(n, manifest.getTotalFloats());
        assertEquals(191, manifest.getChunkCount());
        assertEquals(C, manifest.getChunkFloats());
        assertEquals(spec, ModelChunker.specOf(manifest));
    }

    /**
     * Encodes every chunk with the wire codec (checking each record stays within 1 MiB), decodes it and
     * offers it to an assembler created from whichever chunk arrives first, as a reader of the models topic would.
     */
    static float[] sendAndAssemble(ModelChunker chunker, List<Integer> order) throws Exception {
        ModelAssembler assembler = null;
        for (int i : order) {
            byte[] wire = CODEC.encode(chunker.chunk(i));
            assertTrue(wire.length <= ONE_MIB, "chunk " + i + " encodes to " + wire.length + " bytes");
            ModelChunk c = CODEC.decode(wire, ModelChunk.class);
            if (assembler == null) {
                assembler = ModelAssembler.forFirst(c);
            }
            assertFalse(assembler.isComplete());
            assertEquals(ChunkVerdict.ACCEPTED, assembler.offer(c), "chunk " + i);
        }
        assertTrue(assembler.isComplete());
        assertEquals(List.of(), assembler.missing());
        assertEquals(chunker.digest(), assembler.digest());
        return assembler.assemble(chunker.digest());
    }

    @Test
    void defaultChunkRecordsFitInOneMebibyteEvenWithLongestIds() {
        // Worst case for the non-payload fields: 100-character ids (the Topics maximum) and multi-byte varints.
        String fed = "f".repeat(100);
        String client = "c".repeat(100);
        int n = 2 * C + 1;
        float[] model = weights(n, 7);
        ModelChunker mc = new ModelChunker(fed, Integer.MAX_VALUE, ModelSpec.flat("w", n), model, C);
        UpdateChunker uc = new UpdateChunker(fed, Integer.MAX_VALUE, client, Long.MAX_VALUE, "d".repeat(64),
                "e".repeat(64), model, C);
        byte[] key = client.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 2; i++) {
            ModelChunk m = mc.chunk(i);
            UpdateChunk u = uc.chunk(i);
            assertEquals(C * Float.BYTES, m.getData().remaining(), "chunk " + i + " is a full default-size chunk");
            for (byte[] wire : List.of(CODEC.encode(m), CODEC.encode(u))) {
                assertTrue(wire.length <= ONE_MIB, "record of " + wire.length + " bytes");
                // What the producer checks against max.request.size (default 1 MiB): the record in its own batch.
                int batch = AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE,
                        CompressionType.NONE, key, wire, new Header[0]);
                assertTrue(batch <= ONE_MIB, "Kafka batch of " + batch + " bytes");
            }
        }
    }

    @Test
    void chunkRecordsCarryTheirLayoutAndModelIdentity() {
        int n = 2_500;
        float[] model = weights(n, 1);
        ModelSpec spec = ModelSpec.flat("w", n);
        ModelChunker chunker = new ModelChunker("fed-a", 9, spec, model, 1_000);
        List<ModelChunk> all = chunker.all();
        assertEquals(3, all.size());
        for (int i = 0; i < 3; i++) {
            ModelChunk c = all.get(i);
            assertEquals("fed-a", c.getFederation());
            assertEquals(9, c.getVersion());
            assertEquals(i, c.getChunkIndex());
            assertEquals(3, c.getChunkCount());
            assertEquals(i * 1_000L, c.getOffset());
            assertEquals(n, c.getTotalFloats());
            assertEquals(spec.fingerprint(), c.getSpecFingerprint());
            assertEquals(Digests.sha256Hex(c.getData()), c.getChunkDigest());
            assertEquals(i < 2 ? 1_000 : 500, c.getData().remaining() / Float.BYTES);
        }
    }

    @Test
    void digestNeedsEveryChunkAndDependsOnSpec() {
        float[] model = weights(2_500, 2);
        ModelChunker a = new ModelChunker("fed", 1, ModelSpec.flat("w", 2_500), model, 1_000);
        a.chunk(0);
        a.chunk(2);
        // A digest over a partial model would let a sender announce something it never sent.
        IllegalStateException e = assertThrows(IllegalStateException.class, a::digest);
        assertTrue(e.getMessage().contains("chunk 1"), e.getMessage());
        a.chunk(1);

        // Same floats, other tensor names: a different model, so a different digest.
        ModelChunker b = new ModelChunker("fed", 1, ModelSpec.flat("v", 2_500), model, 1_000);
        b.all();
        assertNotEquals(a.digest(), b.digest());
    }

    @Test
    void rejectsAModelThatDoesNotMatchItsSpec() {
        assertThrows(IllegalArgumentException.class,
                () -> new ModelChunker("fed", 1, ModelSpec.flat("w", 10), new float[9], 1_000));
    }
}

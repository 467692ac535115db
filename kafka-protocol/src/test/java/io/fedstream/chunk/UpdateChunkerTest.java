package io.fedstream.chunk;

import static io.fedstream.chunk.ChunkTestSupport.assertBitExact;
import static io.fedstream.chunk.ChunkTestSupport.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.UpdateChunk;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class UpdateChunkerTest {
    private static final String FP = ModelSpec.flat("w", 3_500).fingerprint();
    private static final String BASE = "b".repeat(64);

    @ParameterizedTest(name = "{0} floats in chunks of {1}")
    @CsvSource({"1, 1000", "1000, 1000", "1001, 1000", "3500, 1000", "3500, 261888", "524000, 261888"})
    void digestIsCompositeOfChunkDigestsAndDataIsTheDelta(int n, int chunkFloats) throws Exception {
        float[] delta = weights(n, n + chunkFloats);
        UpdateChunker chunker = new UpdateChunker("fed", 4, "alice", 1_200, BASE, FP, delta, chunkFloats);
        int count = chunker.layout().chunkCount();
        assertEquals((n + chunkFloats - 1) / chunkFloats, count);

        float[] rebuilt = new float[n];
        List<String> chunkDigests = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            // Through the wire codec, as the job sees it.
            UpdateChunk c = WireCodec.get().decode(WireCodec.get().encode(chunker.chunk(i)), UpdateChunk.class);
            assertEquals("fed", c.getFederation());
            assertEquals(4, c.getRound());
            assertEquals("alice", c.getClientId());
            assertEquals(i, c.getChunkIndex());
            assertEquals(count, c.getChunkCount());
            assertEquals((long) i * chunkFloats, c.getOffset());
            assertEquals(1_200, c.getSampleCount());
            assertEquals(BASE, c.getBaseModelDigest());
            assertEquals(Digests.updateChunkDigest(c.getData()), c.getChunkDigest(), "chunk digest covers the chunk bytes");
            assertTrue(Digests.matchesUpdateChunk(c.getData(), c.getChunkDigest()));
            chunkDigests.add(c.getChunkDigest());

            float[] part = Floats.fromBytes(c.getData());
            assertEquals(chunker.layout().length(i), part.length);
            System.arraycopy(part, 0, rebuilt, (int) c.getOffset(), part.length);
        }
        assertBitExact(delta, rebuilt);
        assertEquals(Digests.composite(FP, chunkDigests), chunker.digest());
    }

    @Test
    void updateDigestMatchesWhatAnAssemblerComputes() throws Exception {
        // The job checks an UpdateCommit's digest by reassembling the chunks; both sides must agree.
        float[] delta = weights(3_500, 9);
        UpdateChunker chunker = new UpdateChunker("fed", 1, "bob", 10, BASE, FP, delta, 1_000);
        ModelAssembler a = ModelAssembler.forUpdate(1, FP, 3_500, chunker.layout().chunkCount());
        for (int i = chunker.layout().chunkCount() - 1; i >= 0; i--) {
            UpdateChunk c = chunker.chunk(i);
            assertEquals(ChunkVerdict.ACCEPTED,
                    a.offer(c.getChunkIndex(), c.getChunkCount(), c.getOffset(), 3_500, c.getData(), c.getChunkDigest()));
        }
        assertEquals(chunker.digest(), a.digest());
        assertBitExact(delta, a.assemble(chunker.digest()));
    }

    @Test
    void aModelAssemblerTakesOnlySha256ChunksAndAnUpdateAssemblerNoWrongChecksum() {
        float[] delta = weights(1_500, 4);
        UpdateChunker chunker = new UpdateChunker("fed", 1, "bob", 10, BASE, FP, delta, 1_000);
        UpdateChunk c = chunker.chunk(0);
        ModelAssembler model = new ModelAssembler(1, FP, 1_500, 2);
        assertEquals(ChunkVerdict.WRONG_DIGEST,
                model.offer(0, 2, 0, 1_500, c.getData(), c.getChunkDigest()), "a model's chunks are checked by SHA-256");
        ModelAssembler update = ModelAssembler.forUpdate(1, FP, 1_500, 2);
        assertEquals(ChunkVerdict.WRONG_DIGEST,
                update.offer(0, 2, 0, 1_500, c.getData(), chunker.chunk(1).getChunkDigest()));
        assertEquals(ChunkVerdict.ACCEPTED, update.offer(0, 2, 0, 1_500, c.getData(), c.getChunkDigest()));
    }

    @Test
    void digestDependsOnEveryFloatAndOnTheSpec() {
        float[] delta = weights(2_000, 5);
        String d1 = digestOf(delta, FP);
        float[] changed = delta.clone();
        changed[1_999] = Math.nextUp(changed[1_999]);
        assertNotEquals(d1, digestOf(changed, FP));
        assertNotEquals(d1, digestOf(delta, ModelSpec.flat("v", 2_000).fingerprint()));
        assertEquals(d1, digestOf(delta.clone(), FP), "digest is a function of content only");
    }

    @Test
    void digestRequiresEveryChunk() {
        UpdateChunker chunker = new UpdateChunker("fed", 1, "bob", 10, BASE, FP, new float[2_001], 1_000);
        chunker.chunk(0);
        chunker.chunk(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, chunker::digest);
        assertTrue(e.getMessage().contains("chunk 2"), e.getMessage());
    }

    private static String digestOf(float[] delta, String fp) {
        UpdateChunker c = new UpdateChunker("fed", 1, "c", 1, BASE, fp, delta, 1_000);
        for (int i = 0; i < c.layout().chunkCount(); i++) {
            c.chunk(i);
        }
        return c.digest();
    }
}

package io.fedstream.chunk;

import static io.fedstream.chunk.ChunkTestSupport.assertBitExact;
import static io.fedstream.chunk.ChunkTestSupport.shuffled;
import static io.fedstream.chunk.ChunkTestSupport.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ModelChunk;
import io.fedstream.protocol.model.ModelSpec;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the assembler makes of bad input. The model is 350 floats in chunks of 100: three full chunks and a
 * 50-float tail, small enough to forge chunks by hand.
 */
class ModelAssemblerTest {
    private static final int N = 350;
    private static final int CF = 100;
    private static final int VERSION = 7;
    private static final ModelSpec SPEC = ModelSpec.flat("w", N);

    private float[] model;
    private ModelChunker chunker;
    private List<ModelChunk> chunks;
    private String digest;

    @BeforeEach
    void cut() {
        model = weights(N, 350);
        chunker = new ModelChunker("fed", VERSION, SPEC, model, CF);
        chunks = chunker.all();
        digest = chunker.digest();
        assertEquals(4, chunks.size());
    }

    private ModelAssembler fresh() {
        return new ModelAssembler(VERSION, SPEC.fingerprint(), N, 4);
    }

    private static byte[] data(ModelChunk c) {
        return Floats.bytesOf(c.getData());
    }

    /** A copy of {@code c} with other floats but an honest digest over them. */
    private static ModelChunk rehashed(ModelChunk c, byte[] data) {
        return ModelChunk.newBuilder(c).setData(ByteBuffer.wrap(data)).setChunkDigest(Digests.sha256Hex(data)).build();
    }

    /** Offers all chunks except those in {@code skip}, in order, expecting each to be accepted. */
    private void offerAllBut(ModelAssembler a, Integer... skip) {
        for (ModelChunk c : chunks) {
            if (!List.of(skip).contains(c.getChunkIndex())) {
                assertEquals(ChunkVerdict.ACCEPTED, a.offer(c), "chunk " + c.getChunkIndex());
            }
        }
    }

    @Test
    void assemblesIntoAGivenArrayOfTheModelsSizeOverwritingWhatItHeld() throws Exception {
        float[] into = weights(N, 99);
        ModelAssembler a = ModelAssembler.forFirst(chunks.get(2), into);
        offerAllBut(a);
        float[] got = a.assemble(digest);
        assertSame(into, got);
        assertBitExact(model, got);
        // An array of another size is not used: the model gets one of its own.
        float[] small = new float[N - 1];
        ModelAssembler b = new ModelAssembler(VERSION, SPEC.fingerprint(), N, 4, small);
        offerAllBut(b);
        assertNotSame(small, b.assemble(digest));
        assertBitExact(model, b.assemble(digest));
    }

    @Test
    void assemblesInOrderReversedAndShuffled() throws Exception {
        for (List<Integer> order : List.of(List.of(0, 1, 2, 3), List.of(3, 2, 1, 0), List.of(2, 0, 3, 1),
                shuffled(4, 11))) {
            // forFirst learns the model from whichever chunk comes first, including the short tail.
            ModelAssembler a = ModelAssembler.forFirst(chunks.get(order.get(0)));
            for (int i : order) {
                assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(i)), "chunk " + i + " of order " + order);
            }
            assertTrue(a.isComplete());
            assertEquals(digest, a.digest());
            assertBitExact(model, a.assemble(digest));
        }
    }

    @Test
    void alteredDataIsWrongDigestAndNotCounted() throws Exception {
        ModelAssembler a = fresh();
        byte[] bad = data(chunks.get(1));
        bad[17] ^= 0x01; // one flipped bit in one float
        ModelChunk tampered = ModelChunk.newBuilder(chunks.get(1)).setData(ByteBuffer.wrap(bad)).build();
        assertEquals(ChunkVerdict.WRONG_DIGEST, a.offer(tampered));
        assertTrue(ChunkVerdict.WRONG_DIGEST.isError());

        // A wrong digest with the right bytes is just as wrong.
        ModelChunk badDigest = ModelChunk.newBuilder(chunks.get(2)).setChunkDigest(chunks.get(1).getChunkDigest()).build();
        assertEquals(ChunkVerdict.WRONG_DIGEST, a.offer(badDigest));

        offerAllBut(a, 1, 2);
        assertEquals(List.of(1, 2), a.missing(), "rejected chunks must not fill their slots");
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(1)));
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(2)));
        assertBitExact(model, a.assemble(digest));
    }

    @Test
    void missingChunkIsNamed() {
        ModelAssembler a = fresh();
        offerAllBut(a, 2);
        assertFalse(a.isComplete());
        assertEquals(List.of(2), a.missing());
        ModelIntegrityException e = assertThrows(ModelIntegrityException.class, () -> a.assemble(digest));
        assertTrue(e.getMessage().contains("[2]"), e.getMessage());
        assertThrows(ModelIntegrityException.class, a::digest);
    }

    @Test
    void duplicateIsIgnoredAndNeverCountedTwice() throws Exception {
        ModelAssembler a = fresh();
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(0)));
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(1)));
        // Redelivered after a producer retry or a consumer restart: a distinct but identical record.
        ModelChunk again = ModelChunk.newBuilder(chunks.get(1)).build();
        assertEquals(ChunkVerdict.DUPLICATE, a.offer(again));
        assertFalse(ChunkVerdict.DUPLICATE.isError());
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(2)));
        // Four offers accepted-or-duplicate of a four-chunk model, yet chunk 3 never came.
        assertFalse(a.isComplete(), "a duplicate was counted as a new chunk");
        assertEquals(List.of(3), a.missing());
        assertEquals(ChunkVerdict.DUPLICATE, a.offer(chunks.get(2)));
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(3)));
        assertTrue(a.isComplete());
        // Duplicates after completion change nothing either.
        assertEquals(ChunkVerdict.DUPLICATE, a.offer(chunks.get(0)));
        assertTrue(a.isComplete());
        assertBitExact(model, a.assemble(digest));
    }

    @Test
    void differentChunkAtFilledIndexIsConflictAndDoesNotOverwrite() throws Exception {
        ModelAssembler a = fresh();
        offerAllBut(a);
        byte[] other = data(chunks.get(1));
        other[0] ^= 0x40;
        ModelChunk rival = rehashed(chunks.get(1), other);
        assertEquals(ChunkVerdict.CONFLICT, a.offer(rival));
        assertTrue(ChunkVerdict.CONFLICT.isError());
        assertBitExact(model, a.assemble(digest));
    }

    @Test
    void aWrongFirstChunkIsCaughtByTheModelDigest() {
        // The assembler keeps the first of two conflicting chunks; if that one was the forgery, the model
        // digest (from the manifest) must refuse the result.
        ModelAssembler a = fresh();
        byte[] other = data(chunks.get(3));
        other[4] ^= 0x01;
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(rehashed(chunks.get(3), other)));
        offerAllBut(a, 3);
        assertEquals(ChunkVerdict.CONFLICT, a.offer(chunks.get(3)));
        ModelIntegrityException e = assertThrows(ModelIntegrityException.class, () -> a.assemble(digest));
        assertTrue(e.getMessage().contains(digest), e.getMessage());
    }

    @Test
    void wrongExpectedDigestThrows() throws Exception {
        ModelAssembler a = fresh();
        offerAllBut(a);
        assertThrows(ModelIntegrityException.class, () -> a.assemble("0".repeat(64)));
        // The digest of the same floats under another spec is not this model's digest either.
        ModelChunker otherSpec = new ModelChunker("fed", VERSION, ModelSpec.flat("v", N), model, CF);
        otherSpec.all();
        assertThrows(ModelIntegrityException.class, () -> a.assemble(otherSpec.digest()));
        assertBitExact(model, a.assemble(digest));
    }

    @Test
    void otherVersionOrSpecIsWrongModel() {
        ModelAssembler a = fresh();
        assertEquals(ChunkVerdict.WRONG_MODEL,
                a.offer(ModelChunk.newBuilder(chunks.get(0)).setVersion(VERSION + 1).build()));
        assertEquals(ChunkVerdict.WRONG_MODEL,
                a.offer(ModelChunk.newBuilder(chunks.get(0)).setSpecFingerprint(ModelSpec.flat("v", N).fingerprint()).build()));
        assertTrue(ChunkVerdict.WRONG_MODEL.isError());
        assertEquals(List.of(0, 1, 2, 3), a.missing());
    }

    /**
     * Chunks that lie about their place in the model; each carries an honest digest of its (wrong) data so
     * only the layout check can catch it. Each case starts from an assembler that already accepted chunk 0,
     * so it knows the chunk size.
     */
    static Stream<Arguments> misshapen() {
        return Stream.<Object[]>of(
                new Object[] {"middle chunk one float short", 1, (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, d.length - 4), null},
                new Object[] {"middle chunk one float long", 1, (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, d.length + 4), null},
                new Object[] {"tail one float short", 3, (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, d.length - 4), null},
                new Object[] {"tail runs past the end", 3, (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, d.length + 4), null},
                new Object[] {"not a whole number of floats", 2, (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, d.length - 1), null},
                new Object[] {"empty", 2, (UnaryOperator<byte[]>) d -> new byte[0], null},
                new Object[] {"offset off by one", 1, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setOffset(101)},
                new Object[] {"offset of another chunk", 2, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setOffset(100)},
                new Object[] {"negative offset", 1, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setOffset(-100)},
                new Object[] {"chunk count too high", 1, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setChunkCount(5)},
                new Object[] {"chunk count too low", 1, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setChunkCount(3)},
                new Object[] {"other total", 1, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setTotalFloats(N + 1)},
                new Object[] {"index past the end", 3, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setChunkIndex(4)},
                new Object[] {"negative index", 1, null, (UnaryOperator<ModelChunk.Builder>) b -> b.setChunkIndex(-1)},
                new Object[] {"index and offset moved together", 1, null,
                        (UnaryOperator<ModelChunk.Builder>) b -> b.setChunkIndex(2).setOffset(100)})
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("misshapen")
    void misshapenChunkIsWrongShape(String name, int index, UnaryOperator<byte[]> dataChange,
                                    UnaryOperator<ModelChunk.Builder> fieldChange) throws Exception {
        ModelAssembler a = fresh();
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(0)));
        ModelChunk c = chunks.get(index);
        if (dataChange != null) {
            c = rehashed(c, dataChange.apply(data(c)));
        }
        if (fieldChange != null) {
            c = fieldChange.apply(ModelChunk.newBuilder(c)).build();
        }
        assertEquals(ChunkVerdict.WRONG_SHAPE, a.offer(c), name);
        assertTrue(ChunkVerdict.WRONG_SHAPE.isError());
        // The rejected chunk left no trace: the honest chunks still make the exact model.
        offerAllBut(a, 0);
        assertBitExact(model, a.assemble(digest));
    }

    @Test
    void chunkSizeIsLearnedFromTheTailToo() {
        // Only the tail arrived so far (offset 300 at index 3 implies chunks of 100). A middle chunk claiming
        // chunks of 110 (index 1 at offset 110 with 110 floats) contradicts it.
        ModelAssembler a = fresh();
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(chunks.get(3)));
        float[] fake = weights(110, 3);
        byte[] bytes = Floats.toBytes(fake, 0, 110);
        ModelChunk liar = ModelChunk.newBuilder(chunks.get(1)).setOffset(110)
                .setData(ByteBuffer.wrap(bytes)).setChunkDigest(Digests.sha256Hex(bytes)).build();
        assertEquals(ChunkVerdict.WRONG_SHAPE, a.offer(liar));
    }

    @Test
    void singleChunkModel() throws Exception {
        float[] one = {Float.intBitsToFloat(0x7fc0_0001)};
        ModelChunker c = new ModelChunker("fed", 0, ModelSpec.flat("scalar", 1), one, ChunkLayout.DEFAULT_CHUNK_FLOATS);
        ModelChunk only = c.chunk(0);
        ModelAssembler a = ModelAssembler.forFirst(only);
        assertEquals(ChunkVerdict.ACCEPTED, a.offer(only));
        assertEquals(ChunkVerdict.DUPLICATE, a.offer(only));
        assertBitExact(one, a.assemble(c.digest()));
    }

    @Test
    void rejectsImpossibleModels() {
        assertThrows(IllegalArgumentException.class, () -> new ModelAssembler(1, "fp", 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new ModelAssembler(1, "fp", 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new ModelAssembler(1, "fp", 10, 11));
        assertThrows(IllegalArgumentException.class, () -> new ModelAssembler(1, "fp", Integer.MAX_VALUE, 10_000));
    }
}

package io.fedstream.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChunkLayoutTest {
    private static final int C = ChunkLayout.DEFAULT_CHUNK_FLOATS;

    @Test
    void defaultChunkLeavesRoomForRecordFieldsUnderOneMebibyte() {
        // The chunk payload alone must leave at least 1 KiB of a 1 MiB record for the other fields and framing.
        assertTrue((long) C * Float.BYTES <= 1024 * 1024 - 1024, "default chunk payload " + C * Float.BYTES);
        // ... but not waste much either: one more 1 KiB would not fit.
        assertTrue((long) (C + 256) * Float.BYTES > 1024 * 1024 - 1024);
    }

    @Test
    void oneFloat() {
        ChunkLayout l = ChunkLayout.of(1);
        assertEquals(1, l.chunkCount());
        assertEquals(0, l.offset(0));
        assertEquals(1, l.length(0));
        assertEquals(1, l.totalFloats());
        assertEquals(C, l.chunkFloats());
    }

    @Test
    void exactlyOneChunk() {
        ChunkLayout l = ChunkLayout.of(C);
        assertEquals(1, l.chunkCount());
        assertEquals(C, l.length(0));
        assertThrows(IndexOutOfBoundsException.class, () -> l.offset(1));
    }

    @Test
    void oneMoreThanAChunk() {
        ChunkLayout l = ChunkLayout.of(C + 1L);
        assertEquals(2, l.chunkCount());
        assertEquals(0, l.offset(0));
        assertEquals(C, l.length(0));
        assertEquals(C, l.offset(1));
        assertEquals(1, l.length(1));
    }

    @Test
    void fiftyMillionFloats() {
        long total = 50_000_000L;
        ChunkLayout l = ChunkLayout.of(total);
        // 50,000,000 / 261,888 = 190.9..., so 190 full chunks and a 241,280-float tail.
        assertEquals(191, l.chunkCount());
        assertEquals(190L * C, l.offset(190));
        assertEquals((int) (total - 190L * C), l.length(190));
        assertEquals(241_280, l.length(190));
        assertInvariants(l);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 999, 1000, 1001, 261_887, 261_888, 261_889, 523_776, 523_777, 10_000_019})
    void chunksTileTheVectorExactly(long total) {
        assertInvariants(ChunkLayout.of(total));
        assertInvariants(new ChunkLayout(total, 1000));
        assertInvariants(new ChunkLayout(total, 1));
    }

    /** Chunks are contiguous, non-empty, all full but the last, and cover every float exactly once. */
    static void assertInvariants(ChunkLayout l) {
        long next = 0;
        for (int i = 0; i < l.chunkCount(); i++) {
            assertEquals(next, l.offset(i), "offset of chunk " + i);
            int len = l.length(i);
            assertTrue(len >= 1 && len <= l.chunkFloats(), "length of chunk " + i + ": " + len);
            if (i < l.chunkCount() - 1) {
                assertEquals(l.chunkFloats(), len, "only the last chunk may be short");
            }
            next += len;
        }
        assertEquals(l.totalFloats(), next);
        assertThrows(IndexOutOfBoundsException.class, () -> l.length(l.chunkCount()));
        assertThrows(IndexOutOfBoundsException.class, () -> l.offset(-1));
    }

    @Test
    void rejectsImpossibleLayouts() {
        assertThrows(IllegalArgumentException.class, () -> ChunkLayout.of(0));
        assertThrows(IllegalArgumentException.class, () -> ChunkLayout.of(-5));
        assertThrows(IllegalArgumentException.class, () -> new ChunkLayout(10, 0));
        // Chunks bigger than the default would break the 1 MiB record bound.
        assertThrows(IllegalArgumentException.class, () -> new ChunkLayout(10, C + 1));
        // More chunks than an int can index.
        assertThrows(IllegalArgumentException.class, () -> new ChunkLayout(Integer.MAX_VALUE * 2L + 10, 1));
    }

    @Test
    void layoutsBeyondArraySizeStillComputeWithoutOverflow() {
        // Offsets are longs: a 3-billion-float layout (bigger than any Java array) must not wrap around.
        ChunkLayout l = ChunkLayout.of(3_000_000_000L);
        int last = l.chunkCount() - 1;
        assertEquals((long) last * C, l.offset(last));
        assertEquals(3_000_000_000L, l.offset(last) + l.length(last));
    }
}

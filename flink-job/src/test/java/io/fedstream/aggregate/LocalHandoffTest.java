package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.chunk.Digests;
import java.nio.ByteBuffer;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LocalHandoffTest {
    private static final int PARALLELISM = 2;
    private static final int MAX_PARALLELISM = 128;
    private final JobID job = new JobID();

    @AfterEach
    void closeSubtasks() {
        LocalHandoff.deregister(job, 0, 0);
        LocalHandoff.deregister(job, 1, 0);
        LocalHandoff.deregister(job, 1, 1);
    }

    /** A (round, chunk) key that Flink's keyBy sends to {@code subtask}. */
    private static long keyOf(int subtask) {
        for (int chunk = 0; ; chunk++) {
            long key = ChunkInput.key(3, chunk);
            if (KeyGroupRangeAssignment.assignKeyToParallelOperator(key, MAX_PARALLELISM, PARALLELISM) == subtask) {
                return key;
            }
        }
    }

    @Test
    void bytesForALocalAggregatorAreParkedAndTakenOnce() {
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        byte[] bytes = new byte[1000];
        long id = LocalHandoff.park(job, keyOf(0), bytes);
        assertNotEquals(0, id);
        assertEquals(1000, LocalHandoff.parkedBytes(job));
        assertSame(bytes, LocalHandoff.take(job, id));
        assertNull(LocalHandoff.take(job, id));
        assertEquals(0, LocalHandoff.parkedBytes(job));
    }

    @Test
    void bytesForAnAggregatorElsewhereTravelThroughTheExchange() {
        // No aggregator of the job here at all, then only subtask 0: a key of subtask 1 is not parked.
        assertEquals(0, LocalHandoff.park(job, keyOf(1), new byte[10]));
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        assertEquals(0, LocalHandoff.park(job, keyOf(1), new byte[10]));
        // Another job's aggregators do not take this job's chunks.
        assertEquals(0, LocalHandoff.park(new JobID(), keyOf(0), new byte[10]));
        assertEquals(0, LocalHandoff.parkedBytes(job));
    }

    @Test
    void theBudgetBoundsWhatWaits() {
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        long half = LocalHandoff.BUDGET_BYTES / 2;
        long first = LocalHandoff.park(job, keyOf(0), new byte[(int) half]);
        long second = LocalHandoff.park(job, keyOf(0), new byte[(int) (LocalHandoff.BUDGET_BYTES - half)]);
        assertNotEquals(0, first);
        assertNotEquals(0, second);
        assertEquals(0, LocalHandoff.park(job, keyOf(0), new byte[1]));
        assertEquals(LocalHandoff.BUDGET_BYTES, LocalHandoff.parkedBytes(job));
        LocalHandoff.take(job, first);
        assertNotEquals(0, LocalHandoff.park(job, keyOf(0), new byte[1]));
    }

    @Test
    void aRestartedSubtaskDropsWhatItsEarlierAttemptLeft() {
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        LocalHandoff.register(job, 1, 0, PARALLELISM, MAX_PARALLELISM);
        long forZero = LocalHandoff.park(job, keyOf(0), new byte[10]);
        long forOne = LocalHandoff.park(job, keyOf(1), new byte[20]);
        LocalHandoff.register(job, 1, 1, PARALLELISM, MAX_PARALLELISM);
        assertNull(LocalHandoff.take(job, forOne));
        assertEquals(10, LocalHandoff.parkedBytes(job));
        // The earlier attempt closing late does not take the new one's place.
        LocalHandoff.deregister(job, 1, 0);
        assertNotEquals(0, LocalHandoff.park(job, keyOf(1), new byte[5]));
        assertEquals(10, LocalHandoff.take(job, forZero).length);
    }

    @Test
    void theLastSubtaskToCloseTakesTheParkedBytesWithIt() {
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        long id = LocalHandoff.park(job, keyOf(0), new byte[10]);
        LocalHandoff.deregister(job, 0, 0);
        assertEquals(0, LocalHandoff.parkedBytes(job));
        assertNull(LocalHandoff.take(job, id));
        assertEquals(0, LocalHandoff.park(job, keyOf(0), new byte[10]));
    }

    private static byte[] modelBytes(int seed) {
        byte[] b = new byte[4096];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aWrittenChunkReadBackWithTheSameBytesMatchesOnce() {
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        byte[] bytes = modelBytes(1);
        String digest = Digests.sha256Hex(bytes);
        LocalHandoff.wrote(job, 4, 7, digest, bytes);
        // Read back as a slice of a larger record, as the router sees it.
        byte[] record = new byte[bytes.length + 100];
        System.arraycopy(bytes, 0, record, 60, bytes.length);
        assertTrue(LocalHandoff.readBackMatches(job, 4, 7, digest, ByteBuffer.wrap(record, 60, bytes.length).slice()));
        // The note is used once: the same chunk read again is hashed.
        assertFalse(LocalHandoff.readBackMatches(job, 4, 7, digest, ByteBuffer.wrap(bytes)));
    }

    @Test
    void otherBytesAnotherDigestOrAnotherChunkDoNotMatch() {
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        byte[] bytes = modelBytes(2);
        String digest = Digests.sha256Hex(bytes);
        byte[] flipped = bytes.clone();
        flipped[100] ^= 1;
        LocalHandoff.wrote(job, 4, 7, digest, bytes);
        assertFalse(LocalHandoff.readBackMatches(job, 4, 7, digest, ByteBuffer.wrap(flipped)));
        LocalHandoff.wrote(job, 4, 7, digest, bytes);
        assertFalse(LocalHandoff.readBackMatches(job, 4, 7, Digests.sha256Hex(flipped), ByteBuffer.wrap(bytes)));
        LocalHandoff.wrote(job, 4, 7, digest, bytes);
        assertFalse(LocalHandoff.readBackMatches(job, 4, 8, digest, ByteBuffer.wrap(bytes)));
        assertFalse(LocalHandoff.readBackMatches(job, 5, 7, digest, ByteBuffer.wrap(bytes)));
        assertFalse(LocalHandoff.readBackMatches(new JobID(), 4, 7, digest, ByteBuffer.wrap(bytes)));
        assertTrue(LocalHandoff.readBackMatches(job, 4, 7, digest, ByteBuffer.wrap(bytes)));
    }

    @Test
    void notesOfOlderModelsAreDroppedAndNothingIsNotedWithoutAnAggregatorHere() {
        byte[] bytes = modelBytes(3);
        String digest = Digests.sha256Hex(bytes);
        LocalHandoff.wrote(job, 1, 0, digest, bytes);
        LocalHandoff.register(job, 0, 0, PARALLELISM, MAX_PARALLELISM);
        assertFalse(LocalHandoff.readBackMatches(job, 1, 0, digest, ByteBuffer.wrap(bytes)));
        LocalHandoff.wrote(job, 1, 0, digest, bytes);
        LocalHandoff.wrote(job, 2, 0, digest, bytes);
        LocalHandoff.wrote(job, 3, 0, digest, bytes);
        // Version 3 keeps the notes of 2 and drops those of 1, which were never read back here.
        assertFalse(LocalHandoff.readBackMatches(job, 1, 0, digest, ByteBuffer.wrap(bytes)));
        assertTrue(LocalHandoff.readBackMatches(job, 2, 0, digest, ByteBuffer.wrap(bytes)));
        assertTrue(LocalHandoff.readBackMatches(job, 3, 0, digest, ByteBuffer.wrap(bytes)));
    }
}

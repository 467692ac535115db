package io.fedstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The job heap {@code fedstream bench --job-heap auto} chooses, in MB. */
class JobHeapTest {
    private static final long GIB = 1024L * 1024 * 1024;

    @Test
    void endToEndGetsFourTimesTheStateAsRoomForTheCollector() {
        // 25M parameters: 500 MB of state; 1 GB plus 80 bytes a parameter.
        assertEquals(1024 + 1907, Bench.autoJobHeapMb(25_000_000, true, 24 * GIB));
        assertEquals(1024 + 1907, Bench.autoJobHeapMb(25_000_000, true, 0), "no cap where the machine's memory is unknown");
    }

    @Test
    void theRoomStopsAtThreeGigabytes() {
        assertEquals(3072, Bench.autoJobHeapMb(50_000_000, true, 24 * GIB));
    }

    @Test
    void theOtherSectionsGetWhatTheJobNeeds() {
        assertEquals(640 + 858, Bench.autoJobHeapMb(25_000_000, false, 24 * GIB));
        assertEquals(1024, Bench.autoJobHeapMb(101_770, false, 24 * GIB));
    }

    @Test
    void neverLessThanTheJobNeeds() {
        // 100M parameters need 4 GB for their 2 GB of state and the records in flight: more than the room's cap,
        // and more than a third of a 6 GB machine.
        assertEquals(640 + 3433, Bench.autoJobHeapMb(100_000_000, true, 24 * GIB));
        assertEquals(640 + 3433, Bench.autoJobHeapMb(100_000_000, true, 6 * GIB));
        // A third of a 6 GB machine (2 GB) caps the room of a model that needs less.
        assertEquals(2048, Bench.autoJobHeapMb(25_000_000, true, 6 * GIB));
    }
}

package io.fedstream.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;

class NetworkBuffersTest {
    private static final long MIB = 1024 * 1024;

    @Test
    void upToParallelismEightTheClusterGetsBuffersOfTwoMiBThatAWireRecordFitsIn() {
        for (int p = 1; p <= 8; p++) {
            Configuration conf = NetworkBuffers.forJob(p, false);
            assertEquals(2 * MIB, conf.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE).getBytes());
            long buffers = 64 + 32L * p;
            assertEquals(buffers * 2 * MIB, conf.get(TaskManagerOptions.NETWORK_MEMORY_MIN).getBytes(), "parallelism " + p);
            assertEquals(buffers * 2 * MIB, conf.get(TaskManagerOptions.NETWORK_MEMORY_MAX).getBytes(), "parallelism " + p);
            assertEquals(buffers + " x 2048 KiB", NetworkBuffers.describe(conf));
        }
        // A record of the wire's largest size and the job's envelope fits in one buffer.
        assertTrue(NetworkBuffers.SEGMENT_SIZE.getBytes() > MIB + 64 * 1024);
    }

    @Test
    void aboveParallelismEightFlinkDefaultsStay() {
        Configuration conf = NetworkBuffers.forJob(9, false);
        assertFalse(conf.contains(TaskManagerOptions.MEMORY_SEGMENT_SIZE));
        assertFalse(conf.contains(TaskManagerOptions.NETWORK_MEMORY_MAX));
        assertEquals("Flink's default network memory in buffers of 32 KiB", NetworkBuffers.describe(conf));
    }

    @Test
    void flinkDefaultsOnRequestKeepThe32KiBSegments() {
        Configuration conf = NetworkBuffers.forJob(2, true);
        assertEquals(32 * 1024, conf.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE).getBytes());
        assertFalse(conf.contains(TaskManagerOptions.NETWORK_MEMORY_MIN));
        assertEquals("Flink's default network memory in buffers of 32 KiB", NetworkBuffers.describe(conf));
    }

    @Test
    void settingsTheCallerGaveAreNeverOverridden() {
        Configuration segment = new Configuration();
        segment.set(TaskManagerOptions.MEMORY_SEGMENT_SIZE, MemorySize.parse("64kb"));
        NetworkBuffers.applyTo(segment, 2);
        assertEquals(64 * 1024, segment.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE).getBytes());
        assertFalse(segment.contains(TaskManagerOptions.NETWORK_MEMORY_MAX));

        Configuration memory = new Configuration();
        memory.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("96mb"));
        NetworkBuffers.applyTo(memory, 2);
        assertFalse(memory.contains(TaskManagerOptions.MEMORY_SEGMENT_SIZE));
        assertEquals(96 * MIB, memory.get(TaskManagerOptions.NETWORK_MEMORY_MAX).getBytes());
    }
}

package io.fedstream.launch;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;

/**
 * The Flink network buffers of the embedded MiniCluster. Every update and model chunk crosses a keyBy exchange as
 * a record of about 1 MiB. In Flink's default 32 KiB buffers such a record is cut into some 32 pieces that the
 * receiving side puts back together; in buffers of 2 MiB it mostly travels whole. In the end-to-end benchmark
 * (8 clients x 100 MB, parallelism 2) the job moved 14-21% more per round than with 32 KiB buffers, in runs
 * interleaved in one hour; buffers of 256 KiB gained nothing, 1, 2 and 4 MiB about the same
 * (docs/performance.md, section 2).
 *
 * <p>Bigger buffers need more network memory for the same number of buffers, and Flink needs a number of them
 * that grows with the parallelism (a job of parallelism 2 did not start with 32, one of parallelism 8 not with
 * 128). Up to {@link #MAX_PARALLELISM} the cluster gets {@link #buffers} buffers of {@link #SEGMENT_SIZE}; beyond
 * it, where that would be more than 700 MB of network memory, Flink's defaults. Settings the caller gave are never
 * overridden.
 */
public final class NetworkBuffers {
    private NetworkBuffers() {}

    /** Larger than any wire record (at most 1 MiB, the broker's default message.max.bytes) with its envelope. */
    public static final MemorySize SEGMENT_SIZE = MemorySize.ofMebiBytes(2);
    /** The largest parallelism given buffers of {@link #SEGMENT_SIZE}. */
    public static final int MAX_PARALLELISM = 8;

    /** Buffers for a job of this parallelism: verified to start and run at parallelism 1, 2, 4 and 8. */
    public static int buffers(int parallelism) {
        return 64 + 32 * parallelism;
    }

    /** Whether {@link #applyTo} gives a job of this parallelism large buffers. */
    public static boolean large(int parallelism) {
        return parallelism >= 1 && parallelism <= MAX_PARALLELISM;
    }

    /** The network memory that {@link #applyTo} sets for this parallelism. */
    public static MemorySize memory(int parallelism) {
        return SEGMENT_SIZE.multiply(buffers(parallelism));
    }

    /**
     * Sets the segment size and the network memory for a job of {@code parallelism}, unless {@code conf} sets
     * any of them already or the parallelism is above {@link #MAX_PARALLELISM}.
     */
    public static void applyTo(Configuration conf, int parallelism) {
        if (!large(parallelism) || conf.contains(TaskManagerOptions.MEMORY_SEGMENT_SIZE)
                || conf.contains(TaskManagerOptions.NETWORK_MEMORY_MIN) || conf.contains(TaskManagerOptions.NETWORK_MEMORY_MAX)
                || conf.contains(TaskManagerOptions.NETWORK_MEMORY_FRACTION)) {
            return;
        }
        conf.set(TaskManagerOptions.MEMORY_SEGMENT_SIZE, SEGMENT_SIZE);
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, memory(parallelism));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, memory(parallelism));
    }

    /**
     * A configuration that keeps Flink's default network buffers (32 KiB each, 64 MB in a MiniCluster): it sets the
     * default segment size explicitly, so that {@link #applyTo} leaves it alone. For measuring what the larger
     * buffers change.
     */
    public static Configuration flinkDefaults() {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.MEMORY_SEGMENT_SIZE, TaskManagerOptions.MEMORY_SEGMENT_SIZE.defaultValue());
        return conf;
    }

    /** What {@link LocalJob} gives a job of this parallelism, or with {@code flinkDefaults} Flink's defaults. */
    public static Configuration forJob(int parallelism, boolean flinkDefaults) {
        Configuration conf = flinkDefaults ? flinkDefaults() : new Configuration();
        applyTo(conf, parallelism);
        return conf;
    }

    /**
     * The buffers of a MiniCluster with this configuration, for a report: "128 x 2048 KiB", or Flink's default
     * network memory in buffers of the configured size.
     */
    public static String describe(Configuration conf) {
        MemorySize segment = conf.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE);
        String size = segment.getKibiBytes() + " KiB";
        if (!conf.contains(TaskManagerOptions.NETWORK_MEMORY_MAX)) {
            return "Flink's default network memory in buffers of " + size;
        }
        return conf.get(TaskManagerOptions.NETWORK_MEMORY_MAX).getBytes() / segment.getBytes() + " x " + size;
    }
}

package io.fedstream.chunk;

/**
 * How a flat float vector is cut into chunks. The default keeps every chunk record under 1 MiB including its
 * Avro fields and Kafka record overhead, so brokers need no {@code message.max.bytes} change for any model size.
 */
public final class ChunkLayout {
    /** 1 MiB of payload minus 1 KiB left for the record's other fields and Kafka's framing. */
    public static final int DEFAULT_CHUNK_FLOATS = (1024 * 1024 - 1024) / Float.BYTES;

    private final long totalFloats;
    private final int chunkFloats;
    private final int chunkCount;

    public ChunkLayout(long totalFloats, int chunkFloats) {
        if (totalFloats <= 0) {
            throw new IllegalArgumentException("a model has at least one float, got " + totalFloats);
        }
        if (chunkFloats <= 0 || chunkFloats > DEFAULT_CHUNK_FLOATS) {
            throw new IllegalArgumentException("chunkFloats must be in 1.." + DEFAULT_CHUNK_FLOATS + ", got " + chunkFloats);
        }
        long count = (totalFloats + chunkFloats - 1) / chunkFloats;
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("model of " + totalFloats + " floats needs too many chunks");
        }
        this.totalFloats = totalFloats;
        this.chunkFloats = chunkFloats;
        this.chunkCount = (int) count;
    }

    public static ChunkLayout of(long totalFloats) {
        return new ChunkLayout(totalFloats, DEFAULT_CHUNK_FLOATS);
    }

    public long totalFloats() {
        return totalFloats;
    }

    public int chunkFloats() {
        return chunkFloats;
    }

    public int chunkCount() {
        return chunkCount;
    }

    public long offset(int chunk) {
        checkIndex(chunk);
        return (long) chunk * chunkFloats;
    }

    public int length(int chunk) {
        checkIndex(chunk);
        return (int) Math.min(chunkFloats, totalFloats - offset(chunk));
    }

    private void checkIndex(int chunk) {
        if (chunk < 0 || chunk >= chunkCount) {
            throw new IndexOutOfBoundsException("chunk " + chunk + " of " + chunkCount);
        }
    }
}

package io.fedstream.aggregate;

import io.fedstream.chunk.Floats;
import java.nio.ByteBuffer;

/**
 * Everything a chunk aggregator receives, keyed by (round, chunk): the base model chunk of that round, client
 * update chunks, and the coordinator's plan, decision and distribution orders fanned out to every chunk.
 */
public class ChunkInput {
    public static final int BASE = 0;
    public static final int UPDATE = 1;
    public static final int PLAN = 2;
    public static final int DECISION = 3;
    public static final int DISTRIBUTE = 4;

    public int kind;
    public int round;
    public int chunk;
    public int chunkCount;
    public long offset;
    public long totalFloats;
    /** PLAN: values in this chunk of the model. */
    public int length;
    public String specFingerprint;
    public String clientId;
    public long sampleCount;
    public String baseModelDigest;
    /**
     * UPDATE, BASE: the chunk's float32 values, little-endian, as they came on the wire. Bytes rather than a
     * float[] because Flink copies a byte[] between operators in bulk but writes a float[] one value at a time,
     * and these arrays are about 1 MiB each.
     */
    public byte[] data;
    public String digest;
    /** PLAN: selected clients; DISTRIBUTE: recipients. */
    public String[] clients;
    /** DECISION: the encoded RoundDecision. */
    public byte[] decision;
    /** Where an UPDATE or BASE record came from, for rejection records. */
    public String sourceTopic;
    public int sourcePartition;
    public long sourceOffset;

    public ChunkInput() {}

    /** Number of values in {@link #data}. */
    public int valueCount() {
        return data.length / Float.BYTES;
    }

    /** {@link #data} as floats (a new array). */
    public float[] values() {
        return Floats.fromBytes(ByteBuffer.wrap(data));
    }

    /** {@link #data} as floats, in {@code reuse} if it has the right length, else in a new array. */
    public float[] values(float[] reuse) {
        if (reuse == null || reuse.length != valueCount()) {
            return values();
        }
        Floats.readInto(ByteBuffer.wrap(data), reuse, 0);
        return reuse;
    }

    /** Round in the high 32 bits, chunk in the low: one key per (round, chunk). */
    public static long key(int round, int chunk) {
        return ((long) round << 32) | (chunk & 0xffffffffL);
    }

    public long key() {
        return key(round, chunk);
    }
}

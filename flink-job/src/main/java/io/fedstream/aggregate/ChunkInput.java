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
     * UPDATE, BASE: the chunk's float32 values, little-endian, as they came on the wire: {@code dataLength}
     * bytes from {@code dataOffset}, or all of the array if {@code dataLength} is 0 (see {@link #dataView()}).
     * The router does not copy them out of the Kafka record they came in, so the array is usually that whole
     * record; Flink then moves it between operators as it is, a few hundred bytes more than the values. Bytes
     * rather than a float[] because Flink copies a byte[] between operators in bulk but writes a float[] one
     * value at a time, and these arrays are about 1 MiB each.
     */
    public byte[] data;
    public int dataOffset;
    public int dataLength;
    public String digest;
    /**
     * UPDATE, BASE: non-zero if the router parked the bytes in this JVM for the aggregator ({@link LocalHandoff})
     * and {@link #data} is empty on the way; {@link #dataOffset} and {@link #dataLength} describe the parked array.
     */
    public long handoff;
    /** PLAN: selected clients; DISTRIBUTE: recipients. */
    public String[] clients;
    /** DECISION: the encoded RoundDecision. */
    public byte[] decision;
    /** Where an UPDATE or BASE record came from, for rejection records. */
    public String sourceTopic;
    public int sourcePartition;
    public long sourceOffset;

    public ChunkInput() {}

    /**
     * Points {@link #data} at the bytes of {@code bytes}: its array, not a copy. Empty bytes get an empty array,
     * so that a length of 0 always means the whole array.
     */
    public void wrapData(ByteBuffer bytes) {
        if (!bytes.hasArray() || bytes.remaining() == 0) {
            setData(Floats.bytesOf(bytes));
            return;
        }
        data = bytes.array();
        dataOffset = bytes.arrayOffset() + bytes.position();
        dataLength = bytes.remaining();
    }

    /** {@link #data} is all of {@code bytes}. */
    public void setData(byte[] bytes) {
        data = bytes;
        dataOffset = 0;
        dataLength = bytes.length;
    }

    /**
     * The value bytes. A length of 0 stands for the whole array, as in a record of a savepoint taken before
     * the offset and length existed, when {@link #data} held exactly the values.
     */
    public ByteBuffer dataView() {
        return ByteBuffer.wrap(data, dataOffset, dataBytes()).slice();
    }

    /** Number of bytes of values (see {@link #dataView()} for a length of 0). */
    public int dataBytes() {
        return dataLength == 0 ? data.length : dataLength;
    }

    /** Number of values in {@link #data}. */
    public int valueCount() {
        return dataBytes() / Float.BYTES;
    }

    /** The values as floats (a new array). */
    public float[] values() {
        return Floats.fromBytes(dataView());
    }

    /** The values as floats, in {@code reuse} if it has the right length, else in a new array. */
    public float[] values(float[] reuse) {
        if (reuse == null || reuse.length != valueCount()) {
            return values();
        }
        Floats.readInto(dataView(), reuse, 0);
        return reuse;
    }

    /** Where an UPDATE or BASE record came from, as "topic/partition@offset" ({@link ChunkRefetcher} reads it). */
    public String source() {
        return sourceTopic + "/" + sourcePartition + "@" + sourceOffset;
    }

    /** Round in the high 32 bits, chunk in the low: one key per (round, chunk). */
    public static long key(int round, int chunk) {
        return ((long) round << 32) | (chunk & 0xffffffffL);
    }

    public long key() {
        return key(round, chunk);
    }
}

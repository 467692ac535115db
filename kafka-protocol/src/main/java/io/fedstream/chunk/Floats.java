package io.fedstream.chunk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Little-endian float32 <-> bytes, the wire layout of every model and update chunk. */
public final class Floats {
    private Floats() {}

    public static byte[] toBytes(float[] src, int from, int length) {
        byte[] out = new byte[Math.multiplyExact(length, Float.BYTES)];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(src, from, length);
        return out;
    }

    public static float[] fromBytes(ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() % Float.BYTES != 0) {
            throw new IllegalArgumentException("chunk data of " + b.remaining() + " bytes is not a whole number of floats");
        }
        float[] out = new float[b.remaining() / Float.BYTES];
        b.asFloatBuffer().get(out);
        return out;
    }

    /** Copies the floats of {@code bytes} into {@code dst} starting at {@code dstOffset}. */
    public static void readInto(ByteBuffer bytes, float[] dst, int dstOffset) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().get(dst, dstOffset, b.remaining() / Float.BYTES);
    }

    /**
     * Index of the first value of {@code bytes} (little-endian float32 values, a whole number of them) that is NaN
     * or infinite, or -1 if every value is finite.
     */
    public static int firstNonFinite(ByteBuffer bytes) {
        if (bytes.hasArray()) {
            return firstNonFinite(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining() / Float.BYTES);
        }
        byte[] copy = bytesOf(bytes);
        return firstNonFinite(copy, 0, copy.length / Float.BYTES);
    }

    /**
     * Index of the first of the {@code count} little-endian float32 values from {@code offset} of {@code data} that
     * is NaN or infinite, or -1 if every one is finite. A value is not finite when its 8 exponent bits are all
     * ones: the low 7 bits of its last byte and the top bit of the byte before. The loop reads the array and makes
     * no call per value, so it stays fast when the JIT compiles it into a large caller: a loop over
     * {@code FloatBuffer.get} and {@code Float.isFinite} ran several times slower in the job whenever the caller's
     * inlining budget was spent before those two calls.
     */
    public static int firstNonFinite(byte[] data, int offset, int count) {
        int end = offset + count * Float.BYTES;
        for (int i = offset + 3; i < end; i += Float.BYTES) {
            if ((data[i] & 0x7f) == 0x7f && data[i - 1] < 0) {
                return (i - 3 - offset) / Float.BYTES;
            }
        }
        return -1;
    }

    public static byte[] bytesOf(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}

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

    public static byte[] bytesOf(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}

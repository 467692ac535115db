package io.fedstream.aggregate;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The base and sum arrays of finished chunks, kept for the next round's chunks of the same length. A round's
 * arrays live from its first update to its decision: long enough for the garbage collector to copy them into
 * the old generation, where a new set every round would pile up until a concurrent marking cycle finds it dead.
 * Reused, they stay where they are, and in the steady state a subtask allocates no new state arrays.
 *
 * <p>Holds at most {@code maxBytes}; an array released beyond that is left to the garbage collector. One pool
 * per aggregator subtask, used by its task thread only.
 */
final class ArrayPool {
    private final long maxBytes;
    private long bytes;
    private final Map<Integer, ArrayDeque<double[]>> doubles = new HashMap<>();
    private final Map<Integer, ArrayDeque<float[]>> floats = new HashMap<>();

    ArrayPool(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** A double array of this length, with any content. */
    double[] doubles(int length) {
        double[] a = take(doubles, length, (long) length * Double.BYTES);
        return a == null ? new double[length] : a;
    }

    /** A float array of this length, with any content: the caller overwrites every value. */
    float[] floats(int length) {
        float[] a = take(floats, length, (long) length * Float.BYTES);
        return a == null ? new float[length] : a;
    }

    /** An empty sum of this many coordinates (its first update overwrites whatever the arrays held). */
    WeightedSum sum(int length) {
        return new WeightedSum(doubles(length), doubles(length));
    }

    /** Gives the arrays of a sum back; the caller no longer uses them. */
    void release(WeightedSum sum) {
        if (sum != null) {
            release(sum.hi);
            release(sum.lo);
        }
    }

    void release(double[] a) {
        if (a != null) {
            put(doubles, a.length, a, (long) a.length * Double.BYTES);
        }
    }

    void release(float[] a) {
        if (a != null) {
            put(floats, a.length, a, (long) a.length * Float.BYTES);
        }
    }

    long bytes() {
        return bytes;
    }

    private <T> T take(Map<Integer, ArrayDeque<T>> byLength, int length, long size) {
        ArrayDeque<T> q = byLength.get(length);
        T a = q == null ? null : q.poll();
        if (a != null) {
            bytes -= size;
        }
        return a;
    }

    private <T> void put(Map<Integer, ArrayDeque<T>> byLength, int length, T a, long size) {
        if (bytes + size > maxBytes) {
            return;
        }
        byLength.computeIfAbsent(length, k -> new ArrayDeque<>()).addLast(a);
        bytes += size;
    }
}

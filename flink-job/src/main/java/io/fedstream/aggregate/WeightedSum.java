package io.fedstream.aggregate;

import java.util.Arrays;

/**
 * Streaming sum of weight * delta per coordinate, in compensated (two-double) precision. Each product of a
 * float32 delta and an integer sample count is exact in double; TwoSum keeps the rounding error of every
 * addition, so the finished sum is the same whatever order the clients' updates arrived in (up to a final
 * rounding to float32 that differs only in vanishingly rare ties). Memory is one pair of doubles per
 * coordinate, independent of the number of clients.
 *
 * <p>Speed: {@link #add} runs in blocks of {@value #BLOCK} coordinates. Each block's floats are first widened
 * into a per-thread scratch array of doubles, then the TwoSum pass runs over doubles only, with the same index
 * into every array. That shape is what HotSpot's C2 auto-vectorizes (a float-to-double conversion inside the
 * loop, or arrays indexed with different offsets, keeps the loop scalar on Java 17). The arithmetic per
 * coordinate is exactly the scalar TwoSum's, so results are bit-for-bit those of the plain loop.
 *
 * <p>Sample counts are positive, so a total weight of 0 means that nothing has been added (or that everything
 * added was subtracted again). The arrays' content then does not count: the next {@link #add} writes its
 * products over it, exactly the values that adding them to zeros would give. Reused arrays thus need no
 * zeroing pass of their own.
 */
public class WeightedSum {
    /** Coordinates per block: the block's scratch doubles stay in L1 between the widening and the sum pass. */
    static final int BLOCK = 1024;
    /** Longer vectors than this (never a wire chunk, which is at most 262,144 floats) take the scalar loop. */
    static final int MAX_SCRATCH = 1 << 20;
    private static final ThreadLocal<double[]> SCRATCH = ThreadLocal.withInitial(() -> new double[0]);

    public double[] hi;
    public double[] lo;
    public long totalWeight;

    public WeightedSum() {}

    public WeightedSum(int length) {
        this(new double[length], new double[length]);
    }

    /** An empty sum over the given arrays, which must be of the same length; their content does not matter. */
    public WeightedSum(double[] hi, double[] lo) {
        if (hi.length != lo.length) {
            throw new IllegalArgumentException("hi has " + hi.length + " values, lo " + lo.length);
        }
        this.hi = hi;
        this.lo = lo;
    }

    public int length() {
        return hi.length;
    }

    public void add(float[] delta, long weight) {
        if (delta.length != hi.length) {
            throw new IllegalArgumentException("delta has " + delta.length + " values, the sum " + hi.length);
        }
        if (delta.length > MAX_SCRATCH) {
            if (totalWeight == 0) {
                Arrays.fill(hi, 0.0);
                Arrays.fill(lo, 0.0);
            }
            addScalar(hi, lo, delta, weight);
        } else if (totalWeight == 0) {
            setBlocked(hi, lo, delta, weight, scratch(delta.length));
        } else {
            addBlocked(hi, lo, delta, weight, scratch(delta.length));
        }
        totalWeight += weight;
    }

    private static double[] scratch(int length) {
        double[] t = SCRATCH.get();
        if (t.length < length) {
            t = new double[length];
            SCRATCH.set(t);
        }
        return t;
    }

    /**
     * The vectorizable form. {@code t} is indexed like the other arrays (not from 0 per block): C2 on Java 17
     * only packs memory accesses whose index expressions share the same invariant part.
     */
    static void addBlocked(double[] h, double[] l, float[] d, long weight, double[] t) {
        double w = weight;
        int n = d.length;
        for (int from = 0; from < n; from += BLOCK) {
            int to = Math.min(n, from + BLOCK);
            widen(d, t, from, to);
            for (int i = from; i < to; i++) {
                double x = w * t[i];
                double a = h[i];
                double s = a + x;
                double bv = s - a;
                double err = (a - (s - bv)) + (x - bv);
                h[i] = s;
                l[i] += err;
            }
        }
    }

    /**
     * Writes weight * delta over whatever the arrays held: bit for bit what {@link #addBlocked} gives on zeros.
     * There, 0.0 + x is x with a negative zero made positive, and the rounding error is +0.0. Blocked and
     * indexed as {@link #addBlocked} is, for the same reason.
     */
    static void setBlocked(double[] h, double[] l, float[] d, long weight, double[] t) {
        double w = weight;
        int n = d.length;
        for (int from = 0; from < n; from += BLOCK) {
            int to = Math.min(n, from + BLOCK);
            widen(d, t, from, to);
            for (int i = from; i < to; i++) {
                h[i] = 0.0 + w * t[i];
                l[i] = 0.0;
            }
        }
    }

    /** One block's floats as doubles, at the same indexes in {@code t} (small enough for C2 to inline). */
    private static void widen(float[] d, double[] t, int from, int to) {
        for (int i = from; i < to; i++) {
            t[i] = d[i];
        }
    }

    /** The plain loop: the reference the blocked form must equal bit for bit. */
    static void addScalar(double[] h, double[] l, float[] d, long weight) {
        double w = weight;
        for (int i = 0; i < d.length; i++) {
            double x = w * d[i];
            double a = h[i];
            double s = a + x;
            double bv = s - a;
            double err = (a - (s - bv)) + (x - bv);
            h[i] = s;
            l[i] += err;
        }
    }

    /** The weighted sum at coordinate i, divided by {@code divisor}. */
    public double mean(int i, double divisor) {
        // An empty sum's arrays may hold anything (see the class comment); its value is zero.
        return (totalWeight == 0 ? 0.0 : hi[i] + lo[i]) / divisor;
    }
}

package io.fedstream.aggregate;

/**
 * Streaming sum of weight * delta per coordinate, in compensated (two-double) precision. Each product of a
 * float32 delta and an integer sample count is exact in double; TwoSum keeps the rounding error of every
 * addition, so the finished sum is the same whatever order the clients' updates arrived in (up to a final
 * rounding to float32 that differs only in vanishingly rare ties). Memory is one pair of doubles per
 * coordinate, independent of the number of clients.
 */
public class WeightedSum {
    public double[] hi;
    public double[] lo;
    public long totalWeight;

    public WeightedSum() {}

    public WeightedSum(int length) {
        this.hi = new double[length];
        this.lo = new double[length];
    }

    public int length() {
        return hi.length;
    }

    public void add(float[] delta, long weight) {
        if (delta.length != hi.length) {
            throw new IllegalArgumentException("delta has " + delta.length + " values, the sum " + hi.length);
        }
        double w = weight;
        double[] h = hi;
        double[] l = lo;
        for (int i = 0; i < delta.length; i++) {
            double x = w * delta[i];
            double a = h[i];
            double s = a + x;
            double bv = s - a;
            double err = (a - (s - bv)) + (x - bv);
            h[i] = s;
            l[i] += err;
        }
        totalWeight += weight;
    }

    /** The weighted sum at coordinate i, divided by {@code divisor}. */
    public double mean(int i, double divisor) {
        return (hi[i] + lo[i]) / divisor;
    }
}

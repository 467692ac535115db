package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * FedAvg over the compensated {@link WeightedSum}, checked against an exact BigDecimal reference
 * (base + sum(n_i * delta_i) / sum(n_i), rounded once to float32).
 */
class FedAvgTest {
    private static final int[] LENGTHS = {1, 2, 3, 7, 31, 257, 1001};

    /** One client's update: its delta chunk and its sample count. */
    private record Update(float[] delta, long samples) {}

    // ---------------------------------------------------------------- reference

    /** Exact FedAvg in decimal arithmetic, rounded to float32 once at the end. */
    static float[] reference(float[] base, List<Update> updates) {
        long total = 0;
        for (Update u : updates) {
            total += u.samples;
        }
        BigDecimal divisor = BigDecimal.valueOf(total);
        float[] out = new float[base.length];
        MathContext mc = new MathContext(80);
        for (int i = 0; i < base.length; i++) {
            BigDecimal sum = BigDecimal.ZERO;
            for (Update u : updates) {
                // new BigDecimal(double) is the exact binary value of the float.
                sum = sum.add(new BigDecimal(u.delta[i]).multiply(BigDecimal.valueOf(u.samples)));
            }
            BigDecimal value = new BigDecimal(base[i]).add(sum.divide(divisor, mc));
            out[i] = value.floatValue();
        }
        return out;
    }

    /** Distance in units in the last place between two finite floats (0 for equal values, +0 vs -0 included). */
    static long ulps(float a, float b) {
        return Math.abs(ordered(a) - ordered(b));
    }

    private static long ordered(float f) {
        int bits = Float.floatToIntBits(f);
        return bits >= 0 ? bits : (long) Integer.MIN_VALUE - bits;
    }

    private static float[] fedAvg(float[] base, List<Update> updates) {
        WeightedSum sum = new WeightedSum(base.length);
        long total = 0;
        for (Update u : updates) {
            sum.add(u.delta, u.samples);
            total += u.samples;
        }
        return new FedAvg().apply(base, sum, total);
    }

    private static float[] randomFloats(Random r, int n, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextGaussian() * scale);
        }
        return f;
    }

    private static List<Update> randomUpdates(Random r, int clients, int length) {
        List<Update> updates = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            // Deltas of very different magnitudes, as clients with different learning dynamics send.
            double scale = Math.pow(10, -4 + 4 * r.nextDouble());
            updates.add(new Update(randomFloats(r, length, scale), 1 + r.nextInt(100_000)));
        }
        return updates;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void matchesExactReferenceWithinOneUlp() {
        Random r = new Random(20240611L);
        long coordinates = 0;
        long exact = 0;
        long worst = 0;
        for (int trial = 0; trial < 60; trial++) {
            int length = LENGTHS[trial % LENGTHS.length];
            int clients = 2 + r.nextInt(49); // 2..50
            float[] base = randomFloats(r, length, 1.0);
            List<Update> updates = randomUpdates(r, clients, length);

            float[] got = fedAvg(base, updates);
            float[] want = reference(base, updates);
            assertEquals(length, got.length);
            for (int i = 0; i < length; i++) {
                long d = ulps(got[i], want[i]);
                assertTrue(d <= 1, "trial " + trial + " coordinate " + i + ": got " + got[i] + " want " + want[i]
                        + " (" + d + " ulps, " + clients + " clients, length " + length + ")");
                assertTrue(Math.abs(got[i] - want[i]) <= 1e-6, "abs diff at " + i + ": " + got[i] + " vs " + want[i]);
                worst = Math.max(worst, d);
                exact += d == 0 ? 1 : 0;
                coordinates++;
            }
        }
        // A correctly rounded result is the rule; one ulp only from a rare double rounding.
        assertTrue(exact >= coordinates * 0.999, exact + " of " + coordinates + " coordinates exact, worst " + worst + " ulps");
    }

    @Test
    void extremeSampleCountsAndSingleClient() {
        Random r = new Random(7);
        for (int length : LENGTHS) {
            float[] base = randomFloats(r, length, 1.0);
            // One client: the new model is exactly base + delta (rounded once).
            Update only = new Update(randomFloats(r, length, 0.01), 100_000);
            float[] got = fedAvg(base, List.of(only));
            float[] want = reference(base, List.of(only));
            for (int i = 0; i < length; i++) {
                assertTrue(ulps(got[i], want[i]) <= 1, got[i] + " vs " + want[i]);
            }
            // One sample next to 100k: the small client must still move the result by its weight.
            List<Update> skewed = List.of(new Update(randomFloats(r, length, 1.0), 1),
                    new Update(randomFloats(r, length, 1e-3), 100_000));
            got = fedAvg(base, skewed);
            want = reference(base, skewed);
            for (int i = 0; i < length; i++) {
                assertTrue(ulps(got[i], want[i]) <= 1, got[i] + " vs " + want[i]);
            }
        }
    }

    @Test
    void weightsAreSampleCountsNotClientCounts() {
        float[] base = {1f, -2f, 0.5f};
        List<Update> updates = List.of(
                new Update(new float[] {1f, 1f, 1f}, 3),
                new Update(new float[] {-1f, 0f, 5f}, 1));
        // (3*1 + 1*-1)/4 = 0.5, (3*1 + 0)/4 = 0.75, (3*1 + 5)/4 = 2
        assertArrayEquals(new float[] {1.5f, -1.25f, 2.5f}, fedAvg(base, updates));
    }

    @Test
    void orderIndependentBitForBit() {
        Random r = new Random(99);
        for (int trial = 0; trial < 40; trial++) {
            int length = LENGTHS[trial % LENGTHS.length];
            int clients = 2 + r.nextInt(49);
            float[] base = randomFloats(r, length, 1.0);
            List<Update> updates = randomUpdates(r, clients, length);
            float[] first = fedAvg(base, updates);
            for (int perm = 0; perm < 8; perm++) {
                List<Update> shuffled = new ArrayList<>(updates);
                Collections.shuffle(shuffled, r);
                float[] again = fedAvg(base, shuffled);
                for (int i = 0; i < length; i++) {
                    assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(again[i]),
                            "trial " + trial + " permutation " + perm + " coordinate " + i);
                }
            }
        }
    }

    /**
     * Huge deltas that cancel between clients next to small ones: a plain double sum loses the small ones in
     * whatever order the big ones came, so its float result depends on arrival order; the compensated sum
     * must still be exact and order independent.
     */
    @Test
    void orderIndependentAndExactUnderCancellation() {
        Random r = new Random(4242);
        int length = 257;
        int clients = 24;
        float[] base = randomFloats(r, length, 1.0);
        List<Update> updates = new ArrayList<>();
        for (int pair = 0; pair < clients / 4; pair++) {
            float[] big = new float[length];
            for (int i = 0; i < length; i++) {
                big[i] = (float) ((r.nextBoolean() ? 1 : -1) * Math.pow(10, 8 + 4 * r.nextDouble()));
            }
            float[] neg = new float[length];
            for (int i = 0; i < length; i++) {
                neg[i] = -big[i];
            }
            long n = 1 + r.nextInt(100_000);
            updates.add(new Update(big, n));
            updates.add(new Update(neg, n));
        }
        while (updates.size() < clients) {
            updates.add(new Update(randomFloats(r, length, 1e-2), 1 + r.nextInt(100_000)));
        }
        float[] want = reference(base, updates);

        boolean naiveOrderDependent = false;
        float[] first = null;
        for (int perm = 0; perm < 30; perm++) {
            List<Update> shuffled = new ArrayList<>(updates);
            Collections.shuffle(shuffled, r);
            float[] got = fedAvg(base, shuffled);
            for (int i = 0; i < length; i++) {
                assertTrue(ulps(got[i], want[i]) <= 1, "permutation " + perm + " coordinate " + i + ": " + got[i]
                        + " vs exact " + want[i]);
            }
            if (first == null) {
                first = got;
            } else {
                for (int i = 0; i < length; i++) {
                    assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(got[i]),
                            "permutation " + perm + " coordinate " + i);
                }
            }
            float[] naive = naive(base, shuffled);
            for (int i = 0; i < length && !naiveOrderDependent; i++) {
                naiveOrderDependent = ulps(naive[i], want[i]) > 1;
            }
        }
        // Power check of this test: the data really defeats an uncompensated sum.
        assertTrue(naiveOrderDependent, "test data too easy: a plain double sum would pass as well");
    }

    private static float[] naive(float[] base, List<Update> updates) {
        double[] s = new double[base.length];
        long total = 0;
        for (Update u : updates) {
            for (int i = 0; i < s.length; i++) {
                s[i] += (double) u.samples * u.delta[i];
            }
            total += u.samples;
        }
        float[] out = new float[base.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = (float) (base[i] + s[i] / total);
        }
        return out;
    }

    @Test
    void memoryDoesNotGrowWithClients() {
        int length = 1001;
        WeightedSum sum = new WeightedSum(length);
        double[] hi = sum.hi;
        double[] lo = sum.lo;
        Random r = new Random(3);
        float[] delta = new float[length];
        long total = 0;
        for (int c = 0; c < 5_000; c++) {
            for (int i = 0; i < length; i++) {
                delta[i] = (float) r.nextGaussian();
            }
            long n = 1 + r.nextInt(100_000);
            sum.add(delta, n);
            total += n;
            assertSame(hi, sum.hi, "hi array reallocated after " + (c + 1) + " clients");
            assertSame(lo, sum.lo, "lo array reallocated after " + (c + 1) + " clients");
        }
        assertEquals(length, sum.hi.length);
        assertEquals(length, sum.lo.length);
        assertEquals(length, sum.length());
        assertEquals(total, sum.totalWeight);
    }

    @Test
    void rejectsMismatchedInputs() {
        WeightedSum sum = new WeightedSum(3);
        assertThrows(IllegalArgumentException.class, () -> sum.add(new float[2], 1));
        assertEquals(0, sum.totalWeight, "a refused delta must not count its weight");
        sum.add(new float[] {1, 2, 3}, 5);
        assertThrows(IllegalStateException.class, () -> new FedAvg().apply(new float[3], sum, 6));
    }

    /** The vectorizable blocked loop must equal the plain TwoSum loop bit for bit, across block boundaries. */
    @Test
    void blockedAddEqualsScalarAdd() {
        Random r = new Random(31);
        for (int length : new int[] {1, 7, WeightedSum.BLOCK - 1, WeightedSum.BLOCK, WeightedSum.BLOCK + 1, 3 * WeightedSum.BLOCK + 17,
                io.fedstream.chunk.ChunkLayout.DEFAULT_CHUNK_FLOATS}) {
            double[] hiB = new double[length];
            double[] loB = new double[length];
            double[] hiS = new double[length];
            double[] loS = new double[length];
            double[] scratch = new double[length];
            for (int c = 0; c < 20; c++) {
                // Scales from 1e-30 to 1e30, and a subnormal and a negative zero in one update.
                float[] delta = randomFloats(r, length, Math.pow(10, -30 + 60 * r.nextDouble()));
                if (c == 3) {
                    delta[0] = Float.MIN_VALUE;
                    delta[length - 1] = -0f;
                }
                long w = c % 5 == 4 ? -(1 + r.nextInt(100_000)) : 1 + r.nextInt(100_000);
                WeightedSum.addBlocked(hiB, loB, delta, w, scratch);
                WeightedSum.addScalar(hiS, loS, delta, w);
            }
            for (int i = 0; i < length; i++) {
                assertEquals(Double.doubleToRawLongBits(hiS[i]), Double.doubleToRawLongBits(hiB[i]), "hi[" + i + "] of " + length);
                assertEquals(Double.doubleToRawLongBits(loS[i]), Double.doubleToRawLongBits(loB[i]), "lo[" + i + "] of " + length);
            }
        }
    }

    /**
     * An empty sum over arrays that still hold an earlier round's values (or anything) gives, bit for bit, what
     * the plain TwoSum loop gives over zeros: on the blocked path, and on the scalar one for vectors beyond the
     * scratch limit.
     */
    @Test
    void anEmptySumOverUsedArraysEqualsThePlainLoopOverZeros() {
        Random r = new Random(41);
        for (int length : new int[] {1, WeightedSum.BLOCK + 1, io.fedstream.chunk.ChunkLayout.DEFAULT_CHUNK_FLOATS,
                WeightedSum.MAX_SCRATCH + 3}) {
            double[] hi = new double[length];
            double[] lo = new double[length];
            WeightedSum used = new WeightedSum(garbage(r, length), garbage(r, length));
            for (int c = 0; c < 4; c++) {
                float[] delta = randomFloats(r, length, Math.pow(10, -20 + 40 * r.nextDouble()));
                if (c == 0) {
                    // The first update is written over the old content: zeros of both signs must come out as
                    // adding them to +0.0 makes them.
                    delta[0] = -0f;
                    delta[length - 1] = 0f;
                }
                long w = c == 2 ? -(1 + r.nextInt(1000)) : 1 + r.nextInt(100_000);
                WeightedSum.addScalar(hi, lo, delta, w);
                used.add(delta, w);
                for (int i = 0; i < length; i++) {
                    assertEquals(Double.doubleToRawLongBits(hi[i]), Double.doubleToRawLongBits(used.hi[i]),
                            "hi[" + i + "] of " + length + " after update " + c);
                    assertEquals(Double.doubleToRawLongBits(lo[i]), Double.doubleToRawLongBits(used.lo[i]),
                            "lo[" + i + "] of " + length + " after update " + c);
                }
            }
        }
    }

    /** Everything added subtracted again: the sum is zero whatever its arrays hold, and starts afresh. */
    @Test
    void aSumEmptiedBySubtractionIsZeroAndStartsAfresh() {
        Random r = new Random(43);
        int length = 3 * WeightedSum.BLOCK + 5;
        WeightedSum sum = new WeightedSum(garbage(r, length), garbage(r, length));
        assertEquals(0.0, sum.mean(5, 7.0), "an empty sum over old arrays is zero");
        float[] a = randomFloats(r, length, 1.0);
        float[] b = randomFloats(r, length, 1e-3);
        sum.add(a, 3);
        sum.add(b, 5);
        sum.add(a, -3);
        sum.add(b, -5);
        assertEquals(0, sum.totalWeight);
        for (int i = 0; i < length; i++) {
            assertEquals(0.0, sum.mean(i, 1.0), "coordinate " + i);
        }
        float[] c = randomFloats(r, length, 10.0);
        sum.add(c, 2);
        WeightedSum fresh = new WeightedSum(length);
        fresh.add(c, 2);
        assertArrayEquals(fresh.hi, sum.hi);
        assertArrayEquals(fresh.lo, sum.lo);
    }

    /** Old content of every kind, NaN and infinities included: none of it may show through. */
    private static double[] garbage(Random r, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = switch (i % 4) {
                case 0 -> Double.NaN;
                case 1 -> Double.NEGATIVE_INFINITY;
                default -> r.nextGaussian() * 1e6;
            };
        }
        return a;
    }

    /**
     * Leaving a client out by subtracting its update again (negative weight) gives the model of the others alone,
     * bit for bit: a round recomputed from exactly its participants has the same digest.
     */
    @Test
    void subtractingAnUpdateGivesTheModelWithoutIt() {
        Random r = new Random(77);
        for (int trial = 0; trial < 40; trial++) {
            int length = LENGTHS[trial % LENGTHS.length];
            float[] base = randomFloats(r, length, 1.0);
            List<Update> kept = randomUpdates(r, 2 + r.nextInt(20), length);
            List<Update> leftOut = randomUpdates(r, 1 + r.nextInt(3), length);
            List<Update> all = new ArrayList<>(kept);
            all.addAll(leftOut);
            Collections.shuffle(all, r);

            WeightedSum sum = new WeightedSum(length);
            for (Update u : all) {
                sum.add(u.delta, u.samples);
            }
            for (Update u : leftOut) {
                sum.add(u.delta, -u.samples);
            }
            long total = kept.stream().mapToLong(Update::samples).sum();
            assertEquals(total, sum.totalWeight);
            float[] got = new FedAvg().apply(base, sum, total);
            float[] clean = fedAvg(base, kept);
            float[] want = reference(base, kept);
            for (int i = 0; i < length; i++) {
                assertTrue(ulps(got[i], want[i]) <= 1, "trial " + trial + " coordinate " + i);
                assertEquals(Float.floatToRawIntBits(clean[i]), Float.floatToRawIntBits(got[i]),
                        "trial " + trial + " coordinate " + i + ": left out by subtraction " + got[i] + " vs never added " + clean[i]);
            }
        }
    }
}

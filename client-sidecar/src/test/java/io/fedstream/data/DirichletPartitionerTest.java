package io.fedstream.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DirichletPartitionerTest {
    private final Dataset data = TestData.pixels(10, 200, new long[] {2}, 11);

    @Test
    void sameSeedSameSplitOtherSeedOtherSplit() {
        List<DirichletPartitioner.Assignment> a = new DirichletPartitioner(7, 0.5, 0.2, 42).assign(data);
        List<DirichletPartitioner.Assignment> b = new DirichletPartitioner(7, 0.5, 0.2, 42).assign(data);
        List<DirichletPartitioner.Assignment> c = new DirichletPartitioner(7, 0.5, 0.2, 43).assign(data);
        boolean differs = false;
        for (int s = 0; s < 7; s++) {
            assertArrayEquals(a.get(s).train(), b.get(s).train());
            assertArrayEquals(a.get(s).test(), b.get(s).test());
            differs |= !Arrays.equals(a.get(s).train(), c.get(s).train());
        }
        assertTrue(differs, "another seed gives another split");
    }

    @Test
    void everySampleExactlyOnce() {
        for (double alpha : new double[] {0.01, 0.5, 100}) {
            List<DirichletPartitioner.Assignment> parts = new DirichletPartitioner(9, alpha, 0.2, 7).assign(data);
            int[] seen = new int[data.size()];
            for (DirichletPartitioner.Assignment p : parts) {
                for (int i : p.train()) {
                    seen[i]++;
                }
                for (int i : p.test()) {
                    seen[i]++;
                }
            }
            for (int i = 0; i < seen.length; i++) {
                assertEquals(1, seen[i], "sample " + i + " at alpha " + alpha);
            }
        }
    }

    @Test
    void partitionMatchesAssignment() {
        DirichletPartitioner p = new DirichletPartitioner(4, 0.5, 0.2, 3);
        List<SiloData> silos = p.partition(data);
        List<DirichletPartitioner.Assignment> idx = p.assign(data);
        for (int s = 0; s < 4; s++) {
            assertTrue(silos.get(s).train().contentEquals(data.subset(idx.get(s).train())));
            assertTrue(silos.get(s).test().contentEquals(data.subset(idx.get(s).test())));
            assertEquals(10, silos.get(s).numClasses());
        }
    }

    @Test
    void everySiloCanTrainEvenWithTinyAlpha() {
        // alpha 0.001 puts each class almost entirely into one silo; with 20 silos and 10 classes half of them
        // would be empty without the minimum.
        for (long seed = 0; seed < 5; seed++) {
            DirichletPartitioner p = new DirichletPartitioner(20, 0.001, 0.2, seed, 12);
            for (DirichletPartitioner.Assignment a : p.assign(data)) {
                assertTrue(a.train().length >= 12, "train " + a.train().length);
                assertTrue(a.test().length >= 3, "test " + a.test().length);
            }
        }
        assertEquals(10, new DirichletPartitioner(3, 1, 0.2, 0, 8).minSiloSize());
        assertEquals(8, new DirichletPartitioner(3, 1, 0.0, 0, 8).minSiloSize());
    }

    @Test
    void testFractionIsRespected() {
        for (DirichletPartitioner.Assignment a : new DirichletPartitioner(5, 0.5, 0.2, 1).assign(data)) {
            assertEquals((int) Math.floor(a.size() * 0.2), a.test().length);
        }
        for (DirichletPartitioner.Assignment a : new DirichletPartitioner(5, 0.5, 0.0, 1).assign(data)) {
            assertEquals(0, a.test().length);
        }
    }

    @Test
    void lowerAlphaGivesMoreLabelSkew() {
        double[] alphas = {0.05, 0.5, 5, 500};
        double[] skew = new double[alphas.length];
        for (int i = 0; i < alphas.length; i++) {
            double sum = 0;
            for (long seed = 0; seed < 5; seed++) {
                sum += DirichletPartitioner.labelSkew(new DirichletPartitioner(10, alphas[i], 0.2, seed).partition(data));
            }
            skew[i] = sum / 5;
        }
        for (int i = 1; i < alphas.length; i++) {
            assertTrue(skew[i] < skew[i - 1], "skew " + Arrays.toString(skew));
        }
        assertTrue(skew[0] > 0.6, "alpha 0.05 is strongly non-IID: " + Arrays.toString(skew));
        assertTrue(skew[3] < 0.1, "alpha 500 is close to IID: " + Arrays.toString(skew));
    }

    @Test
    void gammaAndDirichletSamplersHaveTheRightMoments() {
        Random rng = new Random(1);
        for (double shape : new double[] {0.3, 1, 4.5}) {
            int n = 100_000;
            double sum = 0;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                double g = Math.exp(DirichletPartitioner.sampleLogGamma(shape, rng));
                sum += g;
                sq += g * g;
            }
            double mean = sum / n;
            double var = sq / n - mean * mean;
            assertEquals(shape, mean, 0.03 * Math.max(1, shape), "mean of Gamma(" + shape + ")");
            assertEquals(shape, var, 0.08 * Math.max(1, shape), "variance of Gamma(" + shape + ")");
        }
        double[] p = DirichletPartitioner.sampleDirichlet(6, 1e-4, rng);
        assertEquals(1.0, Arrays.stream(p).sum(), 1e-12);
        assertFalse(Arrays.stream(p).anyMatch(Double::isNaN), "no NaN even when every gamma underflows");
    }

    @Test
    void rejectsImpossibleRequests() {
        assertThrows(IllegalArgumentException.class, () -> new DirichletPartitioner(0, 1, 0.2, 0));
        assertThrows(IllegalArgumentException.class, () -> new DirichletPartitioner(2, 0, 0.2, 0));
        assertThrows(IllegalArgumentException.class, () -> new DirichletPartitioner(2, 1, 1.0, 0));
        Dataset tiny = TestData.pixels(2, 5, new long[] {1}, 0);
        assertThrows(IllegalArgumentException.class, () -> new DirichletPartitioner(3, 1, 0.2, 0).assign(tiny));
    }
}

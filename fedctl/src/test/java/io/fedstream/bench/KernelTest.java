package io.fedstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The kernel harness measures something sane; percentiles and synthetic updates behave as the benchmark assumes. */
class KernelTest {
    @Test
    void harnessReportsPositiveThroughputs() {
        KernelBench.Result r = KernelBench.run("test", 600_000, 1, 2, 1, 3);
        assertEquals(3, r.chunks());
        assertEquals(3, r.kernelRuns().size());
        assertTrue(r.kernelGbPerS() > 0 && r.baselineGbPerS() > 0 && r.ratio() > 0, r.toString());
    }

    @Test
    void nearestRankPercentiles() {
        List<Double> twenty = new java.util.ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            twenty.add((double) i);
        }
        assertEquals(10, Stats.percentile(twenty, 50));
        assertEquals(19, Stats.percentile(twenty, 95));
        assertEquals(20, Stats.percentile(twenty, 100));
        assertEquals(1, Stats.percentile(twenty, 1));
        assertEquals(2, Stats.median(List.of(3.0, 1.0, 2.0)));
    }

    @Test
    void syntheticUpdatesAreDeterministicAndBounded() {
        float[] a = SyntheticModel.delta(42, 3, "client-001", 10_000, 1e-3f);
        float[] b = SyntheticModel.delta(42, 3, "client-001", 10_000, 1e-3f);
        float[] c = SyntheticModel.delta(42, 4, "client-001", 10_000, 1e-3f);
        assertEquals(java.util.Arrays.hashCode(a), java.util.Arrays.hashCode(b));
        assertTrue(java.util.Arrays.hashCode(a) != java.util.Arrays.hashCode(c));
        for (float f : a) {
            assertTrue(f >= -1e-3f && f < 1e-3f, "value " + f);
        }
        assertEquals(101_770, SyntheticModel.mnistMlp().totalFloats());
        long n = SyntheticModel.samples(42, "client-001");
        assertTrue(n >= 100 && n < 10_100);
    }
}

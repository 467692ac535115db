package io.fedstream.bench;

import io.fedstream.aggregate.WeightedSum;
import io.fedstream.chunk.ChunkLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The aggregation kernel against a plain memory-streaming loop over the same bytes, in one JVM: a hand harness
 * with warm-up passes, then timed passes alternating kernel and baseline, medians reported.
 *
 * <p>Set-up: a model share of {@code floats} parameters cut into wire-sized chunks (261,888 floats); per chunk
 * one {@link WeightedSum} (the aggregator's state: two double arrays) and a delta array (an update chunk as the
 * aggregator receives it). One pass adds one client's update to every chunk in chunk order, as a chunk
 * aggregator sees a client's update stream. With the default 16M floats a pass read-modify-writes 256 MB of
 * sums, far more than any cache: every accumulator line comes from memory, as in a real subtask, where a chunk's
 * sum is touched once per client update. The delta is either one array reused for every chunk (hot in cache,
 * as in the job, where the aggregator has just deserialized it) or one array per chunk (cold as well).
 *
 * <ul>
 *   <li><b>kernel</b>: {@code sum.add(delta, weight)} for every chunk: the compensated weighted sum the job
 *       runs;</li>
 *   <li><b>baseline</b>: {@code hi[i] += delta[i]; lo[i] += delta[i]} over the same arrays: reads every delta
 *       float and reads and writes every accumulator double once, with a trivial add. It moves exactly the
 *       kernel's bytes and does the least arithmetic that still must read and write them.</li>
 * </ul>
 * Throughput is in GB/s of update bytes (4 bytes per delta float); the accumulator traffic is 8 times that
 * (16 bytes read and 16 written per float).
 */
public final class KernelBench {
    private KernelBench() {}

    /** One measured configuration. */
    public record Result(String name, long floats, int chunks, int iterations, double kernelGbPerS,
                         double baselineGbPerS, double ratio, List<Double> kernelRuns, List<Double> baselineRuns) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("floats", floats);
            m.put("chunks", chunks);
            m.put("iterations", iterations);
            m.put("kernelGBps", kernelGbPerS);
            m.put("baselineGBps", baselineGbPerS);
            m.put("ratio", ratio);
            m.put("kernelRunsGBps", kernelRuns);
            m.put("baselineRunsGBps", baselineRuns);
            return m;
        }
    }

    /** The baseline loop: the same reads and writes as the kernel, with a trivial add. */
    static void baseline(double[] hi, double[] lo, float[] delta) {
        for (int i = 0; i < delta.length; i++) {
            double x = delta[i];
            hi[i] += x;
            lo[i] += x;
        }
    }

    /** One client's update added to every chunk: what a subtask does per update. */
    static void kernelPass(WeightedSum[] sums, float[][] deltas, long weight) {
        for (int c = 0; c < sums.length; c++) {
            sums[c].add(deltas[c], weight);
        }
    }

    static void baselinePass(WeightedSum[] sums, float[][] deltas) {
        for (int c = 0; c < sums.length; c++) {
            baseline(sums[c].hi, sums[c].lo, deltas[c]);
        }
    }

    /**
     * @param floats       parameters whose chunks one pass visits
     * @param deltaArrays  distinct delta arrays, used in turn: 1 keeps the delta hot in cache, as in the job
     *                     (the aggregator has just deserialized it); the chunk count makes every delta cold too
     * @param passesPerRun passes per timed run
     */
    public static Result run(String name, long floats, int deltaArrays, int passesPerRun, int warmup, int iterations) {
        int chunkFloats = ChunkLayout.DEFAULT_CHUNK_FLOATS;
        ChunkLayout layout = new ChunkLayout(floats, chunkFloats);
        int chunks = layout.chunkCount();
        WeightedSum[] sums = new WeightedSum[chunks];
        float[][] deltas = new float[chunks][];
        int pool = Math.max(1, Math.min(chunks, deltaArrays));
        for (int c = 0; c < chunks; c++) {
            sums[c] = new WeightedSum(layout.length(c));
            deltas[c] = c < pool || layout.length(c) != layout.length(c % pool) ? SyntheticModel.delta(7, 0, "kernel-" + c,
                    layout.length(c), 1f) : deltas[c % pool];
        }
        double bytes = (double) floats * Float.BYTES * passesPerRun;
        List<Double> kernel = new ArrayList<>();
        List<Double> base = new ArrayList<>();
        long weight = 1000;
        for (int it = 0; it < warmup + iterations; it++) {
            boolean kernelFirst = it % 2 == 0;
            long k = 0;
            long b = 0;
            for (int half = 0; half < 2; half++) {
                boolean doKernel = (half == 0) == kernelFirst;
                long t0 = System.nanoTime();
                for (int p = 0; p < passesPerRun; p++) {
                    if (doKernel) {
                        kernelPass(sums, deltas, weight);
                        weight++;
                    } else {
                        baselinePass(sums, deltas);
                    }
                }
                long t = System.nanoTime() - t0;
                if (doKernel) {
                    k = t;
                } else {
                    b = t;
                }
            }
            if (it >= warmup) {
                kernel.add(bytes / k);
                base.add(bytes / b);
            }
        }
        double km = Stats.median(kernel);
        double bm = Stats.median(base);
        return new Result(name, floats, chunks, iterations, km, bm, km / bm, kernel, base);
    }
}

package io.fedstream.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Order statistics of benchmark samples. */
public final class Stats {
    private Stats() {}

    public static double median(List<Double> values) {
        return percentile(values, 50);
    }

    /**
     * The nearest-rank percentile: the smallest sample such that at least {@code p} percent of the samples are
     * at or below it (p50 of 20 samples is the 10th smallest, p95 the 19th).
     */
    public static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.min(sorted.size() - 1, Math.max(0, rank - 1)));
    }

    public static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    public static double max(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    public static double min(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }
}

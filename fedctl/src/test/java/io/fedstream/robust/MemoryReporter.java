package io.fedstream.robust;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;

/**
 * A Flink metric reporter that keeps every counter it is told about in a static map, keyed by job name and
 * metric name, so a test can read the job's counters (summed over subtasks) while it runs and after it ends.
 */
public final class MemoryReporter implements MetricReporter {
    private static final Map<String, List<Counter>> COUNTERS = new ConcurrentHashMap<>();

    @Override
    public void open(MetricConfig config) {
    }

    @Override
    public void close() {
    }

    @Override
    public void notifyOfAddedMetric(Metric metric, String metricName, MetricGroup group) {
        if (metric instanceof Counter c) {
            String job = group.getAllVariables().getOrDefault("<job_name>", "?");
            COUNTERS.computeIfAbsent(job + "/" + metricName, k -> new CopyOnWriteArrayList<>()).add(c);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String metricName, MetricGroup group) {
        // Kept on purpose: the test reads the final counts after the job is cancelled.
    }

    /** The counter's value summed over every subtask of the job, or -1 if no such counter was ever registered. */
    static long count(String jobName, String metricName) {
        List<Counter> list = COUNTERS.get(jobName + "/" + metricName);
        if (list == null) {
            return -1;
        }
        return list.stream().mapToLong(Counter::getCount).sum();
    }

    static boolean registered(String jobName) {
        return COUNTERS.keySet().stream().anyMatch(k -> k.startsWith(jobName + "/"));
    }
}

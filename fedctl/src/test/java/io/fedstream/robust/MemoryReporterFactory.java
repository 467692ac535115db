package io.fedstream.robust;

import java.util.Properties;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/** Creates {@link MemoryReporter}s; found by Flink through the service loader (see {@link Harness#startJob}). */
public final class MemoryReporterFactory implements MetricReporterFactory {
    @Override
    public MetricReporter createMetricReporter(Properties properties) {
        return new MemoryReporter();
    }
}

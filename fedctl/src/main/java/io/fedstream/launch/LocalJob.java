package io.fedstream.launch;

import io.fedstream.job.AggregationJob;
import io.fedstream.job.JobSettings;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Runs the aggregation job in an in-process Flink MiniCluster: the embedded default. */
public final class LocalJob {
    private LocalJob() {}

    /** Submits the job and returns at once; cancel it through the returned client. */
    public static JobClient start(JobSettings settings) throws Exception {
        return start(settings, new Configuration());
    }

    /** As {@link #start(JobSettings)}, with extra Flink configuration (metric reporters, restart strategy, ...). */
    public static JobClient start(JobSettings settings, Configuration extra) throws Exception {
        Configuration conf = new Configuration(extra);
        // Loopback only, on a free port: parallel runs on one machine must not collide.
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.BIND_PORT, "0");
        NetworkBuffers.applyTo(conf, settings.parallelism());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(settings.parallelism(), conf);
        AggregationJob.build(env, settings);
        return env.executeAsync(AggregationJob.jobName(settings));
    }
}

package io.fedstream.cli;

import io.fedstream.job.JobSettings;
import io.fedstream.launch.LocalJob;
import org.apache.flink.core.execution.JobClient;

/** {@code fedstream job}: the aggregation job in a local MiniCluster against an existing Kafka. */
final class JobCommand implements Command {
    @Override
    public String name() {
        return "job";
    }

    @Override
    public String summary() {
        return "run the aggregation job in a local Flink MiniCluster against an existing Kafka";
    }

    @Override
    public String help() {
        return JobSettings.help().replace("Usage: flink run", "Usage: fedstream job [flags]   (or on a cluster: flink run")
                .replaceFirst("\\[--flag value \\.\\.\\.\\]", "[--flag value ...])");
    }

    @Override
    public int run(String[] args) throws Exception {
        JobSettings settings = JobSettings.fromArgs(args);
        JobClient client = LocalJob.start(settings);
        System.out.printf("aggregation job %s running in a local MiniCluster (job id %s); Ctrl-C stops it%n",
                settings.federation(), client.getJobID());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> client.cancel().join()));
        client.getJobExecutionResult().get();
        return 0;
    }
}

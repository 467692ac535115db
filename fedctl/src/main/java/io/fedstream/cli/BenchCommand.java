package io.fedstream.cli;

import io.fedstream.bench.Bench;

/** {@code fedstream bench}: kernel, end-to-end, round-overhead and memory figures from one run. */
final class BenchCommand implements Command {
    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure aggregation speed, end-to-end throughput, round overhead and server memory";
    }

    @Override
    public String help() {
        return "Usage: fedstream bench [flags]\n\n"
                + "Runs on the embedded setup (in-process Kafka broker, the job in a Flink MiniCluster in a JVM of its\n"
                + "own) and prints four sections: 1. the aggregation kernel against a memory-streaming baseline,\n"
                + "2. end-to-end throughput of synthetic client updates against a plain Kafka consumer, with the\n"
                + "published model checked against a reference FedAvg, 3. round overhead for an MNIST-sized model,\n"
                + "4. peak memory of the job for several client counts. See docs/performance.md.\n\nFlags:\n"
                + Bench.PARSER.help();
    }

    @Override
    public int run(String[] args) throws Exception {
        return new Bench(args, System.out).run();
    }
}

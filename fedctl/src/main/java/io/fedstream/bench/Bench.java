package io.fedstream.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.fedstream.avro.RoundDecision;
import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.job.AggregationJob;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.NetworkBuffers;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.protocol.model.ModelSpec;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code fedstream bench}: the four measurements of the scale work, from one run on the embedded setup (an
 * in-process Kafka broker; the aggregation job in a Flink MiniCluster in a JVM of its own, so its memory is its
 * own): the aggregation kernel against a memory-streaming baseline, end-to-end throughput against a plain Kafka
 * consumer, round overhead for a small model, and server memory against the number of clients.
 */
public final class Bench {
    public static final List<Flag> FLAGS = List.of(
            Flag.of("sections", "kernel,e2e,overhead,memory", "which measurements to run, comma-separated"),
            Flag.of("params", "25000000", "end to end: model parameters (float32)"),
            Flag.of("clients", "8", "end to end: clients, each sending one update per round"),
            Flag.of("rounds", "16", "end to end: rounds, the warm-up rounds included"),
            Flag.of("warmup-rounds", "8", "end to end: first rounds reported apart, not in the median (they warm the JIT: with 1 MiB records the job's per-record code runs only about a thousand times a round); the plain consumer reads the other rounds' updates twice with the job's consumer settings, and the second read, from memory as the job's, is the baseline (a third read, with the consumer defaults, is shown beside it)"),
            Flag.of("parallelism", "2", "parallelism of the aggregation job"),
            Flag.of("verify", "true", "end to end: recompute every round's FedAvg from the records on Kafka "
                    + "(those written since the round before it began) and compare"),
            Flag.of("kernel-floats", "16000000", "kernel: parameters whose chunks one pass sums"),
            Flag.of("kernel-iterations", "30", "kernel: timed passes per trial (after 5 warm-up passes)"),
            Flag.of("kernel-trials", "5", "kernel: trials, each with freshly allocated arrays"),
            Flag.of("overhead-clients", "10", "round overhead: clients"),
            Flag.of("overhead-rounds", "20", "round overhead: rounds measured"),
            Flag.of("overhead-warmup-rounds", "5", "round overhead: rounds run before the measured ones (JIT warm-up)"),
            Flag.of("memory-clients", "8,32,64", "server memory: client counts, comma-separated"),
            Flag.of("memory-params", "10000000", "server memory: model parameters (fixed for every client count)"),
            Flag.of("memory-gc-ms", "250", "server memory: interval of the full collections that sample the live heap (a short round needs a short interval, or its peak falls between two)"),
            Flag.of("job-heap", "auto", "-Xmx of the job process (auto: from the model size; end to end: 1 GB plus four times the job's state, at most 3 GB and a third of the machine's memory, never less than the job needs)"),
            Flag.of("job-jvm-opts", "-XX:+UseParallelGC -XX:CompileThresholdScaling=0.1", "more JVM options of the job "
                    + "process, space-separated (the default takes the throughput collector, which neither marks the "
                    + "long-lived state concurrently nor refines cards as G1 does, and has the JIT compile after a tenth "
                    + "of the usual calls: with 1 MiB records the job's per-record code runs a thousand times less often "
                    + "per byte than with small records)"),
            Flag.of("job-jvm", "child", "child (the job in a JVM of its own, memory measured) or in-process"),
            Flag.of("job-network-buffers", "large", "Flink network buffers of the job's MiniCluster: large (2 MiB each,"
                    + " so that a 1 MiB chunk record crosses an exchange whole; for parallelism up to 8) or flink-default"
                    + " (32 KiB)"),
            Flag.of("client-permits", "auto", "clients that may hold a model-sized buffer at once (auto: from this JVM's heap)"),
            Flag.of("job-buffer-timeout-ms", "-1", "the job's --buffer-timeout in ms, e.g. 0 or 100 (-1: the job's default, 5 ms)"),
            Flag.of("delivery", "at-least-once", "the job's delivery guarantee: at-least-once or exactly-once"),
            Flag.of("seed", "42", "seed of the initial model and the synthetic updates"),
            Flag.of("timeout", "30m", "give up on a federation that has not finished by then"),
            Flag.of("json", "", "also write every figure to this JSON file"),
            Flag.of("work-dir", "", "where checkpoints and the job process's log go (default: a new temp directory)"));

    public static final FlagParser PARSER = new FlagParser(FLAGS);
    static final Set<String> SECTIONS = Set.of("kernel", "e2e", "overhead", "memory");

    /** Targets of issue #3. */
    static final double KERNEL_TARGET = 0.8;
    static final double E2E_TARGET = 0.5;
    static final double OVERHEAD_P50_TARGET_MS = 100;
    static final double MEMORY_RATIO_TARGET = 1.5;

    private final Map<String, String> v;
    private final PrintStream out;
    private final Map<String, Object> json = new LinkedHashMap<>();
    private final List<Map<String, Object>> targets = new ArrayList<>();
    private Path workDir;

    public Bench(String[] args, PrintStream out) {
        this.v = PARSER.parse(args);
        this.out = out;
        for (String s : sections()) {
            if (!SECTIONS.contains(s)) {
                throw new IllegalArgumentException("--sections: unknown section '" + s + "'; use " + SECTIONS);
            }
        }
        if (!v.get("job-jvm").equals("child") && !v.get("job-jvm").equals("in-process")) {
            throw new IllegalArgumentException("--job-jvm must be child or in-process, got '" + v.get("job-jvm") + "'");
        }
        if (!v.get("job-network-buffers").equals("large") && !v.get("job-network-buffers").equals("flink-default")) {
            throw new IllegalArgumentException("--job-network-buffers must be large or flink-default, got '"
                    + v.get("job-network-buffers") + "'");
        }
        // Every value is checked before anything starts.
        JobSettings.deliveryFlag(v.get("delivery"));
        for (String f : List.of("params", "kernel-floats", "memory-params", "memory-gc-ms", "seed", "job-buffer-timeout-ms")) {
            FlagParser.longValue(v, f);
        }
        for (String f : List.of("clients", "rounds", "parallelism", "kernel-iterations", "kernel-trials", "overhead-clients",
                "overhead-rounds")) {
            if (FlagParser.intValue(v, f) < 1) {
                throw new IllegalArgumentException("--" + f + " must be at least 1");
            }
        }
        for (String f : List.of("overhead-warmup-rounds", "warmup-rounds")) {
            if (FlagParser.intValue(v, f) < 0) {
                throw new IllegalArgumentException("--" + f + " must be 0 or more");
            }
        }
        FlagParser.durationValue(v, "timeout");
        memoryClients();
        if (!v.get("verify").equals("true") && !v.get("verify").equals("false")) {
            throw new IllegalArgumentException("--verify must be true or false, got '" + v.get("verify") + "'");
        }
        if (!v.get("client-permits").equals("auto")) {
            FlagParser.intValue(v, "client-permits");
        }
    }

    private List<String> sections() {
        List<String> s = new ArrayList<>();
        for (String part : v.get("sections").split(",")) {
            if (!part.isBlank()) {
                s.add(part.trim());
            }
        }
        return s;
    }

    /** Runs the chosen sections; returns 0, or 1 if a federation failed or a published model was wrong. */
    public int run() throws Exception {
        workDir = v.get("work-dir").isEmpty() ? Files.createTempDirectory("fedstream-bench-") : Path.of(v.get("work-dir"));
        Files.createDirectories(workDir);
        json.put("machine", machine());
        json.put("command", "fedstream bench " + String.join(" ", argsEcho()));
        out.printf("fedstream bench: %d cores, this JVM's max heap %s, Java %s%n", Runtime.getRuntime().availableProcessors(),
                mb(Runtime.getRuntime().maxMemory()), System.getProperty("java.version"));
        List<String> sections = sections();
        boolean ok = true;
        if (sections.contains("kernel")) {
            kernel();
        }
        List<String> needKafka = sections.stream().filter(s -> !s.equals("kernel")).toList();
        if (!needKafka.isEmpty()) {
            try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
                String bootstrap = kafka.bootstrapServers();
                out.printf("embedded Kafka broker at %s (default message.max.bytes)%n", bootstrap);
                if (sections.contains("e2e")) {
                    ok &= endToEnd(bootstrap);
                }
                if (sections.contains("overhead")) {
                    overhead(bootstrap);
                }
                if (sections.contains("memory")) {
                    memory(bootstrap);
                }
            }
        }
        json.put("targets", targets);
        out.println();
        out.println("== Targets");
        for (Map<String, Object> t : targets) {
            out.printf("  %-44s %-14s target %-10s %s%n", t.get("name"), t.get("shown"), t.get("target"),
                    Boolean.TRUE.equals(t.get("met")) ? "MET" : "NOT MET");
        }
        if (!v.get("json").isEmpty()) {
            Path file = Path.of(v.get("json"));
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Files.writeString(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json));
            out.println("figures written to " + file);
        }
        return ok ? 0 : 1;
    }

    private List<String> argsEcho() {
        List<String> a = new ArrayList<>();
        for (Flag f : FLAGS) {
            String val = v.get(f.name());
            if (val != null && !val.equals(f.defaultValue())) {
                a.add("--" + f.name());
                a.add(val);
            }
        }
        return a;
    }

    private static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        m.put("javaVersion", System.getProperty("java.version"));
        m.put("javaVm", System.getProperty("java.vm.name"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        long physical = physicalMemoryBytes();
        if (physical > 0) {
            m.put("physicalMemoryBytes", physical);
        }
        return m;
    }

    private void target(String name, double value, String shown, String target, boolean met) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("value", value);
        t.put("shown", shown);
        t.put("target", target);
        t.put("met", met);
        targets.add(t);
    }

    // ------------------------------------------------------------------ 1. kernel

    private void kernel() {
        long floats = FlagParser.longValue(v, "kernel-floats");
        int iterations = FlagParser.intValue(v, "kernel-iterations");
        int trials = FlagParser.intValue(v, "kernel-trials");
        int chunk = io.fedstream.chunk.ChunkLayout.DEFAULT_CHUNK_FLOATS;
        out.println();
        out.println("== 1. Aggregation kernel (WeightedSum.add vs a memory-streaming loop over the same arrays)");
        // Fresh arrays per trial: where the JVM places them in memory moves both loops by +-20%.
        List<KernelBench.Result> main = new ArrayList<>();
        for (int t = 0; t < trials; t++) {
            main.add(KernelBench.run("sums-streaming", floats, 1, 1, 5, iterations));
        }
        KernelBench.Result cold = KernelBench.run("all-cold", floats, Integer.MAX_VALUE, 1, 5, iterations);
        KernelBench.Result cached = KernelBench.run("all-in-cache", chunk, 1, Math.max(1, (int) (floats / chunk)), 5, iterations);
        List<Double> ratios = main.stream().map(KernelBench.Result::ratio).toList();
        double ratio = Stats.median(ratios);
        double kernelGb = Stats.median(main.stream().map(KernelBench.Result::kernelGbPerS).toList());
        double baseGb = Stats.median(main.stream().map(KernelBench.Result::baselineGbPerS).toList());
        for (KernelBench.Result r : main) {
            print(r, "sums from memory, delta hot (as in the job)");
        }
        print(cold, "sums and deltas from memory");
        print(cached, "one chunk, everything in cache");
        out.printf("  => kernel %.2f GB/s vs baseline %.2f GB/s: ratio %.2f (median of %d trials)%n", kernelGb, baseGb, ratio, trials);
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("kernelGBps", kernelGb);
        k.put("baselineGBps", baseGb);
        k.put("ratio", ratio);
        k.put("trials", main.stream().map(KernelBench.Result::toMap).toList());
        k.put("allCold", cold.toMap());
        k.put("allInCache", cached.toMap());
        json.put("kernel", k);
        target("kernel / memory-streaming baseline", ratio, String.format("%.2f", ratio), ">= " + KERNEL_TARGET,
                ratio >= KERNEL_TARGET);
    }

    private void print(KernelBench.Result r, String what) {
        out.printf("  %-16s %,d floats, %d chunks (%s): kernel %.2f GB/s, baseline %.2f GB/s, ratio %.2f%n",
                r.name(), r.floats(), r.chunks(), what, r.kernelGbPerS(), r.baselineGbPerS(), r.ratio());
    }

    // ------------------------------------------------------------------ 2. end to end

    /**
     * The job's -Xmx. {@code gcHeadroom}: room for the collector beyond what the job needs, for the end-to-end
     * section, whose figure is throughput. The other sections get the least: the round overhead's model is small,
     * and for the memory section a heap larger than needed only inflates RSS.
     */
    private String jobHeap(long params, boolean gcHeadroom) {
        String h = v.get("job-heap");
        return h.equals("auto") ? autoJobHeapMb(params, gcHeadroom, physicalMemoryBytes()) + "m" : h;
    }

    /** The largest heap {@code --job-heap auto} gives the end-to-end job for room alone. */
    private static final long MAX_ROOMY_HEAP_MB = 3072;

    /** {@code --job-heap auto} in MB, on a machine with {@code physicalBytes} of memory (0: not known). */
    static long autoJobHeapMb(long params, boolean gcHeadroom, long physicalBytes) {
        // The job's state is about 20 bytes per parameter (base float + two-double sum); the next round's base
        // arrives while the last chunks finish; plus the MiniCluster itself. That much is the least it needs.
        long least = Math.max(1024, 640 + params * 36 / (1024 * 1024));
        if (!gcHeadroom) {
            return least;
        }
        // Sized with G1 as the job's collector: with the state over a third of the heap, G1 ran concurrent marking
        // cycles back to back through every round (docs/performance.md); about four times the state kept it to one
        // a round. That helped up to a 3 GB heap; 4 GB was no faster, and 8 GB made a 100M-parameter round slower
        // than 4 GB did. So the room stops at 3 GB, and at a third of the machine's memory, as the benchmark's own
        // JVM holds the broker and the clients.
        long roomy = Math.min(1024 + params * 80 / (1024 * 1024), MAX_ROOMY_HEAP_MB);
        long third = physicalBytes > 0 ? physicalBytes / 3 / (1024 * 1024) : roomy;
        return Math.max(least, Math.min(roomy, third));
    }

    /** The machine's memory, or 0 where the JVM does not tell. */
    private static long physicalMemoryBytes() {
        try {
            return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        } catch (RuntimeException e) {
            // Not a HotSpot JVM.
            return 0;
        }
    }

    private int clientPermits(long params, int clients) {
        String p = v.get("client-permits");
        if (!p.equals("auto")) {
            return FlagParser.intValue(v, "client-permits");
        }
        // A client holds one model-sized float[] at a time (the base while assembling, then the delta), plus
        // producer buffers; give the clients half of this JVM's heap.
        long perClient = params * Float.BYTES * 2 + 96L * 1024 * 1024;
        long budget = Runtime.getRuntime().maxMemory() / 2;
        int n = (int) Math.max(1, Math.min(clients, budget / perClient));
        return n >= clients ? 0 : n;
    }

    private BenchFederation.Config.Builder federation(String bootstrap, String name, ModelSpec spec, int clients, int rounds,
                                                      boolean gcHeadroom) {
        return BenchFederation.config()
                .bootstrapServers(bootstrap).federation(name).spec(spec).clients(clients).rounds(rounds)
                .parallelism(FlagParser.intValue(v, "parallelism")).seed(FlagParser.longValue(v, "seed"))
                .jobMode(v.get("job-jvm").equals("child") ? BenchFederation.JobMode.CHILD_JVM : BenchFederation.JobMode.IN_PROCESS)
                .jobHeap(jobHeap(spec.totalFloats(), gcHeadroom))
                .jobJvmOptions(v.get("job-jvm-opts").isBlank() ? List.of() : List.of(v.get("job-jvm-opts").trim().split("\\s+")))
                .clientPermits(clientPermits(spec.totalFloats(), clients))
                .delivery(JobSettings.deliveryFlag(v.get("delivery")))
                .bufferTimeoutMillis(FlagParser.longValue(v, "job-buffer-timeout-ms"))
                .flinkDefaultNetworkBuffers(flinkDefaultNetworkBuffers())
                .timeout(FlagParser.durationValue(v, "timeout"))
                .workDir(workDir.resolve(name));
    }

    /** When the coordinator decided each round (the first decision of a round). */
    private static Map<Integer, Long> decisionTimes(List<RoundDecision> decisions) {
        Map<Integer, Long> at = new HashMap<>();
        for (RoundDecision d : decisions) {
            at.putIfAbsent(d.getRound(), d.getDecidedAtMs());
        }
        return at;
    }

    private boolean endToEnd(String bootstrap) throws Exception {
        long params = FlagParser.longValue(v, "params");
        int clients = FlagParser.intValue(v, "clients");
        int rounds = FlagParser.intValue(v, "rounds");
        int warmup = Math.min(FlagParser.intValue(v, "warmup-rounds"), rounds - 1);
        boolean verify = Boolean.parseBoolean(v.get("verify"));
        out.println();
        out.printf("== 2. End to end: %d clients x %,d parameters (%s per update), %d rounds, parallelism %s%n",
                clients, params, mb(params * 4), rounds, v.get("parallelism"));
        BenchFederation.Config.Builder builder = federation(bootstrap, "bench-e2e", SyntheticModel.flat(params), clients, rounds, true);
        // Clients that can all hold their update at once commit together: the job then finds a round's updates
        // all on the broker, as the plain consumer does, and the window measures the job, not the producers.
        boolean together = clientPermits(params, clients) == 0;
        BenchFederation.Config config = builder.commitTogether(together).build();
        String networkBuffers = networkBuffers();
        out.printf("  job process -Xmx%s %s, network buffers %s, client permits %s, clients commit %s%n", config.jobHeap,
                v.get("job-jvm-opts"), networkBuffers, config.clientPermits == 0 ? "all" : String.valueOf(config.clientPermits),
                together ? "together" : "one by one");
        BenchFederation.Result r = new BenchFederation(config).run();
        long updateBytes = params * Float.BYTES;
        List<Map<String, Object>> perRound = new ArrayList<>();
        List<Double> warm = new ArrayList<>();
        List<RoundDecision> decisions = FedAvgReference.decisions(bootstrap, r.topics);
        Map<Integer, Long> decidedAtMs = decisionTimes(decisions);
        Map<Integer, WritingPhase.Times> writing = WritingPhase.read(bootstrap, r.topics, Duration.ofMinutes(5));
        for (int round = 0; round < rounds; round++) {
            long sent = r.firstUpdateNanos(round);
            // Together: every update of the round is on the broker when the first commit starts. One by one: the
            // job reads each update as it commits, so the window starts at the first record sent.
            long start = together ? r.firstCommitStartNanos(round) : sent;
            long lastCommit = r.lastCommitNanos(round);
            Long manifest = r.manifestNanos(round + 1);
            int updates = r.updatesIn(round);
            double seconds = (manifest - start) / 1e9;
            double mbps = updates * updateBytes / 1e6 / seconds;
            double fromSent = (manifest - sent) / 1e9;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("round", round);
            m.put("updates", updates);
            m.put("updateBytes", updates * updateBytes);
            m.put("windowStart", together ? "updates readable" : "first update sent");
            m.put("firstUpdateToManifestSeconds", seconds);
            m.put("throughputMBps", mbps);
            m.put("productionSeconds", (lastCommit - sent) / 1e9);
            m.put("firstSentToManifestSeconds", fromSent);
            m.put("firstSentToManifestMBps", updates * updateBytes / 1e6 / fromSent);
            m.put("lastCommitToManifestSeconds", (manifest - lastCommit) / 1e9);
            Long seen = r.manifestSeenNanos(round + 1);
            m.put("manifestReadHereAfterSeconds", seen == null ? null : (seen - manifest) / 1e9);
            // Wall-clock times of the window, to line a round up with the job's log or with CPU samples.
            long startMs = BenchFederation.wallClockMs(start);
            long manifestMs = BenchFederation.wallClockMs(manifest);
            // The window in two: reading, checking and summing the updates up to the coordinator's decision (its
            // own clock, the same machine's), then finishing, writing and reading back the new model.
            Long decided = decidedAtMs.get(round);
            double toDecision = decided == null ? Double.NaN : (decided - startMs) / 1e3;
            double afterDecision = decided == null ? Double.NaN : (manifestMs - decided) / 1e3;
            m.put("windowToDecisionSeconds", toDecision);
            m.put("decisionToManifestSeconds", afterDecision);
            m.put("windowStartMs", startMs);
            m.put("decidedAtMs", decided);
            m.put("manifestMs", manifestMs);
            // After the decision: the aggregators finish the new model's chunks, the broker appends them, and the
            // coordinator writes the manifest once it has read them all back.
            WritingPhase.Times w = writing.get(round);
            String split = "";
            if (w != null && decided != null) {
                m.put("firstChunkFinishedMs", w.firstFinishedMs());
                m.put("lastChunkFinishedMs", w.lastFinishedMs());
                m.put("firstChunkStoredMs", w.firstStoredMs());
                m.put("lastChunkStoredMs", w.lastStoredMs());
                split = String.format(": its chunks finished %.2f-%.2f s and stored %.2f-%.2f s after the decision",
                        (w.firstFinishedMs() - decided) / 1e3, (w.lastFinishedMs() - decided) / 1e3,
                        (w.firstStoredMs() - decided) / 1e3, (w.lastStoredMs() - decided) / 1e3);
            }
            perRound.add(m);
            if (round >= warmup) {
                warm.add(mbps);
            }
            out.printf("  round %d: %d updates, %s in %.2f s from the first update record %s to the manifest: %.0f MB/s"
                            + " (producing took %.2f s; from the first record sent %.2f s, %.0f MB/s;%s decided at"
                            + " %.2f s, manifest %.2f s later%s)%s%n",
                    round, updates, mb(updates * updateBytes), seconds, together ? "readable" : "sent", mbps,
                    (lastCommit - sent) / 1e9, fromSent, updates * updateBytes / 1e6 / fromSent,
                    seen == null ? "" : String.format(" manifest read here %.2f s after its commit;", (seen - manifest) / 1e9),
                    toDecision, afterDecision, split, round < warmup ? " [warm-up]" : "");
        }
        double e2e = Stats.median(warm);
        // The plain consumer: the update records of the measured rounds (those the median is over), the same
        // broker, nothing done with the bytes. Each partition is read from the first record written after the
        // warm-up rounds, twice, and the second read is the baseline: the job read each round's updates just after
        // they were written, from the page cache, but a long run writes more than the page cache holds, and the
        // first read finds the earlier of these records on disk only.
        List<String> updateTopics = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            updateTopics.add(r.topics.clientUpdates(BenchFederation.clientId(i)));
        }
        Long fromMs = warmup == 0 ? null : BenchFederation.wallClockMs((r.lastCommitNanos(warmup - 1) + r.firstUpdateNanos(warmup)) / 2);
        // With the job's own consumer settings (socket buffer, fetch sizes), so that the ratio measures what the job
        // does with the bytes, not how its consumer is tuned. A read with the consumer defaults is shown beside it.
        Map<String, String> settings = AggregationJob.consumerSettings();
        TopicScan.ReadStats first = TopicScan.read(bootstrap, settings, updateTopics, fromMs, Duration.ofMinutes(10), rec -> { });
        TopicScan.ReadStats plain = TopicScan.read(bootstrap, settings, updateTopics, fromMs, Duration.ofMinutes(10), rec -> { });
        TopicScan.ReadStats defaults = TopicScan.read(bootstrap, updateTopics, fromMs, Duration.ofMinutes(10), rec -> { });
        if (plain.bytes() != first.bytes() || defaults.bytes() != first.bytes()) {
            throw new IllegalStateException("the plain consumer read " + first.bytes() + " bytes, then " + plain.bytes()
                    + ", then " + defaults.bytes());
        }
        double ratio = e2e / plain.mbPerSecond();
        double ratioAgainstDefaults = e2e / defaults.mbPerSecond();
        out.printf("  plain KafkaConsumer with the job's consumer settings %s over the same update topics, rounds %d-%d:"
                        + " %s in %.2f s: %.0f MB/s (its first read, which brings them into the page cache: %.2f s, %.0f MB/s;"
                        + " with the consumer defaults: %.2f s, %.0f MB/s)%n", settings, warmup, rounds - 1,
                mb(plain.bytes()), plain.nanos() / 1e9, plain.mbPerSecond(), first.nanos() / 1e9, first.mbPerSecond(),
                defaults.nanos() / 1e9, defaults.mbPerSecond());
        out.printf("  end to end %.0f MB/s (median of warm rounds) / plain consumer %.0f MB/s = %.2f (against the consumer"
                        + " defaults: %.2f)%n", e2e, plain.mbPerSecond(), ratio, ratioAgainstDefaults);
        boolean ok = true;
        List<Map<String, Object>> checks = new ArrayList<>();
        if (verify) {
            for (int round = 0; round < rounds; round++) {
                FedAvgReference.Check check = FedAvgReference.check(bootstrap, r.topics, round, r.referenceFromMs(round), decisions);
                boolean good = check.equalWithin(1e-6) && check.participants() == clients;
                ok &= good;
                out.printf("  round %d: published model %s reference FedAvg of %d updates: max |diff| %.3g, %.5f%% bit-exact, digest %s%n",
                        round, good ? "equals" : "DIFFERS FROM", check.participants(), check.maxAbsDiff(),
                        100 * check.exactFraction(), check.publishedDigestVerified() ? "verified" : "WRONG");
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("round", round);
                m.put("participants", check.participants());
                m.put("maxAbsDiff", check.maxAbsDiff());
                m.put("bitExactFraction", check.exactFraction());
                m.put("digestVerified", check.publishedDigestVerified());
                m.put("equal", good);
                checks.add(m);
            }
        }
        Map<String, Object> mem = r.jobReport;
        if (mem != null) {
            out.printf("  job process: peak heap after GC %s, peak RSS %s (heap limit %s)%n",
                    mb(num(mem, "peakHeapAfterGcBytes")), mb(num(mem, "peakRssBytes")), mb(num(mem, "maxHeapBytes")));
        }
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("params", params);
        e.put("clients", clients);
        e.put("rounds", rounds);
        e.put("parallelism", FlagParser.intValue(v, "parallelism"));
        e.put("jobHeap", config.jobHeap);
        e.put("networkBuffers", networkBuffers);
        e.put("clientPermits", config.clientPermits);
        e.put("clientsCommitTogether", together);
        e.put("perRound", perRound);
        e.put("throughputMBps", e2e);
        Map<String, Object> baseline = new LinkedHashMap<>();
        baseline.put("fromRound", warmup);
        baseline.put("bytes", plain.bytes());
        baseline.put("records", plain.records());
        baseline.put("seconds", plain.nanos() / 1e9);
        baseline.put("throughputMBps", plain.mbPerSecond());
        baseline.put("maxRecordBytes", plain.maxRecordBytes());
        baseline.put("firstReadSeconds", first.nanos() / 1e9);
        baseline.put("firstReadMBps", first.mbPerSecond());
        baseline.put("settings", settings);
        baseline.put("defaultSettingsSeconds", defaults.nanos() / 1e9);
        baseline.put("defaultSettingsMBps", defaults.mbPerSecond());
        e.put("plainConsumer", baseline);
        e.put("ratioAgainstDefaultSettings", ratioAgainstDefaults);
        e.put("ratio", ratio);
        e.put("referenceChecks", checks);
        e.put("jobProcess", mem);
        e.put("wallSeconds", r.elapsedNanos / 1e9);
        json.put("e2e", e);
        target("end to end / plain consumer throughput", ratio, String.format("%.2f", ratio), ">= " + E2E_TARGET,
                ratio >= E2E_TARGET);
        BenchFederation.deleteTopics(bootstrap, r.topics.federation());
        return ok;
    }

    // ------------------------------------------------------------------ 3. round overhead

    private void overhead(String bootstrap) throws Exception {
        int clients = FlagParser.intValue(v, "overhead-clients");
        int rounds = FlagParser.intValue(v, "overhead-rounds");
        int warmup = FlagParser.intValue(v, "overhead-warmup-rounds");
        ModelSpec spec = SyntheticModel.mnistMlp();
        out.println();
        out.printf("== 3. Round overhead: MNIST MLP (%,d floats), %d clients, %d rounds after %d warm-up rounds, no training"
                + " time, %s, network buffer timeout %s%n", spec.totalFloats(), clients, rounds, warmup, v.get("delivery"),
                bufferTimeout());
        BenchFederation.Result r = new BenchFederation(
                federation(bootstrap, "bench-overhead", spec, clients, warmup + rounds, false).build()).run();
        List<Double> all = new ArrayList<>();
        for (int round = 0; round < warmup + rounds; round++) {
            all.add((r.allReadyNanos(round + 1) - r.lastCommitNanos(round)) / 1e6);
        }
        List<Double> ms = all.subList(warmup, all.size());
        out.printf("  warm-up rounds (ms): %s%n", all.subList(0, warmup).stream().map(d -> String.format("%.0f", d)).toList());
        double p50 = Stats.percentile(ms, 50);
        double p95 = Stats.percentile(ms, 95);
        out.printf("  last update commit -> next model and plan readable on every client's topic: p50 %.1f ms, p95 %.1f ms"
                + " (min %.1f, max %.1f)%n", p50, p95, Stats.min(ms), Stats.max(ms));
        out.printf("  per round (ms): %s%n", ms.stream().map(d -> String.format("%.0f", d)).toList());
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("floats", spec.totalFloats());
        o.put("clients", clients);
        o.put("rounds", rounds);
        o.put("warmupRounds", warmup);
        o.put("warmupRoundsMs", all.subList(0, warmup));
        o.put("delivery", v.get("delivery"));
        o.put("bufferTimeout", bufferTimeout());
        o.put("p50Ms", p50);
        o.put("p95Ms", p95);
        o.put("minMs", Stats.min(ms));
        o.put("maxMs", Stats.max(ms));
        o.put("perRoundMs", ms);
        json.put("overhead", o);
        target("round overhead p50 (ms)", p50, String.format("%.0f ms", p50), "<= " + (int) OVERHEAD_P50_TARGET_MS + " ms",
                p50 <= OVERHEAD_P50_TARGET_MS);
        BenchFederation.deleteTopics(bootstrap, r.topics.federation());
    }

    // ------------------------------------------------------------------ 4. server memory

    private void memory(String bootstrap) throws Exception {
        long params = FlagParser.longValue(v, "memory-params");
        List<Integer> counts = memoryClients();
        long gcMs = FlagParser.longValue(v, "memory-gc-ms");
        out.println();
        out.printf("== 4. Server memory: the job process for %s clients at %,d parameters (%s model), parallelism %s%n",
                counts, params, mb(params * 4), v.get("parallelism"));
        if (!v.get("job-jvm").equals("child")) {
            out.println("  (skipped: needs --job-jvm child)");
            return;
        }
        List<Map<String, Object>> runs = new ArrayList<>();
        Map<Integer, Long> live = new LinkedHashMap<>();
        Map<Integer, Long> rss = new LinkedHashMap<>();
        for (int clients : counts) {
            BenchFederation.Result r = new BenchFederation(federation(bootstrap, "bench-mem-" + clients,
                    SyntheticModel.flat(params), clients, 1, false).forcedGcMillis(gcMs).build()).run();
            Map<String, Object> mem = r.jobReport;
            long peakLive = num(mem, "peakLiveHeapBytes");
            long idle = num(mem, "idleLiveHeapBytes");
            live.put(clients, peakLive);
            rss.put(clients, num(mem, "peakRssBytes"));
            out.printf("  %3d clients: peak live heap %s (idle job %s, aggregation %s), peak heap after any GC %s,"
                            + " peak RSS %s, %.1f s%n", clients, mb(peakLive), mb(idle), mb(peakLive - idle),
                    mb(num(mem, "peakHeapAfterGcBytes")), mb(num(mem, "peakRssBytes")), r.elapsedNanos / 1e9);
            Map<String, Object> m = new LinkedHashMap<>(mem);
            m.put("clients", clients);
            m.put("seconds", r.elapsedNanos / 1e9);
            m.put("updateBytes", (long) clients * params * 4);
            runs.add(m);
            BenchFederation.deleteTopics(bootstrap, r.topics.federation());
        }
        int lo = counts.get(0);
        int hi = counts.get(counts.size() - 1);
        double liveRatio = (double) live.get(hi) / live.get(lo);
        double rssRatio = (double) rss.get(hi) / rss.get(lo);
        out.printf("  peak live heap %d/%d clients: %.2f; peak RSS %d/%d clients: %.2f%n", hi, lo, liveRatio, hi, lo, rssRatio);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("params", params);
        m.put("forcedGcMillis", gcMs);
        m.put("runs", runs);
        m.put("liveHeapRatio", liveRatio);
        m.put("rssRatio", rssRatio);
        m.put("ratioOf", hi + "/" + lo + " clients");
        json.put("memory", m);
        target("peak live heap " + hi + " / " + lo + " clients", liveRatio, String.format("%.2f", liveRatio),
                "<= " + MEMORY_RATIO_TARGET, liveRatio <= MEMORY_RATIO_TARGET);
    }

    private List<Integer> memoryClients() {
        try {
            List<Integer> counts = new ArrayList<>(new LinkedHashSet<>(Arrays.stream(v.get("memory-clients").split(","))
                    .map(String::trim).filter(s -> !s.isEmpty()).map(Integer::parseInt).toList()));
            if (counts.isEmpty() || counts.stream().anyMatch(c -> c < 1)) {
                throw new NumberFormatException();
            }
            return counts;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--memory-clients must be client counts like 8,32,64, got '"
                    + v.get("memory-clients") + "'");
        }
    }

    private boolean flinkDefaultNetworkBuffers() {
        return v.get("job-network-buffers").equals("flink-default");
    }

    /** The network buffers of the job's MiniCluster, as {@link NetworkBuffers} gives them. */
    private String networkBuffers() {
        return NetworkBuffers.describe(NetworkBuffers.forJob(FlagParser.intValue(v, "parallelism"), flinkDefaultNetworkBuffers()));
    }

    private String bufferTimeout() {
        long ms = FlagParser.longValue(v, "job-buffer-timeout-ms");
        return ms < 0 ? "the job's default (" + JobSettings.DEFAULT_BUFFER_TIMEOUT.toMillis() + " ms)" : ms + " ms";
    }

    private static long num(Map<String, Object> m, String key) {
        Object o = m == null ? null : m.get(key);
        return o instanceof Number n ? n.longValue() : -1;
    }

    static String mb(long bytes) {
        if (bytes < 0) {
            return "n/a";
        }
        return bytes >= 10_000_000_000L ? String.format("%.1f GB", bytes / 1e9) : String.format("%.0f MB", bytes / 1e6);
    }
}

package io.fedstream.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.JvmOptions;
import io.fedstream.launch.LocalJob;
import io.fedstream.launch.NetworkBuffers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;

/**
 * The aggregation job alone in a JVM of its own, so its memory can be measured apart from the broker and the
 * clients: {@code java -cp <fedctl classpath> io.fedstream.bench.JobProcess --report FILE [--forced-gc-ms N]
 * [--flink-default-network-buffers] <job flags>}. It runs the job in a local MiniCluster ({@link LocalJob}, with
 * {@link NetworkBuffers}' buffers unless told to keep Flink's) until a line {@code stop} (or the end of input)
 * arrives on stdin, then cancels it and writes a JSON report: the {@link MemoryMonitor} figures and
 * the job's final status. {@link #start} launches it from a parent JVM.
 */
public final class JobProcess {
    private JobProcess() {}

    public static void main(String[] args) throws Exception {
        Path report = null;
        long forcedGcMs = 0;
        boolean flinkDefaultNetworkBuffers = false;
        List<String> jobArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--report" -> report = Path.of(args[++i]);
                case "--forced-gc-ms" -> forcedGcMs = Long.parseLong(args[++i]);
                case "--flink-default-network-buffers" -> flinkDefaultNetworkBuffers = true;
                default -> jobArgs.add(args[i]);
            }
        }
        if (report == null) {
            System.err.println("usage: JobProcess --report FILE [--forced-gc-ms N] [--flink-default-network-buffers] <job flags>");
            System.exit(2);
        }
        JobSettings settings = JobSettings.fromArgs(jobArgs.toArray(new String[0]));
        Map<String, Object> out = new LinkedHashMap<>();
        int exit = 0;
        try (MemoryMonitor monitor = new MemoryMonitor(forcedGcMs)) {
            Configuration flink = NetworkBuffers.forJob(settings.parallelism(), flinkDefaultNetworkBuffers);
            out.put("networkBuffers", NetworkBuffers.describe(flink));
            JobClient job = LocalJob.start(settings, flink);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            JobStatus status = job.getJobStatus().get();
            while (status != JobStatus.RUNNING && !status.isGloballyTerminalState() && System.nanoTime() < deadline) {
                Thread.sleep(100);
                status = job.getJobStatus().get();
            }
            long idle = monitor.markIdle();
            System.out.println("JOB-RUNNING " + job.getJobID() + " idle-live-heap " + idle);
            System.out.flush();
            CountDownLatch stop = new CountDownLatch(1);
            Thread stdin = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null && !line.trim().equals("stop")) {
                        // Only "stop" means anything.
                    }
                } catch (IOException e) {
                    // The parent is gone: stop as well.
                }
                stop.countDown();
            }, "stdin-stop");
            stdin.setDaemon(true);
            stdin.start();
            while (!stop.await(500, TimeUnit.MILLISECONDS)) {
                status = job.getJobStatus().get();
                if (status.isGloballyTerminalState()) {
                    break;
                }
            }
            status = job.getJobStatus().get();
            out.put("jobStatusAtStop", status.name());
            if (status.isGloballyTerminalState()) {
                exit = status == JobStatus.FINISHED ? 0 : 1;
                try {
                    job.getJobExecutionResult().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    out.put("jobFailure", String.valueOf(e.getCause() == null ? e : e.getCause()));
                }
            } else {
                job.cancel().get(60, TimeUnit.SECONDS);
            }
            out.putAll(monitor.report());
        } catch (Exception e) {
            out.put("error", e.toString());
            exit = 1;
        }
        out.put("jvmArguments", ManagementFactory.getRuntimeMXBean().getInputArguments());
        Files.writeString(report, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
        System.exit(exit);
    }

    // ------------------------------------------------------------------ parent side

    /**
     * Starts a job process with this JVM's classpath, the given heap limit and extra JVM options; its output goes
     * to {@code workDir/job-process.log}.
     */
    public static Handle start(JobSettings settings, String maxHeap, List<String> jvmOptions, long forcedGcMs,
                               boolean flinkDefaultNetworkBuffers, Path workDir) throws IOException {
        Files.createDirectories(workDir);
        Path log = workDir.resolve("job-process.log");
        Path report = workDir.resolve("job-process-report.json");
        Files.deleteIfExists(report);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + maxHeap);
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        cmd.addAll(JvmOptions.JAVA17_OPENS);
        cmd.addAll(jvmOptions);
        cmd.add("-Dfedstream.log.level=" + System.getProperty("fedstream.log.level", "WARN"));
        cmd.add("-Dfedstream.root.log.level=" + System.getProperty("fedstream.root.log.level", "WARN"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(JobProcess.class.getName());
        cmd.add("--report");
        cmd.add(report.toString());
        cmd.add("--forced-gc-ms");
        cmd.add(String.valueOf(forcedGcMs));
        if (flinkDefaultNetworkBuffers) {
            cmd.add("--flink-default-network-buffers");
        }
        cmd.addAll(settings.toArgs());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        return new Handle(pb.start(), log, report);
    }

    /** A running job process, seen from the JVM that started it. */
    public static final class Handle implements AutoCloseable {
        private final Process process;
        private final Path log;
        private final Path report;
        private final Thread killOnExit;

        Handle(Process process, Path log, Path report) {
            this.process = process;
            this.log = log;
            this.report = report;
            this.killOnExit = new Thread(process::destroyForcibly, "kill-job-process");
            Runtime.getRuntime().addShutdownHook(killOnExit);
        }

        public boolean alive() {
            return process.isAlive();
        }

        public long pid() {
            return process.pid();
        }

        /** The last lines the process printed. */
        public String logTail(int lines) {
            try {
                List<String> all = Files.readAllLines(log);
                return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
            } catch (IOException e) {
                return "(no log: " + e.getMessage() + ")";
            }
        }

        /** Asks the process to cancel the job and report; kills it if it does not exit within {@code grace}. */
        @SuppressWarnings("unchecked")
        public Map<String, Object> stop(Duration grace) throws IOException, InterruptedException {
            if (process.isAlive()) {
                try {
                    OutputStream in = process.getOutputStream();
                    in.write("stop\n".getBytes(StandardCharsets.UTF_8));
                    in.flush();
                    in.close();
                } catch (IOException e) {
                    // It exited meanwhile.
                }
            }
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
            Map<String, Object> out = Files.exists(report)
                    ? new ObjectMapper().readValue(report.toFile(), LinkedHashMap.class)
                    : new LinkedHashMap<>();
            out.put("exitCode", process.isAlive() ? null : process.exitValue());
            return out;
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
                try {
                    process.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            try {
                Runtime.getRuntime().removeShutdownHook(killOnExit);
            } catch (IllegalStateException e) {
                // The JVM is shutting down; the hook runs anyway.
            }
        }

        @Override
        public String toString() {
            return "job process " + process.pid() + " " + Arrays.asList(log, report);
        }
    }
}

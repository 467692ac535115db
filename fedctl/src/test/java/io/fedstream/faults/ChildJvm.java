package io.fedstream.faults;

import io.fedstream.launch.JvmOptions;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One child JVM started from the test JVM, by default with the test JVM's own classpath ({@code java.class.path},
 * which holds fedctl's classes and every dependency under failsafe). Its stdout and stderr go to a log file, appended across
 * restarts, so a test can print the tail when something fails. {@link #kill()} is {@code kill -9};
 * {@link #stop()} is SIGTERM with a grace period; {@link #close()} kills whatever is still running.
 */
final class ChildJvm implements AutoCloseable {
    static final String CLI_MAIN = "io.fedstream.cli.Fedstream";

    private final String name;
    private final List<String> command;
    private final Path log;
    private final Path workDir;
    private final Thread shutdownHook;
    private Process process;
    private int starts;

    ChildJvm(String name, List<String> jvmFlags, String mainClass, List<String> args, Path workDir) {
        this(name, jvmFlags, System.getProperty("java.class.path"), mainClass, args, workDir);
    }

    /** As above, with a classpath of its own. */
    ChildJvm(String name, List<String> jvmFlags, String classpath, String mainClass, List<String> args, Path workDir) {
        this.name = name;
        this.workDir = workDir;
        this.log = workDir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        cmd.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(mainClass);
        cmd.addAll(args);
        this.command = List.copyOf(cmd);
        this.shutdownHook = new Thread(this::killQuietly, "kill-" + name);
    }

    /** A {@code fedstream <args>} process, as the {@code ./fedstream} launcher would start it. */
    static ChildJvm fedstream(String name, String maxHeap, List<String> args, Path workDir) {
        List<String> flags = new ArrayList<>(List.of("-Xmx" + maxHeap, "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                // Short-lived test JVMs on 2 shared cores: C1 only, so the JIT does not compete with the work.
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        flags.addAll(JvmOptions.JAVA17_OPENS);
        // -Dfedstream.test.childLogLevel=DEBUG on the Maven command line shows the children's protocol details.
        String level = System.getProperty("fedstream.test.childLogLevel", "");
        if (!level.isBlank()) {
            flags.add("-Dfedstream.log.level=" + level);
        }
        return new ChildJvm(name, flags, CLI_MAIN, args, workDir);
    }

    String name() {
        return name;
    }

    Path log() {
        return log;
    }

    /** Starts the process (again, after a kill or stop); output is appended to the log. */
    synchronized ChildJvm start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        try {
            Files.createDirectories(workDir);
            if (starts == 0) {
                Files.writeString(log, "");
            }
            Files.writeString(log, "===== start " + (starts + 1) + ": " + String.join(" ", abbreviated()) + "\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
            ProcessBuilder pb = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            Map<String, String> env = pb.environment();
            // Sidecar flags can come from FEDSTREAM_* variables; the test's flags must be the only ones.
            env.keySet().removeIf(k -> k.startsWith("FEDSTREAM_") && !k.equals("FEDSTREAM_DATA_DIR"));
            env.put("DJL_OFFLINE", "true");
            if (starts == 0) {
                Runtime.getRuntime().addShutdownHook(shutdownHook);
            }
            process = pb.start();
            starts++;
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
    }

    synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    synchronized long pid() {
        return process.pid();
    }

    /** Exit code if the process has ended, else null. */
    synchronized Integer exitCode() {
        return process != null && !process.isAlive() ? process.exitValue() : null;
    }

    /** {@code kill -9} and wait until it is gone. */
    synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        waitGone(process, 30);
    }

    /** SIGTERM, wait up to {@code graceSeconds}, then SIGKILL. */
    synchronized void stop(int graceSeconds) {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                waitGone(process, 30);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** Freezes the process (SIGSTOP): it keeps its sockets but does nothing, as a hung process would. */
    void suspend() {
        signal("-STOP");
    }

    void resume() {
        signal("-CONT");
    }

    private void signal(String sig) {
        try {
            Process p = new ProcessBuilder("kill", sig, String.valueOf(pid())).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("kill " + sig + " " + pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits for the process to end on its own; true if it did within the timeout. */
    boolean awaitExit(long timeoutMs) throws InterruptedException {
        Process p;
        synchronized (this) {
            p = process;
        }
        return p != null && p.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** The last {@code lines} lines of the log. */
    String tail(int lines) {
        try {
            if (!Files.exists(log)) {
                return "(no log)";
            }
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    private List<String> abbreviated() {
        List<String> out = new ArrayList<>(command);
        int cp = out.indexOf("-cp");
        if (cp >= 0 && cp + 1 < out.size()) {
            out.set(cp + 1, "<" + out.get(cp + 1).split(File.pathSeparator).length + " classpath entries>");
        }
        out.removeIf(s -> s.startsWith("--add-opens") || s.startsWith("--add-exports"));
        return out;
    }

    private static void waitGone(Process p, int seconds) {
        try {
            p.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void killQuietly() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }

    @Override
    public synchronized void close() {
        if (process != null && process.isAlive()) {
            // SIGKILL ends a SIGSTOPped process too.
            process.destroyForcibly();
            waitGone(process, 30);
        }
        if (starts > 0) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // The JVM is shutting down; the hook runs anyway.
            }
        }
    }

    @Override
    public String toString() {
        return name + (process == null ? " (not started)" : " (pid " + process.pid() + (process.isAlive() ? ", running)" : ", exited)"));
    }
}

package io.fedstream.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * A real Flink standalone session cluster for integration tests: one JobManager
 * ({@code StandaloneSessionClusterEntrypoint}) and one TaskManager ({@code TaskManagerRunner}), each in its own JVM,
 * started the way Flink's {@code bin/} scripts start them (a {@code config.yaml} in a config dir, the memory JVM
 * flags and dynamic properties that {@code BashJavaUtils} would compute, Flink's Java 17 {@code --add-opens} list),
 * loopback only, on free ports, with logs under a temporary directory.
 *
 * <p><b>Classpath.</b> The processes get only what a Flink distribution's {@code lib/} holds: the Flink runtime
 * artifacts ({@code flink-runtime}, {@code flink-streaming-java}, {@code flink-clients}, {@code flink-runtime-web},
 * {@code flink-connector-base} and their Flink and third-party dependencies, which {@code flink-dist} bundles) plus
 * log4j/slf4j. The jars are taken from this test JVM's classpath through an allow-list of Maven coordinates, not
 * "everything minus ours": the test classpath also holds the job's own dependencies (the Kafka connector,
 * {@code kafka-clients}, Avro, Jackson), the fedstream modules, DJL and the Kafka broker, and any of those on the
 * cluster's classpath would hide a class missing from the shaded job jar (worse: {@code org.apache.flink.*} is
 * loaded parent-first, so a connector on the cluster classpath would shadow the jar's). With the allow-list, the
 * job's classes can only come from the uploaded jar, as on a real cluster.
 *
 * <p>Jobs are submitted through the REST API ({@code /jars/upload}, {@code /jars/<id>/run}), as a user of a real
 * cluster would. {@link #close()} stops both processes (SIGTERM, then SIGKILL after a grace period) and deletes the
 * directory (kept with {@code -Dfedstream.cluster.keep=true}); a shutdown hook kills them too if the test JVM dies
 * first.
 */
public final class FlinkSessionCluster implements AutoCloseable {
    public static final String JOB_MANAGER_MAIN = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
    public static final String TASK_MANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

    /** The config.yaml key of a TaskManager's extra JVM options. */
    static final String TASK_MANAGER_JAVA_OPTS = "env.java.opts.taskmanager";

    /** Flink's own JVM flags for Java 17 (env.java.opts.all of the distribution's config.yaml). */
    public static final List<String> JAVA17_FLAGS = List.of(
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
            "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.text=ALL-UNNAMED",
            "--add-opens=java.base/java.time=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.math=ALL-UNNAMED");

    /**
     * Third-party libraries of a Flink distribution: the runtime closure of flink-runtime, flink-streaming-java,
     * flink-clients, flink-runtime-web and flink-connector-base outside {@code org.apache.flink} (as listed by
     * {@code mvn dependency:list} for Flink 2.2.1), plus the logging jars of the distribution's {@code lib/}.
     */
    static final Set<String> DIST_THIRD_PARTY = Set.of(
            "at.yawk.lz4:lz4-java", "org.lz4:lz4-java",
            "com.esotericsoftware:kryo", "com.esotericsoftware:minlog", "com.esotericsoftware:reflectasm",
            "com.google.code.findbugs:jsr305",
            "commons-cli:commons-cli", "commons-collections:commons-collections", "commons-io:commons-io",
            "org.apache.commons:commons-compress", "org.apache.commons:commons-lang3",
            "org.apache.commons:commons-math3", "org.apache.commons:commons-text",
            "org.javassist:javassist", "org.objenesis:objenesis", "org.snakeyaml:snakeyaml-engine",
            "org.xerial.snappy:snappy-java", "tools.profiler:async-profiler",
            "org.slf4j:slf4j-api",
            "org.apache.logging.log4j:log4j-api", "org.apache.logging.log4j:log4j-core",
            "org.apache.logging.log4j:log4j-slf4j2-impl", "org.apache.logging.log4j:log4j-slf4j-impl",
            "org.apache.logging.log4j:log4j-1.2-api");

    static final Set<String> DIST_GROUPS = java.util.stream.Stream.concat(Stream.of("org.apache.flink"),
            DIST_THIRD_PARTY.stream().map(c -> c.substring(0, c.indexOf(':')))).collect(java.util.stream.Collectors.toSet());

    /** Flink artifacts that are connectors or formats shipped with a job, never in a distribution's lib/. */
    static final List<String> NOT_IN_DIST = List.of("flink-connector-kafka", "flink-sql-connector-", "flink-avro",
            "flink-test-utils", "flink-table-");

    /** Must be found on the test classpath, or the cluster cannot start or accept jars. */
    static final List<String> REQUIRED = List.of("org.apache.flink:flink-runtime", "org.apache.flink:flink-runtime-web",
            "org.apache.flink:flink-clients", "org.apache.flink:flink-streaming-java",
            "org.apache.flink:flink-connector-base", "org.apache.logging.log4j:log4j-core",
            "org.apache.logging.log4j:log4j-slf4j2-impl");

    /** System property: set to true to keep the cluster's directory (config, logs) after {@link #close()}. */
    public static final String KEEP_PROPERTY = "fedstream.cluster.keep";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Path confDir;
    private final Path logDir;
    private final int restPort;
    private final String restUrl;
    private final HttpClient http;
    private final List<String> classpath;
    private final Thread shutdownHook;
    private Process jobManager;
    private Process taskManager;
    private boolean closed;

    private FlinkSessionCluster(Path dir, int restPort, List<String> classpath) {
        this.dir = dir;
        this.confDir = dir.resolve("conf");
        this.logDir = dir.resolve("log");
        this.restPort = restPort;
        this.restUrl = "http://127.0.0.1:" + restPort;
        this.classpath = classpath;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();
        this.shutdownHook = new Thread(this::killNow, "flink-session-cluster-kill");
    }

    /**
     * Starts the JobManager and the TaskManager processes and returns at once; call {@link #awaitReady(Duration)}
     * before submitting. On failure everything started so far is stopped again.
     */
    public static FlinkSessionCluster launch(int slots) throws IOException {
        Path dir = Files.createTempDirectory("fedstream-flink-session-");
        FlinkSessionCluster cluster = new FlinkSessionCluster(dir, freePort(), distributionClasspath());
        try {
            cluster.start(slots);
            return cluster;
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    /** {@link #launch(int)}, then {@link #awaitReady(Duration)}. */
    public static FlinkSessionCluster start(int slots, Duration timeout) throws IOException, InterruptedException {
        FlinkSessionCluster cluster = launch(slots);
        try {
            cluster.awaitReady(timeout);
            return cluster;
        } catch (RuntimeException | InterruptedException e) {
            cluster.close();
            throw e;
        }
    }

    private void start(int slots) throws IOException {
        Files.createDirectories(confDir);
        Files.createDirectories(logDir);
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jobmanager.rpc.address", "127.0.0.1");
        conf.put("jobmanager.rpc.port", String.valueOf(freePort()));
        conf.put("jobmanager.bind-host", "127.0.0.1");
        conf.put("rest.address", "127.0.0.1");
        conf.put("rest.bind-address", "127.0.0.1");
        conf.put("rest.port", String.valueOf(restPort));
        conf.put("taskmanager.host", "127.0.0.1");
        conf.put("taskmanager.bind-host", "127.0.0.1");
        conf.put("taskmanager.numberOfTaskSlots", String.valueOf(slots));
        conf.put("parallelism.default", "1");
        conf.put("jobmanager.memory.process.size", "1g");
        conf.put("taskmanager.memory.process.size", "1600m");
        // What the README gives a TaskManager for large models (JVM options, network buffers, managed memory), read
        // from the README, so that a real cluster tries exactly that.
        Map<String, String> readme = ReadmeTaskManagerConfig.load();
        conf.putAll(readme);
        List<String> taskManagerJavaOpts = split(readme.getOrDefault(TASK_MANAGER_JAVA_OPTS, ""));
        conf.put("cluster.registration.error-delay", "1 s");
        conf.put("io.tmp.dirs", dir.resolve("tmp").toString());
        conf.put("web.tmpdir", dir.resolve("web").toString());
        conf.put("web.upload.dir", dir.resolve("upload").toString());
        conf.put("blob.storage.directory", dir.resolve("blobs").toString());
        conf.put("env.log.dir", logDir.toString());
        StringBuilder yaml = new StringBuilder("# written by FlinkSessionCluster (fedstream tests)\n");
        conf.forEach((k, v) -> yaml.append(k).append(": ").append(yamlValue(v)).append('\n'));
        Files.writeString(confDir.resolve("config.yaml"), yaml.toString());
        Files.writeString(confDir.resolve("log4j.properties"), String.join("\n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = MainAppender",
                "appender.main.name = MainAppender",
                "appender.main.type = File",
                "appender.main.append = true",
                "appender.main.fileName = ${sys:log.file}",
                "appender.main.layout.type = PatternLayout",
                "appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-60c %x - %m%n",
                "logger.kafka.name = org.apache.kafka",
                "logger.kafka.level = WARN",
                ""));
        for (String d : List.of("tmp", "web", "upload", "blobs")) {
            Files.createDirectories(dir.resolve(d));
        }

        // What BashJavaUtils hands to the scripts: memory JVM flags and the derived memory options.
        Configuration loaded = GlobalConfiguration.loadConfiguration(confDir.toString());
        JobManagerProcessSpec jm = JobManagerProcessUtils.processSpecFromConfig(loaded);
        TaskExecutorProcessSpec tm = TaskExecutorProcessUtils.processSpecFromConfig(loaded);

        Runtime.getRuntime().addShutdownHook(shutdownHook);
        jobManager = spawn("jobmanager", JOB_MANAGER_MAIN,
                split(JobManagerProcessUtils.generateJvmParametersStr(jm, loaded)),
                split(JobManagerProcessUtils.generateDynamicConfigsStr(jm)));
        // The scripts of a distribution add env.java.opts.taskmanager to the memory flags; so does this.
        List<String> taskManagerFlags = new ArrayList<>(split(ProcessMemoryUtils.generateJvmParametersStr(tm)));
        taskManagerFlags.addAll(taskManagerJavaOpts);
        taskManager = spawn("taskmanager", TASK_MANAGER_MAIN, taskManagerFlags,
                split(TaskExecutorProcessUtils.generateDynamicConfigsStr(tm)));
    }

    private Process spawn(String name, String mainClass, List<String> memoryFlags, List<String> dynamicConfig) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(memoryFlags);
        cmd.addAll(JAVA17_FLAGS);
        cmd.add("-Dlog.file=" + logDir.resolve(name + ".log"));
        cmd.add("-Dlog4j.configurationFile=" + confDir.resolve("log4j.properties").toUri());
        cmd.add("-Djava.io.tmpdir=" + dir.resolve("tmp"));
        cmd.add("-classpath");
        cmd.add(String.join(File.pathSeparator, classpath));
        cmd.add(mainClass);
        cmd.add("--configDir");
        cmd.add(confDir.toString());
        cmd.addAll(dynamicConfig);
        Files.writeString(logDir.resolve(name + ".cmd"), String.join(" ", cmd) + "\n");
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(logDir.resolve(name + ".out").toFile());
        pb.environment().put("FLINK_CONF_DIR", confDir.toString());
        pb.environment().put("FLINK_LOG_DIR", logDir.toString());
        return pb.start();
    }

    /** Waits until the TaskManager has registered all its slots with the JobManager. */
    public void awaitReady(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < end) {
            checkAlive();
            try {
                JsonNode overview = get("/overview");
                last = overview.toString();
                if (overview.path("taskmanagers").asInt() >= 1 && overview.path("slots-total").asInt() >= 1) {
                    return;
                }
            } catch (IOException | RuntimeException e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("Flink session cluster not ready after " + timeout + " (last /overview: " + last + ")\n"
                + logTails(40));
    }

    /** Fails with the processes' log tails if either has exited. */
    public void checkAlive() {
        for (Process p : new Process[] {jobManager, taskManager}) {
            if (p != null && !p.isAlive()) {
                throw new IllegalStateException("a Flink process exited with code " + p.exitValue()
                        + (p == jobManager ? " (jobmanager)" : " (taskmanager)") + "\n" + logTails(60));
            }
        }
    }

    public String restUrl() {
        return restUrl;
    }

    public Path directory() {
        return dir;
    }

    /** The classpath the processes were started with (a Flink distribution's lib/, see the class comment). */
    public List<String> classpath() {
        return classpath;
    }

    // ---- REST API ----

    /** {@code POST /jars/upload}; returns the jar id for {@link #runJar}. */
    public String uploadJar(Path jar) throws IOException, InterruptedException {
        String boundary = "----fedstream" + UUID.randomUUID().toString().replace("-", "");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"jarfile\"; filename=\"" + jar.getFileName() + "\"\r\n"
                + "Content-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(restUrl + "/jars/upload"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
                .build();
        JsonNode answer = send(request, 200);
        if (!"success".equals(answer.path("status").asText())) {
            throw new IllegalStateException("jar upload not accepted: " + answer);
        }
        String filename = answer.path("filename").asText();
        return filename.substring(filename.lastIndexOf('/') + 1);
    }

    /** {@code POST /jars/<id>/run}: runs the jar's main method in the JobManager; returns the job id. */
    public String runJar(String jarId, String entryClass, List<String> programArgs) throws IOException, InterruptedException {
        ObjectNode req = JSON.createObjectNode();
        req.put("entryClass", entryClass);
        req.putArray("programArgsList").addAll(programArgs.stream().map(JSON.getNodeFactory()::textNode).toList());
        HttpRequest request = HttpRequest.newBuilder(URI.create(restUrl + "/jars/" + jarId + "/run"))
                .timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(req)))
                .build();
        JsonNode answer = send(request, 200);
        String jobId = answer.path("jobid").asText("");
        if (jobId.isEmpty()) {
            throw new IllegalStateException("no job id in the answer of /jars/" + jarId + "/run: " + answer);
        }
        return jobId;
    }

    /** {@code GET /jobs/<id>}. */
    public JsonNode job(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId);
    }

    /** The job's state, e.g. RUNNING, FAILED, CANCELED. */
    public String jobState(String jobId) throws IOException, InterruptedException {
        return job(jobId).path("state").asText();
    }

    /**
     * Waits until the job is RUNNING and every vertex's tasks are RUNNING (so the job's classes were loaded from
     * the jar on the TaskManager); fails at once if it reaches a terminal state.
     */
    public JsonNode awaitJobRunning(String jobId, Duration timeout) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        JsonNode job = null;
        while (System.nanoTime() < end) {
            checkAlive();
            job = job(jobId);
            String state = job.path("state").asText();
            if (isTerminal(state)) {
                throw new IllegalStateException("job " + jobId + " reached " + state + " instead of RUNNING: "
                        + exceptions(jobId) + "\n" + logTails(60));
            }
            boolean allRunning = "RUNNING".equals(state) && job.path("vertices").size() > 0;
            for (JsonNode v : job.path("vertices")) {
                allRunning &= "RUNNING".equals(v.path("status").asText());
            }
            if (allRunning) {
                return job;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("job " + jobId + " not running after " + timeout + ": " + job + "\n" + logTails(60));
    }

    /** {@code GET /jobs/<id>/exceptions}, for failure messages. */
    public String exceptions(String jobId) {
        try {
            JsonNode ex = get("/jobs/" + jobId + "/exceptions");
            JsonNode root = ex.path("exceptionHistory").path("entries");
            if (root.size() > 0) {
                return root.get(0).path("stacktrace").asText();
            }
            return ex.toString();
        } catch (Exception e) {
            return "(no exceptions: " + e + ")";
        }
    }

    /** {@code PATCH /jobs/<id>?mode=cancel}; then waits up to {@code timeout} for the job to be terminal. */
    public void cancelJob(String jobId, Duration timeout) throws IOException, InterruptedException {
        if (isTerminal(jobState(jobId))) {
            return;
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(restUrl + "/jobs/" + jobId + "?mode=cancel"))
                .timeout(Duration.ofSeconds(30))
                .method("PATCH", HttpRequest.BodyPublishers.noBody())
                .build();
        send(request, 202);
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end && !isTerminal(jobState(jobId))) {
            Thread.sleep(200);
        }
    }

    public static boolean isTerminal(String state) {
        return state.equals("FAILED") || state.equals("CANCELED") || state.equals("FINISHED");
    }

    public JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(restUrl + path)).timeout(Duration.ofSeconds(10)).GET().build(), 200);
    }

    private JsonNode send(HttpRequest request, int expected) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != expected) {
            throw new IOException(request.method() + " " + request.uri() + " answered " + response.statusCode() + ": " + response.body());
        }
        String body = response.body();
        return body == null || body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
    }

    // ---- logs ----

    /** The last {@code lines} lines of every log and output file of the cluster, for failure messages. */
    public String logTails(int lines) {
        StringBuilder sb = new StringBuilder();
        for (String name : List.of("jobmanager.log", "jobmanager.out", "taskmanager.log", "taskmanager.out")) {
            Path f = logDir.resolve(name);
            sb.append("----- ").append(f).append(" (last ").append(lines).append(" lines) -----\n");
            try {
                if (Files.exists(f)) {
                    List<String> all = Files.readAllLines(f, StandardCharsets.UTF_8);
                    all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
                } else {
                    sb.append("(missing)\n");
                }
            } catch (IOException | UncheckedIOException e) {
                sb.append("(unreadable: ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /** The whole of one log file ({@code jobmanager.log}, {@code taskmanager.out}, ...). */
    public String log(String name) throws IOException {
        Path f = logDir.resolve(name);
        return Files.exists(f) ? Files.readString(f) : "";
    }

    // ---- shutdown ----

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop(taskManager);
            stop(jobManager);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException | IllegalArgumentException e) {
                // JVM shutting down, or the hook was never added.
            }
            if (Boolean.getBoolean(KEEP_PROPERTY)) {
                System.err.println("FlinkSessionCluster: kept " + dir + " (-D" + KEEP_PROPERTY + "=true)");
            } else {
                deleteRecursively(dir);
            }
        }
    }

    private static void stop(Process p) {
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private void killNow() {
        for (Process p : new Process[] {taskManager, jobManager}) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: it is a temp dir.
        }
    }

    // ---- classpath ----

    /**
     * The jars of this JVM's (test) classpath that a Flink distribution's lib/ would hold; see the class comment.
     * Surefire and failsafe run tests from a manifest-only jar, so the real classpath is read from
     * {@code surefire.test.class.path} when it is set.
     */
    static List<String> distributionClasspath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        List<String> out = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        for (String entry : cp.split(File.pathSeparator)) {
            String coordinate = coordinate(Path.of(entry));
            if (coordinate != null && inDistribution(coordinate) && seen.add(coordinate)) {
                out.add(entry);
            }
        }
        List<String> missing = REQUIRED.stream().filter(r -> !seen.contains(r)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("the test classpath lacks " + missing + " needed to start a Flink session cluster"
                    + " (declare them as test dependencies of fedctl)");
        }
        return out;
    }

    static boolean inDistribution(String coordinate) {
        if (coordinate.startsWith("org.apache.flink:")) {
            String artifact = coordinate.substring("org.apache.flink:".length());
            return NOT_IN_DIST.stream().noneMatch(artifact::startsWith);
        }
        return DIST_THIRD_PARTY.contains(coordinate);
    }

    /**
     * {@code groupId:artifactId} of a jar in a Maven repository layout
     * ({@code .../group/path/artifactId/version/artifactId-version[-classifier].jar}) whose group is one of a
     * Flink distribution's, or null for anything else (other groups, class folders, the fedstream modules' jars in
     * target/). Works whatever the local repository's location.
     */
    static String coordinate(Path jar) {
        Path name = jar.getFileName();
        if (name == null || !name.toString().endsWith(".jar") || jar.getNameCount() < 4) {
            return null;
        }
        Path versionDir = jar.getParent();
        Path artifactDir = versionDir.getParent();
        String artifact = artifactDir.getFileName().toString();
        if (!name.toString().startsWith(artifact + "-" + versionDir.getFileName())) {
            return null;
        }
        Path groupDir = artifactDir.getParent();
        return DIST_GROUPS.stream()
                .filter(g -> groupDir.endsWith(Path.of(g.replace('.', '/'))))
                .max(Comparator.comparingInt(String::length))
                .map(g -> g + ":" + artifact)
                .orElse(null);
    }

    private static List<String> split(String s) {
        return Arrays.stream(s.trim().split("\\s+")).filter(x -> !x.isEmpty()).toList();
    }

    private static String yamlValue(String v) {
        return v.matches("[A-Za-z0-9_./:@ -]*") && !v.contains(": ") ? v : "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}

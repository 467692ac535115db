package io.fedstream.faults;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;

/**
 * A real Kafka 4.2 broker as a child JVM: KRaft, one node that is both broker and controller, listening on
 * {@code PLAINTEXT://127.0.0.1:<port>} and {@code CONTROLLER://127.0.0.1:<cport>} (random free ports, loopback
 * only), single-node replication factors. The broker classes come from {@code kafka_2.13} on the test classpath
 * (through {@code kafka-test-common-runtime}); the storage is formatted once with {@code kafka.tools.StorageTool
 * format --standalone} (a single-node dynamic quorum, as the Kafka 4 quick start does), then the broker runs as
 * {@code kafka.Kafka server.properties}.
 *
 * <p>The ports and the log directory stay the same across {@link #stop()}/{@link #start()}, so a restarted broker
 * keeps its topics, records, consumer offsets and transactions. {@link #stop()} is SIGTERM (a controlled shutdown)
 * and waits; {@link #kill()} is SIGKILL. The broker runs as a {@link ChildJvm}: its output goes to
 * {@code kafka-broker.log} in its directory, appended across restarts; {@link #tail(int)} gives the end of it for
 * failure messages, and a shutdown hook kills the process if the test JVM dies first. {@link #close()} kills the
 * process and deletes the directory (kept with {@code -Dfedstream.faults.keep=true}).
 */
public final class KafkaBrokerProcess implements AutoCloseable {
    public static final String KEEP_PROPERTY = "fedstream.faults.keep";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

    private final Path dir;
    private final Path logDir;
    private final Path config;
    private final int port;
    private final int controllerPort;
    private final String clusterId;
    private final ChildJvm formatter;
    private final ChildJvm broker;

    private KafkaBrokerProcess(Path dir, int port, int controllerPort, List<String> jvmFlags) {
        this.dir = dir;
        this.logDir = dir.resolve("kafka-logs");
        this.config = dir.resolve("server.properties");
        this.port = port;
        this.controllerPort = controllerPort;
        this.clusterId = Uuid.randomUuid().toString();
        List<String> flags = new ArrayList<>(jvmFlags);
        flags.add("-Dlog4j2.configurationFile=" + dir.resolve("log4j2.properties").toUri());
        flags.add("-Dkafka.logs.dir=" + dir);
        this.formatter = new ChildJvm("kafka-storage-format", flags, brokerClasspath(), "kafka.tools.StorageTool",
                List.of("format", "--cluster-id", clusterId, "--config", config.toString(), "--standalone"), dir);
        this.broker = new ChildJvm("kafka-broker", flags, brokerClasspath(), "kafka.Kafka", List.of(config.toString()), dir);
    }

    /** Formats a broker in a new temporary directory and starts it; returns once it answers. */
    public static KafkaBrokerProcess launch() throws IOException, InterruptedException {
        KafkaBrokerProcess broker = create(Files.createTempDirectory("fedstream-kafka-broker-"));
        try {
            broker.start();
            return broker;
        } catch (IOException | InterruptedException | RuntimeException e) {
            broker.close();
            throw e;
        }
    }

    /** Writes the configuration into {@code dir} and formats the storage; does not start the broker. */
    public static KafkaBrokerProcess create(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        KafkaBrokerProcess broker = new KafkaBrokerProcess(dir, freePort(), freePort(),
                List.of("-Xms128m", "-Xmx400m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                        "-Djava.awt.headless=true"));
        broker.writeConfig();
        broker.format();
        return broker;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public int controllerPort() {
        return controllerPort;
    }

    public Path directory() {
        return dir;
    }

    public Path logFile() {
        return broker.log();
    }

    public boolean isRunning() {
        return broker.isAlive();
    }

    /** Starts the broker (again) on the same ports and data, and waits until it answers a metadata request. */
    public void start() throws IOException, InterruptedException {
        if (isRunning()) {
            throw new IllegalStateException("the broker is already running");
        }
        broker.start();
        awaitReady(READY_TIMEOUT);
    }

    /** SIGTERM: a controlled shutdown, which flushes the logs; waits until the process is gone (SIGKILL after 60 s). */
    public void stop() {
        broker.stop(60);
    }

    /** SIGKILL, and waits until the process is gone. */
    public void kill() {
        broker.kill();
    }

    /** The last {@code lines} lines of the broker's output. */
    public String tail(int lines) {
        return broker.tail(lines);
    }

    private void writeConfig() throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "4");
        p.put("background.threads", "4");
        p.put("log.cleaner.threads", "1");
        StringBuilder sb = new StringBuilder("# written by KafkaBrokerProcess (fedstream fault tests)\n");
        p.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        Files.writeString(config, sb.toString());
        Files.writeString(dir.resolve("log4j2.properties"), String.join("\n",
                "status = warn",
                "appender.out.type = Console",
                "appender.out.name = out",
                "appender.out.layout.type = PatternLayout",
                "appender.out.layout.pattern = %d{HH:mm:ss.SSS} %-5level [%t] %c{1} - %msg%n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.out.ref = out",
                // Start, stop and leadership lines, so a failure message shows what the broker went through.
                "logger.server.name = kafka.server.KafkaRaftServer",
                "logger.server.level = INFO",
                "logger.broker.name = kafka.server.BrokerServer",
                "logger.broker.level = INFO",
                "logger.controller.name = kafka.server.ControllerServer",
                "logger.controller.level = INFO",
                ""));
    }

    private void format() throws InterruptedException {
        formatter.start();
        if (!formatter.awaitExit(120_000)) {
            formatter.kill();
            throw new IllegalStateException("kafka-storage format did not finish in 120 s\n" + formatter.tail(40));
        }
        if (formatter.exitCode() != 0) {
            throw new IllegalStateException("kafka-storage format failed (exit " + formatter.exitCode() + ")\n"
                    + formatter.tail(40));
        }
    }

    /**
     * The test classpath without the fedstream modules' own output and test classes: the broker needs only the
     * Kafka jars and their dependencies, and must not pick up the tests' logging configuration.
     */
    private static String brokerClasspath() {
        List<String> out = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.isEmpty() || Files.isDirectory(Path.of(e))) {
                continue;
            }
            out.add(e);
        }
        return String.join(File.pathSeparator, out);
    }

    private void awaitReady(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        // First the listener (quietly: an admin client logs a warning for every refused connection) ...
        while (!accepts(port)) {
            requireStarting();
            if (System.nanoTime() > end) {
                throw new IllegalStateException("the Kafka broker did not listen on " + bootstrapServers() + " within "
                        + timeout.toSeconds() + " s\n" + tail(60));
            }
            Thread.sleep(200);
        }
        // ... then a metadata answer with the broker in it.
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        Exception last = null;
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < end) {
                requireStarting();
                try {
                    if (!admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000)).nodes()
                            .get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    last = e;
                }
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("the Kafka broker did not answer within " + timeout.toSeconds() + " s ("
                + last + ")\n" + tail(60));
    }

    private void requireStarting() {
        Integer exit = broker.exitCode();
        if (exit != null) {
            throw new IllegalStateException("the Kafka broker exited with code " + exit + " while starting\n" + tail(60));
        }
    }

    private static boolean accepts(int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        broker.close();
        formatter.close();
        cleanup(dir);
    }

    /** Deletes a test's directory, unless {@code -Dfedstream.faults.keep=true} asks to keep it for a post-mortem. */
    static void cleanup(Path root) {
        if (Boolean.getBoolean(KEEP_PROPERTY)) {
            System.out.println("kept " + root);
            return;
        }
        deleteTree(root);
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // Temporary files; best effort.
        }
    }

    @Override
    public String toString() {
        return "kafka broker " + bootstrapServers() + " in " + dir;
    }
}

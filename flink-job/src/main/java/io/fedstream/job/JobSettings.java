package io.fedstream.job;

import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.protocol.Topics;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every setting of the aggregation job, with validated defaults. Built with {@link #builder()} or parsed from
 * program arguments ({@code --name value}) by {@link #fromArgs(String[])}, which is what {@code flink run} uses.
 */
public final class JobSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Delivery { AT_LEAST_ONCE, EXACTLY_ONCE }

    /** The flags, in --help order. */
    public static final List<Flag> FLAGS = List.of(
        Flag.of("bootstrap-servers", null, "Kafka bootstrap servers (required)"),
        Flag.of("federation", "demo", "federation id; namespaces every topic"),
        Flag.of("min-clients", "2", "clients that must check in before round 0 starts"),
        Flag.of("clients-per-round", "2", "clients selected per round (seeded sampling of the live clients)"),
        Flag.of("rounds", "10", "number of training rounds"),
        Flag.of("seed", "42", "seed of client selection and of the clients' local shuffling"),
        Flag.of("local-epochs", "1", "local epochs per round, sent to the clients in each plan"),
        Flag.of("batch-size", "32", "local mini-batch size, sent in each plan"),
        Flag.of("learning-rate", "0.1", "local SGD learning rate, sent in each plan"),
        Flag.of("round-timeout", "PT10M", "deadline of a round, sent in each plan (30s, 5m or ISO-8601)"),
        Flag.of("min-clients-per-round", "0", "quorum: at the deadline a round closes if this many committed, else it is "
                + "re-planned with a fresh selection (0 = half of --clients-per-round, rounded up)"),
        Flag.of("over-selection", "0", "select this fraction more clients than --clients-per-round and close the round at "
                + "the first --clients-per-round commits (e.g. 0.3)"),
        Flag.of("heartbeat-ttl", "PT30S", "a client not heard from for this long is not selected until it is back"),
        Flag.of("max-load", "0", "skip clients whose reported load per core is above this (0 = no resource filter)"),
        Flag.of("parallelism", "1", "parallelism of the source, router and chunk aggregators"),
        Flag.of("delivery", "at-least-once", "at-least-once (low latency) or exactly-once (transactional sink on checkpoints)"),
        Flag.of("checkpoint-interval", "PT10S", "checkpoint interval"),
        Flag.of("buffer-timeout", "5ms", "longest time a record waits in a Flink network buffer before it is sent on "
                + "(Flink's default is 100ms; a round passes several exchanges, so this bounds its overhead)"),
        Flag.of("state-ttl", "PT24H", "time-to-live of per-round aggregation state that never completes"),
        Flag.of("restore-from", "", "start from this checkpoint or savepoint path (a chk-N or savepoint folder), "
                + "or 'latest' for the newest checkpoint under --checkpoint-dir"),
        Flag.of("checkpoint-dir", "", "checkpoint directory URI, e.g. file:///var/fedstream/checkpoints (default: the cluster's)"),
        Flag.of("group-id", "", "Kafka consumer group of the job (default fedstream-<federation>-job)"));

    private static final FlagParser PARSER = new FlagParser(FLAGS);

    /** Default of {@code --buffer-timeout}. */
    public static final Duration DEFAULT_BUFFER_TIMEOUT = Duration.ofMillis(5);

    private final String bootstrapServers;
    private final String federation;
    private final int minClients;
    private final int clientsPerRound;
    private final int rounds;
    private final long seed;
    private final int localEpochs;
    private final int batchSize;
    private final double learningRate;
    private final Duration roundTimeout;
    private final int minClientsPerRound;
    private final double overSelection;
    private final Duration heartbeatTtl;
    private final double maxLoad;
    private final String restoreFrom;
    private final int parallelism;
    private final Delivery delivery;
    private final Duration checkpointInterval;
    private final Duration stateTtl;
    private final Duration bufferTimeout;
    private final String groupId;
    private final String checkpointDir;

    private JobSettings(Builder b) {
        this.bootstrapServers = b.bootstrapServers;
        this.federation = b.federation;
        this.minClients = b.minClients;
        this.clientsPerRound = b.clientsPerRound;
        this.rounds = b.rounds;
        this.seed = b.seed;
        this.localEpochs = b.localEpochs;
        this.batchSize = b.batchSize;
        this.learningRate = b.learningRate;
        this.roundTimeout = b.roundTimeout;
        this.minClientsPerRound = b.minClientsPerRound > 0 ? b.minClientsPerRound : (b.clientsPerRound + 1) / 2;
        this.overSelection = b.overSelection;
        this.heartbeatTtl = b.heartbeatTtl;
        this.maxLoad = b.maxLoad;
        this.restoreFrom = b.restoreFrom == null ? "" : b.restoreFrom.trim();
        this.parallelism = b.parallelism;
        this.delivery = b.delivery;
        this.checkpointInterval = b.checkpointInterval;
        this.stateTtl = b.stateTtl;
        this.bufferTimeout = b.bufferTimeout;
        this.checkpointDir = b.checkpointDir == null ? "" : b.checkpointDir.trim();
        this.groupId = b.groupId == null || b.groupId.isEmpty() ? "fedstream-" + b.federation + "-job" : b.groupId;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String bootstrapServers() { return bootstrapServers; }
    public String federation() { return federation; }
    public Topics topics() { return new Topics(federation); }
    public int minClients() { return minClients; }
    public int clientsPerRound() { return clientsPerRound; }
    public int rounds() { return rounds; }
    public long seed() { return seed; }
    public int localEpochs() { return localEpochs; }
    public int batchSize() { return batchSize; }
    public double learningRate() { return learningRate; }
    public Duration roundTimeout() { return roundTimeout; }
    /** Commits needed to close a round at its deadline. */
    public int minClientsPerRound() { return minClientsPerRound; }
    public double overSelection() { return overSelection; }
    /** Clients selected per round: --clients-per-round plus the over-selection. */
    public int selectedPerRound() { return (int) Math.ceil(clientsPerRound * (1 + overSelection) - 1e-9); }
    public Duration heartbeatTtl() { return heartbeatTtl; }
    public double maxLoad() { return maxLoad; }
    /** Empty for a fresh start. */
    public String restoreFrom() { return restoreFrom; }
    public int parallelism() { return parallelism; }
    public Delivery delivery() { return delivery; }
    public Duration checkpointInterval() { return checkpointInterval; }
    public Duration stateTtl() { return stateTtl; }
    public Duration bufferTimeout() { return bufferTimeout; }
    public String groupId() { return groupId; }
    /** Empty when the cluster's configured checkpoint storage is used. */
    public String checkpointDir() { return checkpointDir; }

    /** The settings as program arguments, so a launcher can hand them to {@code flink run} unchanged. */
    public List<String> toArgs() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("bootstrap-servers", bootstrapServers);
        m.put("federation", federation);
        m.put("min-clients", String.valueOf(minClients));
        m.put("clients-per-round", String.valueOf(clientsPerRound));
        m.put("rounds", String.valueOf(rounds));
        m.put("seed", String.valueOf(seed));
        m.put("local-epochs", String.valueOf(localEpochs));
        m.put("batch-size", String.valueOf(batchSize));
        m.put("learning-rate", String.valueOf(learningRate));
        m.put("round-timeout", roundTimeout.toString());
        m.put("min-clients-per-round", String.valueOf(minClientsPerRound));
        m.put("over-selection", String.valueOf(overSelection));
        m.put("heartbeat-ttl", heartbeatTtl.toString());
        m.put("max-load", String.valueOf(maxLoad));
        m.put("restore-from", restoreFrom);
        m.put("parallelism", String.valueOf(parallelism));
        m.put("delivery", delivery.name().toLowerCase().replace('_', '-'));
        m.put("checkpoint-interval", checkpointInterval.toString());
        m.put("state-ttl", stateTtl.toString());
        m.put("buffer-timeout", bufferTimeout.toMillis() + "ms");
        m.put("group-id", groupId);
        m.put("checkpoint-dir", checkpointDir);
        List<String> out = new ArrayList<>();
        m.forEach((k, v) -> {
            out.add("--" + k);
            out.add(v);
        });
        return out;
    }

    public static String help() {
        return "fedstream aggregation job\n\nUsage: flink run flink-job-<version>-flink.jar --bootstrap-servers HOST:PORT [--flag value ...]\n\nFlags:\n"
                + PARSER.help();
    }

    /**
     * Parses {@code --name value} pairs. Unknown flags, missing values and bad values raise
     * {@link IllegalArgumentException} with a message saying what was wrong and how to fix it.
     */
    public static JobSettings fromArgs(String[] args) {
        Map<String, String> v = PARSER.parse(args);
        return builder()
                .bootstrapServers(FlagParser.require(v, "bootstrap-servers", "127.0.0.1:9092"))
                .federation(v.get("federation"))
                .minClients(FlagParser.intValue(v, "min-clients"))
                .clientsPerRound(FlagParser.intValue(v, "clients-per-round"))
                .rounds(FlagParser.intValue(v, "rounds"))
                .seed(FlagParser.longValue(v, "seed"))
                .localEpochs(FlagParser.intValue(v, "local-epochs"))
                .batchSize(FlagParser.intValue(v, "batch-size"))
                .learningRate(FlagParser.doubleValue(v, "learning-rate"))
                .roundTimeout(FlagParser.durationValue(v, "round-timeout"))
                .minClientsPerRound(FlagParser.intValue(v, "min-clients-per-round"))
                .overSelection(FlagParser.doubleValue(v, "over-selection"))
                .heartbeatTtl(FlagParser.durationValue(v, "heartbeat-ttl"))
                .maxLoad(FlagParser.doubleValue(v, "max-load"))
                .restoreFrom(v.get("restore-from"))
                .parallelism(FlagParser.intValue(v, "parallelism"))
                .delivery(deliveryFlag(v.get("delivery")))
                .checkpointInterval(FlagParser.durationValue(v, "checkpoint-interval"))
                .stateTtl(FlagParser.durationValue(v, "state-ttl"))
                .bufferTimeout(FlagParser.durationValue(v, "buffer-timeout"))
                .groupId(v.get("group-id"))
                .checkpointDir(v.get("checkpoint-dir"))
                .build();
    }

    public static Delivery deliveryFlag(String s) {
        return switch (s.trim().toLowerCase()) {
            case "at-least-once", "at_least_once" -> Delivery.AT_LEAST_ONCE;
            case "exactly-once", "exactly_once" -> Delivery.EXACTLY_ONCE;
            default -> throw new IllegalArgumentException("--delivery must be at-least-once or exactly-once, got '" + s + "'");
        };
    }

    /** Builder with validated defaults; {@link #build()} checks every value and names the bad one. */
    public static final class Builder {
        private String bootstrapServers;
        private String federation = "demo";
        private int minClients = 2;
        private int clientsPerRound = 2;
        private int rounds = 10;
        private long seed = 42;
        private int localEpochs = 1;
        private int batchSize = 32;
        private double learningRate = 0.1;
        private Duration roundTimeout = Duration.ofMinutes(10);
        private int minClientsPerRound;
        private double overSelection;
        private Duration heartbeatTtl = Duration.ofSeconds(30);
        private double maxLoad;
        private String restoreFrom = "";
        private int parallelism = 1;
        private Delivery delivery = Delivery.AT_LEAST_ONCE;
        private Duration checkpointInterval = Duration.ofSeconds(10);
        private Duration stateTtl = Duration.ofHours(24);
        private Duration bufferTimeout = DEFAULT_BUFFER_TIMEOUT;
        private String groupId;
        private String checkpointDir = "";

        public Builder bootstrapServers(String v) { this.bootstrapServers = v; return this; }
        public Builder federation(String v) { this.federation = v; return this; }
        public Builder minClients(int v) { this.minClients = v; return this; }
        public Builder clientsPerRound(int v) { this.clientsPerRound = v; return this; }
        public Builder rounds(int v) { this.rounds = v; return this; }
        public Builder seed(long v) { this.seed = v; return this; }
        public Builder localEpochs(int v) { this.localEpochs = v; return this; }
        public Builder batchSize(int v) { this.batchSize = v; return this; }
        public Builder learningRate(double v) { this.learningRate = v; return this; }
        public Builder roundTimeout(Duration v) { this.roundTimeout = v; return this; }
        public Builder minClientsPerRound(int v) { this.minClientsPerRound = v; return this; }
        public Builder overSelection(double v) { this.overSelection = v; return this; }
        public Builder heartbeatTtl(Duration v) { this.heartbeatTtl = v; return this; }
        public Builder maxLoad(double v) { this.maxLoad = v; return this; }
        public Builder restoreFrom(String v) { this.restoreFrom = v; return this; }
        public Builder parallelism(int v) { this.parallelism = v; return this; }
        public Builder delivery(Delivery v) { this.delivery = v; return this; }
        public Builder checkpointInterval(Duration v) { this.checkpointInterval = v; return this; }
        public Builder stateTtl(Duration v) { this.stateTtl = v; return this; }
        public Builder bufferTimeout(Duration v) { this.bufferTimeout = v; return this; }
        public Builder groupId(String v) { this.groupId = v; return this; }
        public Builder checkpointDir(String v) { this.checkpointDir = v; return this; }

        public JobSettings build() {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("--bootstrap-servers is required, e.g. --bootstrap-servers 127.0.0.1:9092");
            }
            Topics.requireId("federation", federation);
            positive("min-clients", minClients);
            positive("clients-per-round", clientsPerRound);
            positive("rounds", rounds);
            positive("local-epochs", localEpochs);
            positive("batch-size", batchSize);
            positive("parallelism", parallelism);
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("--learning-rate must be a positive number, got " + learningRate);
            }
            if (minClientsPerRound < 0 || minClientsPerRound > clientsPerRound) {
                throw new IllegalArgumentException("--min-clients-per-round must be between 0 and --clients-per-round ("
                        + clientsPerRound + "), got " + minClientsPerRound);
            }
            if (!(overSelection >= 0 && overSelection <= 10)) {
                throw new IllegalArgumentException("--over-selection must be a fraction between 0 and 10, got " + overSelection);
            }
            if (!(maxLoad >= 0) || Double.isInfinite(maxLoad)) {
                throw new IllegalArgumentException("--max-load must be 0 (off) or a positive load per core, got " + maxLoad);
            }
            if (heartbeatTtl.isNegative() || heartbeatTtl.isZero()) {
                throw new IllegalArgumentException("--heartbeat-ttl must be positive, got " + heartbeatTtl);
            }
            if (roundTimeout.isNegative() || roundTimeout.isZero()) {
                throw new IllegalArgumentException("--round-timeout must be positive, got " + roundTimeout);
            }
            if (checkpointInterval.toMillis() < 10) {
                throw new IllegalArgumentException("--checkpoint-interval must be at least 10 ms, got " + checkpointInterval);
            }
            if (bufferTimeout.isNegative()) {
                throw new IllegalArgumentException("--buffer-timeout must be 0 or more, got " + bufferTimeout.toMillis() + "ms");
            }
            if (stateTtl.isNegative() || stateTtl.isZero()) {
                throw new IllegalArgumentException("--state-ttl must be positive, got " + stateTtl);
            }
            return new JobSettings(this);
        }

        private static void positive(String name, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException("--" + name + " must be at least 1, got " + v);
            }
        }
    }
}

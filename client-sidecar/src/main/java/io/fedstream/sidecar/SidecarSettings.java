package io.fedstream.sidecar;

import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.protocol.Topics;
import io.fedstream.train.ModelKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Settings of one training sidecar, with validated defaults. Parsed from flags ({@code --name value}); every flag
 * may also come from the environment as {@code FEDSTREAM_<NAME>} (upper case, '-' as '_'), flags winning.
 */
public final class SidecarSettings {
    public static final List<Flag> FLAGS = List.of(
        Flag.of("bootstrap-servers", null, "Kafka bootstrap servers (required)"),
        Flag.of("federation", "demo", "federation id"),
        Flag.of("client-id", null, "this sidecar's client id (required): letters, digits, '_' or '-'"),
        Flag.of("data", null, "silo folder with train/test files (required; see `fedstream partition`)"),
        Flag.of("model", "mlp", "model: logreg, mlp or cnn (must match the federation's initial model)"),
        Flag.of("seed", "42", "seed of the model built here (its spec must match the initial model's)"),
        Flag.of("checkin-interval", "PT2S", "how often to repeat the check-in until a plan arrives"),
        Flag.of("heartbeat-interval", "PT5S", "how often to send a heartbeat once the sidecar has a plan"),
        Flag.of("create-topics", "true", "create this client's own topics if missing (needs create rights)"));

    private static final FlagParser PARSER = new FlagParser(FLAGS, "FEDSTREAM_");

    private final String bootstrapServers;
    private final String federation;
    private final String clientId;
    private final Path data;
    private final ModelKind model;
    private final long seed;
    private final Duration checkinInterval;
    private final Duration heartbeatInterval;
    private final boolean createTopics;

    private SidecarSettings(Builder b) {
        this.bootstrapServers = b.bootstrapServers;
        this.federation = b.federation;
        this.clientId = b.clientId;
        this.data = b.data;
        this.model = b.model;
        this.seed = b.seed;
        this.checkinInterval = b.checkinInterval;
        this.heartbeatInterval = b.heartbeatInterval;
        this.createTopics = b.createTopics;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String bootstrapServers() { return bootstrapServers; }
    public String federation() { return federation; }
    public Topics topics() { return new Topics(federation); }
    public String clientId() { return clientId; }
    public Path data() { return data; }
    public ModelKind model() { return model; }
    public long seed() { return seed; }
    public Duration checkinInterval() { return checkinInterval; }
    public Duration heartbeatInterval() { return heartbeatInterval; }
    public boolean createTopics() { return createTopics; }

    public static String help() {
        return "Usage: fedstream sidecar --bootstrap-servers HOST:PORT --client-id ID --data DIR [flags]\n\nFlags:\n" + PARSER.help();
    }

    public static SidecarSettings fromArgs(String[] args, Map<String, String> env) {
        Map<String, String> v = PARSER.parse(args, env);
        Builder b = builder()
                .bootstrapServers(FlagParser.require(v, "bootstrap-servers", "127.0.0.1:9092"))
                .federation(v.get("federation"))
                .clientId(FlagParser.require(v, "client-id", "silo-1"))
                .data(Path.of(FlagParser.require(v, "data", "silos/silo-0")))
                .checkinInterval(FlagParser.durationValue(v, "checkin-interval"))
                .heartbeatInterval(FlagParser.durationValue(v, "heartbeat-interval"))
                .createTopics(FlagParser.booleanValue(v, "create-topics"))
                .seed(FlagParser.longValue(v, "seed"));
        try {
            b.model(ModelKind.parse(v.get("model")));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--model must be logreg, mlp or cnn, got '" + v.get("model") + "'");
        }
        return b.build();
    }

    public static final class Builder {
        private String bootstrapServers;
        private String federation = "demo";
        private String clientId;
        private Path data;
        private ModelKind model = ModelKind.MLP;
        private long seed = 42;
        private Duration checkinInterval = Duration.ofSeconds(2);
        private Duration heartbeatInterval = Duration.ofSeconds(5);
        private boolean createTopics = true;

        public Builder bootstrapServers(String v) { this.bootstrapServers = v; return this; }
        public Builder federation(String v) { this.federation = v; return this; }
        public Builder clientId(String v) { this.clientId = v; return this; }
        public Builder data(Path v) { this.data = v; return this; }
        public Builder model(ModelKind v) { this.model = v; return this; }
        public Builder seed(long v) { this.seed = v; return this; }
        public Builder checkinInterval(Duration v) { this.checkinInterval = v; return this; }
        public Builder heartbeatInterval(Duration v) { this.heartbeatInterval = v; return this; }
        public Builder createTopics(boolean v) { this.createTopics = v; return this; }

        public SidecarSettings build() {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("--bootstrap-servers is required, e.g. --bootstrap-servers 127.0.0.1:9092");
            }
            if (clientId == null) {
                throw new IllegalArgumentException("--client-id is required, e.g. --client-id silo-1");
            }
            Topics.requireId("client id", clientId);
            Topics.requireId("federation", federation);
            if (data == null) {
                throw new IllegalArgumentException("--data is required: a silo folder made by `fedstream partition`");
            }
            if (checkinInterval.isNegative() || checkinInterval.isZero() || heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
                throw new IllegalArgumentException("--checkin-interval and --heartbeat-interval must be positive");
            }
            return new SidecarSettings(this);
        }
    }
}

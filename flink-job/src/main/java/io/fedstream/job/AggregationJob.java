package io.fedstream.job;

import io.fedstream.aggregate.ChunkAggregator;
import io.fedstream.aggregate.ChunkInput;
import io.fedstream.aggregate.FedAvg;
import io.fedstream.protocol.Topics;
import io.fedstream.round.CoordinatorFunction;
import io.fedstream.round.RoundEvent;
import io.fedstream.validate.Router;
import io.fedstream.wire.Routed;
import io.fedstream.wire.RoutedSerializer;
import io.fedstream.wire.WireRecord;
import io.fedstream.wire.WireRecordDeserializer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The fedstream aggregation job.
 *
 * <pre>
 * kafka (checkin, control, models, client.*.updates)
 *   -> router --(bad records)--> dead-letter topic
 *        |-- protocol records --> keyBy(federation) -> round coordinator --> plans, decisions, manifests, summaries
 *        |                                                  | orders per chunk
 *        '-- chunk data ------------------------------------+-> keyBy(round, chunk) -> chunk aggregator
 *                                                                  --> models topic, completion notices
 *                                                                  --> clients' model topics (a sink of their own)
 * </pre>
 *
 * The loop from the aggregators back to the coordinator (a chunk is done) and from one round's output to the
 * next round's base model runs through Kafka, so every step of a federation is a record that can be replayed.
 * Chunk data crosses the keyBy exchange as a reference only when its aggregator runs in the router's JVM: the
 * bytes are handed over in memory ({@link io.fedstream.aggregate.LocalHandoff}).
 */
public final class AggregationJob {
    private AggregationJob() {}

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.println(JobSettings.help());
            return;
        }
        JobSettings settings;
        try {
            settings = JobSettings.fromArgs(args);
        } catch (IllegalArgumentException e) {
            // Never System.exit: a jar run through a session cluster's REST API runs main inside the JobManager,
            // and exiting would take every other job on that cluster down with it.
            throw new IllegalArgumentException(e.getMessage() + "\n\n" + JobSettings.help(), e);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        build(env, settings);
        env.execute(jobName(settings));
    }

    /** Upper bound of one fetch of the job's Kafka source (the consumer default is 50 MiB). */
    static final int FETCH_MAX_BYTES = 8 * 1024 * 1024;
    /** Upper bound of one partition's share of a fetch (the consumer default is 1 MiB, a single update chunk). */
    static final int PARTITION_FETCH_MAX_BYTES = 4 * 1024 * 1024;

    /**
     * The Kafka consumer settings of the job's source, beyond its group and starting offsets. Public so that a
     * benchmark's plain consumer can read with the same settings as the job it is compared with.
     */
    public static Map<String, String> consumerSettings() {
        Map<String, String> p = new LinkedHashMap<>();
        // Half-sent updates (aborted or open transactions) are never read.
        p.put("isolation.level", "read_committed");
        // There is a partition per client: bound the whole fetch so that the memory of records in flight does not
        // grow with the number of clients.
        p.put("fetch.max.bytes", String.valueOf(FETCH_MAX_BYTES));
        // A few chunks of a partition per fetch rather than one: fewer round trips for the same bytes.
        p.put("max.partition.fetch.bytes", String.valueOf(PARTITION_FETCH_MAX_BYTES));
        // The consumer's default fixes the socket's receive buffer at 64 KiB, which one fetch of 1 MiB records
        // fills over a hundred times; with the operating system sizing it, a fetch arrives in far fewer reads. In
        // the benchmark, the fetchers and the broker then spent about 40% less CPU for the same bytes.
        p.put("receive.buffer.bytes", "-1");
        return p;
    }

    private static Properties consumerProperties() {
        Properties p = new Properties();
        p.putAll(consumerSettings());
        return p;
    }

    public static String jobName(JobSettings settings) {
        return "fedstream-" + settings.federation();
    }

    /** Adds the job's pipeline to {@code env}. */
    public static void build(StreamExecutionEnvironment env, JobSettings settings) {
        Topics topics = settings.topics();
        env.setParallelism(settings.parallelism());
        env.setBufferTimeout(settings.bufferTimeout().toMillis());
        // Chained operators hand records over as they are instead of copying them (a copy of every 1 MiB update
        // chunk and model copy otherwise). Safe here: no function keeps or changes a record it was given.
        env.getConfig().enableObjectReuse();
        env.enableCheckpointing(settings.checkpointInterval().toMillis(),
                settings.delivery() == JobSettings.Delivery.EXACTLY_ONCE ? CheckpointingMode.EXACTLY_ONCE : CheckpointingMode.AT_LEAST_ONCE);
        Configuration c = new Configuration();
        if (!settings.checkpointDir().isEmpty()) {
            c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, settings.checkpointDir());
            // Kept when the job is cancelled or dies, so it can be restarted from where it was.
            c.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        }
        if (!settings.restoreFrom().isEmpty()) {
            c.set(StateRecoveryOptions.SAVEPOINT_PATH, CheckpointLocator.resolve(settings));
        }
        env.configure(c);

        KafkaSource<WireRecord> source = KafkaSource.<WireRecord>builder()
                .setBootstrapServers(settings.bootstrapServers())
                .setTopicPattern(topics.jobInputPattern())
                .setGroupId(settings.groupId())
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new WireRecordDeserializer())
                // New clients bring new updates topics; find them quickly.
                .setProperty("partition.discovery.interval.ms", "1000")
                .setProperties(consumerProperties())
                .build();

        DataStream<WireRecord> input = env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka-input")
                .uid("kafka-input");

        SingleOutputStreamOperator<RoundEvent> routed = input.process(new Router(settings.federation()))
                .name("validate-and-route").uid("router");

        SingleOutputStreamOperator<Routed> coordinator = routed
                .keyBy(new FederationKey(settings.federation()))
                .process(new CoordinatorFunction(settings))
                .name("round-coordinator").uid("round-coordinator")
                .setParallelism(1);

        DataStream<ChunkInput> chunkInputs = routed.getSideOutput(Router.CHUNKS)
                .union(coordinator.getSideOutput(CoordinatorFunction.CHUNK_ORDERS));

        SingleOutputStreamOperator<Routed> aggregated = chunkInputs
                .keyBy(new RoundChunkKey())
                .process(new ChunkAggregator(settings.federation(), settings.bootstrapServers(), new FedAvg(), settings.stateTtl()))
                .name("chunk-aggregator").uid("chunk-aggregator");

        DataStream<Routed> output = coordinator.union(aggregated, routed.getSideOutput(Router.REJECTS));
        output.sinkTo(sink(settings, "job")).name("kafka-output").uid("kafka-output");
        aggregated.getSideOutput(ChunkAggregator.MODEL_COPIES)
                .sinkTo(sink(settings, "copies")).name("kafka-model-copies").uid("kafka-model-copies");
    }

    /** A sink for Routed records; {@code role} names its transactions (a sink's own, for exactly-once). */
    private static KafkaSink<Routed> sink(JobSettings settings, String role) {
        Properties producer = new Properties();
        producer.setProperty("linger.ms", "1");
        producer.setProperty("batch.size", String.valueOf(1024 * 1024));
        // Must not exceed the broker's transaction.max.timeout.ms (15 minutes by default).
        producer.setProperty("transaction.timeout.ms", "600000");
        boolean exactlyOnce = settings.delivery() == JobSettings.Delivery.EXACTLY_ONCE;
        return KafkaSink.<Routed>builder()
                .setBootstrapServers(settings.bootstrapServers())
                .setRecordSerializer(new RoutedSerializer())
                .setDeliveryGuarantee(exactlyOnce ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE)
                .setTransactionalIdPrefix("fedstream-" + settings.federation() + "-" + role)
                .setKafkaProducerConfig(producer)
                .build();
    }

    /** Every protocol record of the job's federation goes to the one coordinator. */
    static final class FederationKey implements KeySelector<RoundEvent, String> {
        private static final long serialVersionUID = 1L;
        private final String federation;

        FederationKey(String federation) {
            this.federation = federation;
        }

        @Override
        public String getKey(RoundEvent value) {
            return federation;
        }
    }

    static final class RoundChunkKey implements KeySelector<ChunkInput, Long> {
        private static final long serialVersionUID = 1L;

        @Override
        public Long getKey(ChunkInput value) {
            return value.key();
        }
    }
}

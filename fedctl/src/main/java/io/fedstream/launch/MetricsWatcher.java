package io.fedstream.launch;

import io.fedstream.avro.Finish;
import io.fedstream.avro.RoundSummary;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Follows a federation's metrics topic: round summaries as they come, until the finish message. */
public final class MetricsWatcher implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;

    public MetricsWatcher(String bootstrapServers, Topics topics) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "fedstream-watch-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumer = new KafkaConsumer<>(p);
        consumer.subscribe(List.of(topics.metrics()));
    }

    /**
     * Calls {@code onRound} for every summary until the finish message arrives, {@code keepGoing} turns false,
     * or the timeout passes; returns the finish message or null.
     */
    public Finish follow(Consumer<RoundSummary> onRound, Duration timeout, java.util.function.BooleanSupplier keepGoing) {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end && keepGoing.getAsBoolean()) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                SpecificRecord record;
                try {
                    record = WireCodec.get().decode(r.value());
                } catch (WireFormatException e) {
                    continue;
                }
                if (record instanceof RoundSummary s) {
                    onRound.accept(s);
                } else if (record instanceof Finish f) {
                    return f;
                }
            }
        }
        return null;
    }

    @Override
    public void close() {
        consumer.close();
    }
}

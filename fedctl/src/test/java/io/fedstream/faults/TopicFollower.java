package io.fedstream.faults;

import io.fedstream.bench.TopicScan;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Follows some of a federation's topics from their beginning ({@code read_committed}, as the job and the sidecars
 * read), keeps every decoded record, and waits for the first record that matches. Survives a broker restart:
 * the consumer reconnects on its own.
 */
final class TopicFollower implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<SpecificRecord> seen = new ArrayList<>();

    TopicFollower(String bootstrap, Collection<String> topics) {
        consumer = new KafkaConsumer<>(props(bootstrap));
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : topics) {
            consumer.partitionsFor(t, Duration.ofSeconds(60)).forEach(i -> parts.add(new TopicPartition(t, i.partition())));
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    private static Properties props(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "fedstream-faults-" + UUID.randomUUID());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return p;
    }

    /**
     * The first record (already seen or arriving within {@code timeout}) of {@code type} that matches; between
     * polls {@code check} runs and may throw (a process that must stay up has died).
     */
    <T extends SpecificRecord> T await(Class<T> type, Predicate<T> match, Duration timeout, Runnable check, String what) {
        long end = System.nanoTime() + timeout.toNanos();
        int scanned = 0;
        while (true) {
            for (; scanned < seen.size(); scanned++) {
                SpecificRecord r = seen.get(scanned);
                if (type.isInstance(r) && match.test(type.cast(r))) {
                    return type.cast(r);
                }
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            check.run();
            poll(Duration.ofMillis(100));
        }
    }

    /** Reads whatever has arrived, without waiting longer than {@code wait}. */
    void poll(Duration wait) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(wait)) {
            try {
                seen.add(WireCodec.get().decode(r.value()));
            } catch (WireFormatException e) {
                throw new AssertionError("undecodable record on " + r.topic() + " at " + r.offset(), e);
            }
        }
    }

    /** Every record of {@code type} seen so far, in order. */
    <T extends SpecificRecord> List<T> seen(Class<T> type) {
        return seen.stream().filter(type::isInstance).map(type::cast).toList();
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }

    /** A whole topic as it is now, decoded. */
    static <T extends SpecificRecord> List<T> readAll(String bootstrap, String topic, Class<T> type) {
        return TopicScan.decoded(bootstrap, topic, type, Duration.ofSeconds(60));
    }
}

package io.fedstream.bench;

import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads whole topics as they are now ({@code read_committed}, no consumer group), one record at a time: the
 * benchmark's plain consumer, its reference check, and the tests' readers of what a federation wrote.
 */
public final class TopicScan {
    private TopicScan() {}

    /** What a plain read of some topics took. */
    public record ReadStats(long records, long bytes, long maxRecordBytes, long nanos) {
        public double mbPerSecond() {
            return nanos == 0 ? 0 : bytes / 1e6 / (nanos / 1e9);
        }
    }

    /** A consumer that reads only committed records, otherwise with the consumer defaults and {@code overrides}. */
    public static KafkaConsumer<byte[], byte[]> consumer(String bootstrapServers, Map<String, String> overrides) {
        return new KafkaConsumer<>(properties(bootstrapServers, overrides));
    }

    /** The settings of {@link #consumer}, for a consumer that deserializes values its own way. */
    static Properties properties(String bootstrapServers, Map<String, String> overrides) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.putAll(overrides);
        return p;
    }

    /**
     * Reads every record of {@code topics} from the beginning up to their current end, calling {@code each} for
     * every record, and times the read from the first poll to the last record.
     */
    public static ReadStats read(String bootstrapServers, Collection<String> topics, Duration timeout,
                                 Consumer<ConsumerRecord<byte[], byte[]>> each) {
        return read(bootstrapServers, topics, null, timeout, each);
    }

    /**
     * Like {@link #read(String, Collection, Duration, Consumer)}, but each partition from its first record with a
     * timestamp at or after {@code fromTimestampMs} (from the beginning if null).
     */
    public static ReadStats read(String bootstrapServers, Collection<String> topics, Long fromTimestampMs,
                                 Duration timeout, Consumer<ConsumerRecord<byte[], byte[]>> each) {
        return read(bootstrapServers, Map.of(), topics, fromTimestampMs, timeout, each);
    }

    /** Like {@link #read(String, Collection, Long, Duration, Consumer)}, with consumer settings of its own. */
    public static ReadStats read(String bootstrapServers, Map<String, String> overrides, Collection<String> topics,
                                 Long fromTimestampMs, Duration timeout, Consumer<ConsumerRecord<byte[], byte[]>> each) {
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrapServers, overrides)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : topics) {
                for (PartitionInfo i : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                    parts.add(new TopicPartition(topic, i.partition()));
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            if (fromTimestampMs != null) {
                Map<TopicPartition, Long> at = new HashMap<>();
                parts.forEach(tp -> at.put(tp, fromTimestampMs));
                for (Map.Entry<TopicPartition, OffsetAndTimestamp> e : c.offsetsForTimes(at).entrySet()) {
                    // No record that late: nothing to read in that partition.
                    c.seek(e.getKey(), e.getValue() == null ? end.get(e.getKey()) : e.getValue().offset());
                }
            }
            long records = 0;
            long bytes = 0;
            long max = 0;
            long start = System.nanoTime();
            long deadline = start + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topics + " to their end within " + timeout);
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    long size = (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
                    records++;
                    bytes += size;
                    max = Math.max(max, size);
                    each.accept(r);
                }
            }
            return new ReadStats(records, bytes, max, System.nanoTime() - start);
        }
    }

    /** Every record of {@code type} on {@code topic} as it is now, decoded, in partition then offset order. */
    public static <T extends SpecificRecord> List<T> decoded(String bootstrapServers, String topic, Class<T> type,
                                                             Duration timeout) {
        List<T> out = new ArrayList<>();
        read(bootstrapServers, List.of(topic), timeout, r -> {
            SpecificRecord rec = decode(r);
            if (type.isInstance(rec)) {
                out.add(type.cast(rec));
            }
        });
        return out;
    }

    /** A record's value decoded; a value that is no fedstream record fails the read, naming where it lies. */
    static SpecificRecord decode(ConsumerRecord<byte[], byte[]> r) {
        try {
            return WireCodec.get().decode(r.value());
        } catch (WireFormatException e) {
            throw new IllegalStateException("undecodable record on " + r.topic() + " at offset " + r.offset(), e);
        }
    }
}

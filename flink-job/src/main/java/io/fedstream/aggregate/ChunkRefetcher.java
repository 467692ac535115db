package io.fedstream.aggregate;

import io.fedstream.avro.UpdateChunk;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads single chunk records back from Kafka by their offset. Aggregators sum chunks as they stream in; when the
 * coordinator's decision leaves out a client whose chunk was already summed (it missed the deadline by a hair, or
 * its commit turned out to be invalid), the aggregator fetches exactly that record again and subtracts it. This
 * is the rare path that keeps the common one streaming and flat in memory. It also reads a chunk whose bytes the
 * router handed over in memory ({@link LocalHandoff}) when they are not there to take.
 */
final class ChunkRefetcher implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private final KafkaConsumer<byte[], byte[]> consumer;

    ChunkRefetcher(String bootstrapServers) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "4");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumer = new KafkaConsumer<>(p);
    }

    /** The update chunk stored at {@code source} ("topic/partition@offset"). */
    UpdateChunk fetch(String source) {
        return fetch(source, UpdateChunk.class);
    }

    /** The record of {@code type} stored at {@code source} ("topic/partition@offset"). */
    <T extends SpecificRecord> T fetch(String source, Class<T> type) {
        int at = source.lastIndexOf('@');
        int slash = source.lastIndexOf('/', at);
        TopicPartition tp = new TopicPartition(source.substring(0, slash), Integer.parseInt(source.substring(slash + 1, at)));
        long offset = Long.parseLong(source.substring(at + 1));
        consumer.assign(List.of(tp));
        consumer.seek(tp, offset);
        long end = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < end) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.offset() == offset) {
                    try {
                        return WireCodec.get().decode(r.value(), type);
                    } catch (WireFormatException e) {
                        throw new IllegalStateException("the record at " + source + " no longer decodes", e);
                    }
                }
                if (r.offset() > offset) {
                    throw new IllegalStateException("the record at " + source + " is gone (retention?)");
                }
            }
        }
        throw new IllegalStateException("could not read the record at " + source + " within " + TIMEOUT);
    }

    @Override
    public void close() {
        consumer.close();
    }
}

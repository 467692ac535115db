package io.fedstream.robust;

import io.fedstream.bench.TopicScan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** Reads whole topics as they are now. */
final class Topic {
    private Topic() {}

    static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        return TopicScan.consumer(bootstrap, Map.of());
    }

    /** Every record of {@code topic} (all partitions, in partition then offset order), read_committed. */
    static List<Rec> read(String bootstrap, String topic) {
        List<Rec> out = new ArrayList<>();
        TopicScan.read(bootstrap, List.of(topic), Duration.ofSeconds(30),
                r -> out.add(Rec.of(r.topic(), r.partition(), r.offset(), r.value() == null ? new byte[0] : r.value())));
        out.sort((a, b) -> a.partition() != b.partition() ? a.partition() - b.partition() : Long.compare(a.offset(), b.offset()));
        return out;
    }

    /** The end offset of partition 0 of {@code topic}, transaction markers and open transactions included. */
    static long endOffset(String bootstrap, String topic) {
        try (KafkaConsumer<byte[], byte[]> c = TopicScan.consumer(bootstrap,
                Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted"))) {
            TopicPartition tp = new TopicPartition(topic, 0);
            return c.endOffsets(List.of(tp)).get(tp);
        }
    }
}

package io.fedstream.e2e;

import io.fedstream.bench.TopicScan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Reads a whole topic as it is now (read_committed), for checking what a federation wrote. */
final class TopicReader {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TopicReader() {}

    static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        TopicScan.read(bootstrap, List.of(topic), TIMEOUT, out::add);
        return out;
    }

    static <T extends SpecificRecord> List<T> read(String bootstrap, String topic, Class<T> type) {
        return TopicScan.decoded(bootstrap, topic, type, TIMEOUT);
    }
}

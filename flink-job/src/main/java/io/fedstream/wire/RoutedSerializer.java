package io.fedstream.wire;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Every output of the job carries its own destination topic. */
public final class RoutedSerializer implements KafkaRecordSerializationSchema<Routed> {
    private static final long serialVersionUID = 1L;

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Routed element, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(element.topic, null, timestamp, element.key, element.value);
    }
}

package io.fedstream.wire;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Keeps records undecoded at the source: decoding happens in the router, where a bad record can be sent to
 * the dead-letter topic instead of failing the source.
 */
public final class WireRecordDeserializer implements KafkaRecordDeserializationSchema<WireRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<WireRecord> out) {
        out.collect(new WireRecord(record.topic(), record.partition(), record.offset(), record.timestamp(),
                record.value() == null ? new byte[0] : record.value()));
    }

    @Override
    public TypeInformation<WireRecord> getProducedType() {
        return TypeInformation.of(WireRecord.class);
    }
}

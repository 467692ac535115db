package io.fedstream.robust;

import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import org.apache.avro.specific.SpecificRecord;

/** One Kafka record as a test saw it: where it is, its raw value, and the value decoded (null if it does not decode). */
record Rec(String topic, int partition, long offset, byte[] value, SpecificRecord record) {

    static Rec of(String topic, int partition, long offset, byte[] value) {
        SpecificRecord decoded;
        try {
            decoded = WireCodec.get().decode(value);
        } catch (WireFormatException | RuntimeException e) {
            decoded = null;
        }
        return new Rec(topic, partition, offset, value, decoded);
    }

    /** "topic/partition@offset", the form the job uses for record sources. */
    String source() {
        return source(topic, partition, offset);
    }

    static String source(String topic, int partition, long offset) {
        return topic + "/" + partition + "@" + offset;
    }

    <T extends SpecificRecord> T as(Class<T> type) {
        return type.isInstance(record) ? type.cast(record) : null;
    }

    boolean is(Class<? extends SpecificRecord> type) {
        return type.isInstance(record);
    }

    @Override
    public String toString() {
        return source() + " " + (record == null ? "<" + value.length + " undecodable bytes>" : record.getSchema().getName());
    }
}

package io.fedstream.wire;

/** A Kafka record as the source read it: where it came from and its raw value, not yet decoded. */
public class WireRecord {
    public String topic;
    public int partition;
    public long offset;
    public long timestamp;
    public byte[] value;

    public WireRecord() {}

    public WireRecord(String topic, int partition, long offset, long timestamp, byte[] value) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.value = value;
    }

    public String source() {
        return topic + "/" + partition + "@" + offset;
    }
}

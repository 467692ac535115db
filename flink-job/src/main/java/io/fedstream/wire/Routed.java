package io.fedstream.wire;

import java.nio.charset.StandardCharsets;

/** A record on its way out: the topic it goes to, its key and its encoded value. */
public class Routed {
    public String topic;
    public byte[] key;
    public byte[] value;

    public Routed() {}

    public Routed(String topic, byte[] key, byte[] value) {
        this.topic = topic;
        this.key = key;
        this.value = value;
    }

    public static Routed of(String topic, String key, byte[] value) {
        return new Routed(topic, key == null ? null : key.getBytes(StandardCharsets.UTF_8), value);
    }
}

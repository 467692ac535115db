package io.fedstream.robust;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Writes arbitrary bytes to any topic, plainly or in a transaction, and says where each record landed. */
final class RawSender implements AutoCloseable {
    /** A record as written: where it is and its exact bytes. */
    record Sent(String topic, int partition, long offset, byte[] value) {
        String source() {
            return Rec.source(topic, partition, offset);
        }
    }

    private final String bootstrap;
    private final String federation;
    private final KafkaProducer<byte[], byte[]> plain;
    private final Map<String, KafkaProducer<byte[], byte[]>> transactional = new HashMap<>();

    RawSender(String bootstrap, String federation) {
        this.bootstrap = bootstrap;
        this.federation = federation;
        this.plain = new KafkaProducer<>(props(null));
    }

    private Properties props(String transactionalId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return p;
    }

    /** One record, no transaction. */
    Sent send(String topic, byte[] value) throws Exception {
        RecordMetadata m = plain.send(new ProducerRecord<>(topic, value)).get();
        return new Sent(m.topic(), m.partition(), m.offset(), value);
    }

    /**
     * Several records in one transaction of the producer named {@code name} (one transactional id per name; one
     * thread at a time per name).
     */
    List<Sent> transaction(String name, String topic, List<byte[]> values) throws Exception {
        KafkaProducer<byte[], byte[]> p = producer(name);
        p.beginTransaction();
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (byte[] v : values) {
            futures.add(p.send(new ProducerRecord<>(topic, v)));
        }
        p.commitTransaction();
        List<Sent> out = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            RecordMetadata m = futures.get(i).get();
            out.add(new Sent(m.topic(), m.partition(), m.offset(), values.get(i)));
        }
        return out;
    }

    private synchronized KafkaProducer<byte[], byte[]> producer(String name) {
        KafkaProducer<byte[], byte[]> p = transactional.get(name);
        if (p == null) {
            p = new KafkaProducer<>(props("fedstream-" + federation + "-test-" + name));
            p.initTransactions();
            transactional.put(name, p);
        }
        return p;
    }

    @Override
    public synchronized void close() {
        plain.close();
        transactional.values().forEach(KafkaProducer::close);
    }
}

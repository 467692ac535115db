package io.fedstream.sidecar;

import io.fedstream.avro.ModelManifest;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.chunk.ModelChunker;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.train.LocalModel;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Publishes a federation's initial global model (version 0) to its models topic: every chunk and the manifest
 * in one transaction, so the job never sees half an initial model. The model is built from a seed, so every
 * party can rebuild the same initial weights.
 */
public final class InitialModelPublisher {
    private InitialModelPublisher() {}

    public static ModelManifest publish(String bootstrapServers, Topics topics, LocalModel model) {
        return publish(bootstrapServers, topics, model, ChunkLayout.DEFAULT_CHUNK_FLOATS);
    }

    public static ModelManifest publish(String bootstrapServers, Topics topics, LocalModel model, int chunkFloats) {
        return publish(bootstrapServers, topics, model.spec(), model.getParameters(), chunkFloats);
    }

    /** Publishes {@code weights}, laid out as {@code spec}, as version 0; returns its manifest. */
    public static ModelManifest publish(String bootstrapServers, Topics topics, ModelSpec spec, float[] weights,
                                        int chunkFloats) {
        ModelChunker chunker = new ModelChunker(topics.federation(), 0, spec, weights, chunkFloats);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "fedstream-" + topics.federation() + "-initial-model");
        // A model of hundreds of MB takes a while to send; the broker's default limit for a transaction is 15 min.
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "600000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(1024 * 1024));
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        WireCodec codec = WireCodec.get();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < chunker.layout().chunkCount(); i++) {
                producer.send(new ProducerRecord<>(topics.models(), String.valueOf(i).getBytes(StandardCharsets.UTF_8),
                        codec.encode(chunker.chunk(i))));
            }
            ModelManifest manifest = chunker.manifest(-1, System.currentTimeMillis());
            producer.send(new ProducerRecord<>(topics.models(), Topics.MANIFEST_KEY.getBytes(StandardCharsets.UTF_8), codec.encode(manifest)));
            producer.commitTransaction();
            return manifest;
        }
    }
}

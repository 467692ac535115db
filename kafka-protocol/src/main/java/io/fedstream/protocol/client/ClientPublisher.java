package io.fedstream.protocol.client;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.chunk.UpdateChunker;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Everything a client writes, through one transactional producer. An update's chunks and its commit go in
 * one Kafka transaction, so {@code read_committed} readers never see half an update. The transactional id is
 * stable per client: a restarted sidecar fences its predecessor, and a transaction that predecessor left open
 * is aborted rather than delivered.
 */
public final class ClientPublisher implements AutoCloseable {
    private final Topics topics;
    private final String clientId;
    private final byte[] key;
    private final KafkaProducer<byte[], byte[]> producer;
    private final WireCodec codec = WireCodec.get();
    private final int chunkFloats;

    public ClientPublisher(String bootstrapServers, Topics topics, String clientId, Properties overrides, int chunkFloats) {
        this.topics = topics;
        this.clientId = Topics.requireId("client id", clientId);
        this.key = clientId.getBytes(StandardCharsets.UTF_8);
        this.chunkFloats = chunkFloats;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "fedstream-" + topics.federation() + "-client-" + clientId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(1024 * 1024));
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.putAll(overrides);
        this.producer = new KafkaProducer<>(p);
        producer.initTransactions();
    }

    public ClientPublisher(String bootstrapServers, Topics topics, String clientId) {
        this(bootstrapServers, topics, clientId, new Properties(), ChunkLayout.DEFAULT_CHUNK_FLOATS);
    }

    public void checkIn(CheckIn checkIn) {
        sendOne(topics.checkin(), checkIn);
    }

    public void heartbeat(Heartbeat heartbeat) {
        sendOne(topics.checkin(), heartbeat);
    }

    public void evalReport(EvalReport report) {
        sendOne(topics.clientUpdates(clientId), report);
    }

    private void sendOne(String topic, SpecificRecord record) {
        producer.beginTransaction();
        try {
            producer.send(new ProducerRecord<>(topic, key, codec.encode(record)));
            producer.commitTransaction();
        } catch (KafkaException e) {
            abortQuietly();
            throw e;
        }
    }

    /**
     * Sends the update's chunks and its commit in one transaction and returns the update digest. Chunks are
     * cut and encoded one at a time, so only the delta vector and the producer's buffer are held.
     */
    public String publishUpdate(int round, long sampleCount, String baseModelDigest, String specFingerprint,
                                float[] delta, UpdateMetrics metrics) {
        return publishUpdate(round, sampleCount, baseModelDigest, specFingerprint, delta, metrics, chunkFloats);
    }

    /** As above, cut into chunks of {@code chunkFloats}: the global model's layout, so chunk i meets chunk i. */
    public String publishUpdate(int round, long sampleCount, String baseModelDigest, String specFingerprint,
                                float[] delta, UpdateMetrics metrics, int chunkFloats) {
        return publishUpdate(round, sampleCount, baseModelDigest, specFingerprint, delta, metrics, chunkFloats, () -> { });
    }

    /**
     * As above, with {@code beforeCommit} run once every record of the update is on the broker and before the
     * transaction commits, that is before any of it is readable: a benchmark uses it to make the updates of
     * many clients readable at the same moment.
     */
    public String publishUpdate(int round, long sampleCount, String baseModelDigest, String specFingerprint,
                                float[] delta, UpdateMetrics metrics, int chunkFloats, Runnable beforeCommit) {
        UpdateChunker chunker = new UpdateChunker(topics.federation(), round, clientId, sampleCount,
                baseModelDigest, specFingerprint, delta, chunkFloats);
        String topic = topics.clientUpdates(clientId);
        producer.beginTransaction();
        try {
            for (int i = 0; i < chunker.layout().chunkCount(); i++) {
                producer.send(new ProducerRecord<>(topic, key, codec.encode(chunker.chunk(i))));
            }
            String digest = chunker.digest();
            UpdateCommit commit = UpdateCommit.newBuilder()
                    .setFederation(topics.federation()).setRound(round).setClientId(clientId)
                    .setSampleCount(sampleCount).setChunkCount(chunker.layout().chunkCount())
                    .setUpdateDigest(digest).setBaseModelDigest(baseModelDigest)
                    .setSpecFingerprint(specFingerprint)
                    .setTrainLoss(metrics.trainLoss()).setTrainAccuracy(metrics.trainAccuracy())
                    .setTrainTimeMs(metrics.trainTimeMs()).setCommittedAtMs(System.currentTimeMillis())
                    .build();
            producer.send(new ProducerRecord<>(topic, key, codec.encode(commit)));
            producer.flush();
            beforeCommit.run();
            producer.commitTransaction();
            return digest;
        } catch (RuntimeException e) {
            // A Kafka error or a failing hook: no open transaction is left behind for the next update.
            abortQuietly();
            throw e;
        }
    }

    private void abortQuietly() {
        try {
            producer.abortTransaction();
        } catch (KafkaException ignored) {
            // A fenced or closed producer cannot abort; the broker aborts the transaction on timeout.
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}

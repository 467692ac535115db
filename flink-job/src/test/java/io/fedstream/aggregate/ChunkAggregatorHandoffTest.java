package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.wire.Routed;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The aggregator's side of {@link LocalHandoff}: a chunk whose bytes the router parked in this JVM, and one whose
 * bytes are not here (a restored reference), which the aggregator reads again from a real broker.
 */
class ChunkAggregatorHandoffTest {
    private static final String FED = "fed-handoff";
    private static final Topics T = new Topics(FED);
    private static final String FP = ModelSpec.flat("w", 4).fingerprint();
    private static final String PLAN_BASE = "b0".repeat(32);
    private static final float[] BASE = {1f, 2f, 3f, 4f};
    private static final float[] DELTA = {0.5f, -1f, 0.25f, 8f};
    private static final float[] NEXT = {1.5f, 1f, 3.25f, 12f};
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopBroker() {
        kafka.close();
    }

    private static KeyedOneInputStreamOperatorTestHarness<Long, ChunkInput, Routed> harness() throws Exception {
        return ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new ChunkAggregator(FED, kafka.bootstrapServers(), new FedAvg(), Duration.ofHours(1)), ChunkInput::key, Types.LONG);
    }

    private static byte[] bytes(float[] values) {
        return Floats.toBytes(values, 0, values.length);
    }

    private static ChunkInput base() {
        ChunkInput in = ChunkStateSizeTest.order(ChunkInput.BASE);
        in.totalFloats = BASE.length;
        in.specFingerprint = FP;
        in.setData(bytes(BASE));
        in.digest = Digests.sha256Hex(bytes(BASE));
        in.sourceTopic = T.models();
        return in;
    }

    private static ChunkInput plan() {
        ChunkInput in = ChunkStateSizeTest.order(ChunkInput.PLAN);
        in.clients = new String[] {"c1"};
        in.length = BASE.length;
        in.baseModelDigest = PLAN_BASE;
        return in;
    }

    private static ChunkInput update() {
        ChunkInput in = ChunkStateSizeTest.order(ChunkInput.UPDATE);
        in.clientId = "c1";
        in.sampleCount = 10;
        in.baseModelDigest = PLAN_BASE;
        in.setData(bytes(DELTA));
        in.digest = Digests.updateChunkDigest(bytes(DELTA));
        in.sourceTopic = T.clientUpdates("c1");
        return in;
    }

    private static ChunkInput decision() {
        RoundDecision d = RoundDecision.newBuilder().setFederation(FED).setRound(0).setBaseModelVersion(0).setChunkCount(1)
                .setParticipants(List.of(new Participant("c1", 10L, 1.0))).setTotalSamples(10).setNextRecipients(List.of())
                .setReason("ALL_COMMITTED").setDecidedAtMs(1).build();
        ChunkInput in = ChunkStateSizeTest.order(ChunkInput.DECISION);
        in.decision = WireCodec.get().encode(d);
        return in;
    }

    /** As the router sends a chunk whose bytes it parked: no bytes, only the reference and where they were. */
    private static ChunkInput withoutBytes(ChunkInput in, long handoff) {
        in.handoff = handoff;
        in.dataOffset = 0;
        in.dataLength = in.data.length;
        in.data = new byte[0];
        return in;
    }

    /** The new global chunk the harness's aggregator wrote to the models topic. */
    private static float[] published(KeyedOneInputStreamOperatorTestHarness<Long, ChunkInput, Routed> h) throws Exception {
        List<Routed> models = h.extractOutputValues().stream().filter(r -> r.topic.equals(T.models())).toList();
        assertEquals(1, models.size(), models.toString());
        ModelChunk mc = WireCodec.get().decode(models.get(0).value, ModelChunk.class);
        return Floats.fromBytes(mc.getData());
    }

    @Test
    void bytesParkedInThisJvmAreTakenFromMemory() throws Exception {
        try (var h = harness()) {
            h.open();
            JobID job = h.getEnvironment().getJobID();
            h.processElement(base(), 0L);
            h.processElement(plan(), 0L);
            ChunkInput update = update();
            long id = LocalHandoff.park(job, update.key(), update.data);
            assertNotEquals(0, id, "the aggregator did not register for its job");
            h.processElement(withoutBytes(update, id), 0L);
            assertEquals(0, LocalHandoff.parkedBytes(job));
            h.processElement(decision(), 0L);
            assertArrayEquals(NEXT, published(h));
        }
    }

    @Test
    void bytesNotHereAreReadAgainFromKafka() throws Exception {
        long baseOffset = produce(T.models(), WireCodec.get().encode(ModelChunk.newBuilder().setFederation(FED).setVersion(0)
                .setChunkIndex(0).setChunkCount(1).setOffset(0).setTotalFloats(BASE.length).setSpecFingerprint(FP)
                .setData(ByteBuffer.wrap(bytes(BASE))).setChunkDigest(Digests.sha256Hex(bytes(BASE))).build()));
        long updateOffset = produce(T.clientUpdates("c1"), WireCodec.get().encode(UpdateChunk.newBuilder().setFederation(FED)
                .setRound(0).setClientId("c1").setChunkIndex(0).setChunkCount(1).setOffset(0).setSampleCount(10)
                .setBaseModelDigest(PLAN_BASE).setData(ByteBuffer.wrap(bytes(DELTA)))
                .setChunkDigest(Digests.updateChunkDigest(bytes(DELTA))).build()));
        try (var h = harness()) {
            h.open();
            // References no bytes were parked for (as after a restore): both kinds are read back by their offsets.
            ChunkInput base = withoutBytes(base(), Long.MAX_VALUE);
            base.sourceOffset = baseOffset;
            h.processElement(base, 0L);
            h.processElement(plan(), 0L);
            ChunkInput update = withoutBytes(update(), Long.MAX_VALUE - 1);
            update.sourceOffset = updateOffset;
            h.processElement(update, 0L);
            h.processElement(decision(), 0L);
            assertArrayEquals(NEXT, published(h));
        }
    }

    private static long produce(String topic, byte[] value) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            if (!admin.listTopics().names().get().contains(topic)) {
                admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            }
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            RecordMetadata m = producer.send(new ProducerRecord<>(topic, value)).get();
            return m.offset();
        }
    }
}

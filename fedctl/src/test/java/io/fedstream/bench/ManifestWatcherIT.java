package io.fedstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.TensorShape;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.protocol.serde.WireCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's manifest watcher reads one partition of the models topic: it must be the one a producer puts
 * the manifests in, whatever the topic's partition count, and the manifests there must all be seen, as they are
 * written (live) or when asked for.
 */
class ManifestWatcherIT {
    private static final Topics TOPICS = new Topics("watcher-it");

    @Test
    void followsTheManifestsInThePartitionTheProducerChose() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            writeThreeVersions(kafka, 3);
            try (ManifestWatcher watcher = new ManifestWatcher(kafka.bootstrapServers(), TOPICS, true).start()) {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (watcher.manifest(3) == null && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertAllThreeSeen(watcher);
            }
        }
    }

    @Test
    void aWatcherThatIsNotLiveReadsOnlyWhenAskedToCatchUp() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            writeThreeVersions(kafka, 2);
            try (ManifestWatcher watcher = new ManifestWatcher(kafka.bootstrapServers(), TOPICS, false).start()) {
                Thread.sleep(1_000);
                assertNull(watcher.manifest(1), "read before it was asked to");
                assertTrue(watcher.catchUp(3, Duration.ofSeconds(30)), "version 3 not found");
                assertAllThreeSeen(watcher);
                assertFalse(watcher.catchUp(4, Duration.ofMillis(500)), "a version that was never written");
            }
        }
    }

    /** Three model versions, each six chunk records over every partition and then its manifest. */
    private static void writeThreeVersions(EmbeddedKafka kafka, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(TOPICS.models(), partitions, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int version = 1; version <= 3; version++) {
                for (int chunk = 0; chunk < 6; chunk++) {
                    // Chunk records on every partition; the watcher must skip them without decoding.
                    producer.send(new ProducerRecord<>(TOPICS.models(), String.valueOf(chunk).getBytes(StandardCharsets.UTF_8),
                            new byte[] {1, 2, 3})).get();
                }
                int partition = producer.send(new ProducerRecord<>(TOPICS.models(),
                        Topics.MANIFEST_KEY.getBytes(StandardCharsets.UTF_8), WireCodec.get().encode(manifest(version))))
                        .get().partition();
                assertEquals(partition, ManifestWatcher.manifestPartition(TOPICS.models(), partitions).partition(),
                        "manifest of version " + version);
            }
        }
    }

    private static void assertAllThreeSeen(ManifestWatcher watcher) {
        for (int version = 1; version <= 3; version++) {
            assertNotNull(watcher.manifest(version), "manifest of version " + version + " not seen");
            assertEquals(version, watcher.manifest(version).getVersion());
            assertNotNull(watcher.seenNanos(version));
        }
        assertNull(watcher.manifest(4));
    }

    private static ModelManifest manifest(int version) {
        return ModelManifest.newBuilder()
                .setFederation("watcher-it").setVersion(version).setProducedByRound(version - 1)
                .setTensors(List.of(new TensorShape("w", List.of(4L))))
                .setSpecFingerprint("fp").setTotalFloats(4).setChunkCount(1).setChunkFloats(4)
                .setDigest("d" + version).setCreatedAtMs(1L)
                .build();
    }
}

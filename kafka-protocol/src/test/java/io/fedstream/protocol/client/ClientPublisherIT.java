package io.fedstream.protocol.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.chunk.UpdateChunker;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client side of the protocol against a real in-process KRaft broker: topic provisioning, an update
 * published as one transaction, and what {@code read_committed} readers (the job) can and cannot see.
 * Every test uses its own client id, hence its own updates topic, so the tests do not depend on each other.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientPublisherIT {
    private static final Topics TOPICS = new Topics("it-fed");
    /** Every test provisions the federation topics; whichever runs first creates them, so all ask for the same. */
    private static final int MODEL_PARTITIONS = 3;
    private static final int CHUNK_FLOATS = 1_000;
    private static final int DELTA_FLOATS = 3_500;
    private static final String FP = ModelSpec.flat("w", DELTA_FLOATS).fingerprint();
    private static final String BASE = "ab".repeat(32);
    private static final WireCodec CODEC = WireCodec.get();

    private static EmbeddedKafka kafka;
    private static String bootstrap;
    private static Admin admin;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start();
        bootstrap = kafka.bootstrapServers();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        admin = Admin.create(p);
    }

    @AfterAll
    static void stopBroker() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(10));
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void brokerListensOnLoopbackOnly() throws Exception {
        // The embedded broker is for demos and tests on one machine; it must not be reachable from the network.
        String[] servers = bootstrap.split(",");
        assertTrue(servers.length >= 1, bootstrap);
        for (String server : servers) {
            int colon = server.lastIndexOf(':');
            assertTrue(colon > 0, "host:port expected, got " + server);
            String host = server.substring(0, colon);
            int port = Integer.parseInt(server.substring(colon + 1));
            assertTrue(host.equals("127.0.0.1") || host.equals("localhost"), "bootstrap host " + host);
            assertTrue(InetAddress.getByName(host).isLoopbackAddress(), host + " does not resolve to loopback");
            assertTrue(port > 0 && port < 65_536, "port " + port);
        }
    }

    @Test
    void provisionerCreatesEveryTopicKeepingRecordsForever() throws Exception {
        String client = "prov";
        try (TopicProvisioner prov = new TopicProvisioner(bootstrap)) {
            prov.ensureFederationTopics(TOPICS, MODEL_PARTITIONS);
            prov.ensureClientTopics(TOPICS, client);
            // Provisioning again (a restarted coordinator or sidecar) must be harmless.
            prov.ensureFederationTopics(TOPICS, MODEL_PARTITIONS);
            prov.ensureClientTopics(TOPICS, client);

            List<String> expected = List.of(TOPICS.checkin(), TOPICS.control(), TOPICS.models(), TOPICS.metrics(),
                    TOPICS.deadLetter(), TOPICS.clientUpdates(client), TOPICS.clientModel(client));
            Set<String> listed = prov.listTopics();
            assertTrue(listed.containsAll(expected), "missing: " + expected.stream().filter(t -> !listed.contains(t)).toList());

            Map<String, TopicDescription> described = admin.describeTopics(expected).allTopicNames().get();
            assertEquals(MODEL_PARTITIONS, described.get(TOPICS.models()).partitions().size(), "models topic is read in parallel");
            // Chunks must precede their commit: a client's updates topic has exactly one partition.
            assertEquals(1, described.get(TOPICS.clientUpdates(client)).partitions().size());
            assertEquals(1, described.get(TOPICS.checkin()).partitions().size());

            List<ConfigResource> resources = expected.stream()
                    .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
            for (ConfigResource r : resources) {
                assertEquals("-1", configs.get(r).get("retention.ms").value(), r.name() + " retention.ms");
                assertEquals("-1", configs.get(r).get("retention.bytes").value(), r.name() + " retention.bytes");
            }
        }
    }

    @Test
    void publishUpdateDeliversAllChunksAndTheCommit() throws Exception {
        String client = "alice";
        provision(client);
        float[] delta = delta(1);
        long before = System.currentTimeMillis();
        String digest;
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS)) {
            digest = pub.publishUpdate(5, 1_234, BASE, FP, delta, new UpdateMetrics(0.52, 0.81, 1_500));
        }

        List<ConsumerRecord<byte[], byte[]>> records = readAll(TOPICS.clientUpdates(client), "read_committed");
        // 3,500 floats in chunks of 1,000: four chunks, then the commit, in send order on one partition.
        assertEquals(5, records.size(), "records: " + types(records));
        for (ConsumerRecord<byte[], byte[]> r : records) {
            assertArrayEquals(client.getBytes(StandardCharsets.UTF_8), r.key(), "records are keyed by client id");
        }
        List<SpecificRecord> decoded = decodeAll(records);
        UpdateCommit commit = assertInstanceOf(UpdateCommit.class, decoded.get(4));
        float[] rebuilt = reassemble(decoded.subList(0, 4), 5, client, commit.getUpdateDigest());
        assertBitExact(delta, rebuilt);

        assertEquals(digest, commit.getUpdateDigest());
        assertEquals(new UpdateChunker("it-fed", 5, client, 1_234, BASE, FP, delta, CHUNK_FLOATS).layout().chunkCount(),
                commit.getChunkCount());
        assertEquals("it-fed", commit.getFederation());
        assertEquals(client, commit.getClientId());
        assertEquals(5, commit.getRound());
        assertEquals(1_234, commit.getSampleCount());
        assertEquals(BASE, commit.getBaseModelDigest());
        assertEquals(FP, commit.getSpecFingerprint());
        assertEquals(0.52, commit.getTrainLoss());
        assertEquals(0.81, commit.getTrainAccuracy());
        assertEquals(1_500, commit.getTrainTimeMs());
        assertTrue(commit.getCommittedAtMs() >= before && commit.getCommittedAtMs() <= System.currentTimeMillis());
    }

    @Test
    void beforeCommitRunsWithTheWholeUpdateOnTheBrokerAndNoneOfItReadable() throws Exception {
        String client = "grace";
        provision(client);
        String topic = TOPICS.clientUpdates(client);
        List<Integer> onBroker = new ArrayList<>();
        List<Long> readableUpTo = new ArrayList<>();
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS)) {
            pub.publishUpdate(2, 10, BASE, FP, delta(3), new UpdateMetrics(0, 0, 0), CHUNK_FLOATS, () -> {
                onBroker.add(readAll(topic, "read_uncommitted").size());
                readableUpTo.add(endOffset(topic, "read_committed"));
            });
        }
        assertEquals(List.of(5), onBroker, "four chunks and the commit record are on the broker before the commit");
        assertEquals(List.of(0L), readableUpTo, "a read_committed reader sees none of them yet");
        assertEquals(5, readAll(topic, "read_committed").size(), "and all of them once committed");
    }

    @Test
    void aFailingBeforeCommitHookAbortsTheUpdateAndTheNextOneGoesThrough() throws Exception {
        String client = "heidi";
        provision(client);
        String topic = TOPICS.clientUpdates(client);
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pub.publishUpdate(1, 10, BASE, FP,
                    delta(4), new UpdateMetrics(0, 0, 0), CHUNK_FLOATS, () -> {
                        throw new IllegalStateException("the others never came");
                    }));
            assertEquals("the others never came", e.getMessage());
            pub.publishUpdate(2, 10, BASE, FP, delta(5), new UpdateMetrics(0, 0, 0), CHUNK_FLOATS);
        }
        List<SpecificRecord> committed = decodeAll(readAll(topic, "read_committed"));
        assertEquals(5, committed.size(), "only the second update: " + committed);
        for (SpecificRecord r : committed) {
            assertEquals(2, r.get(r.getSchema().getField("round").pos()), "nothing of the aborted round 1");
        }
        assertEquals(10, readAll(topic, "read_uncommitted").size(), "the aborted update was written, then hidden");
    }

    private static long endOffset(String topic, String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            return c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
        }
    }

    @Test
    void abortedTransactionIsInvisibleToReadCommitted() throws Exception {
        String client = "erin";
        provision(client);
        String topic = TOPICS.clientUpdates(client);
        UpdateChunk stray = new UpdateChunker("it-fed", 9, client, 10, BASE, FP, delta(2), CHUNK_FLOATS).chunk(0);

        try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(rawProducerProps("it-raw-" + client))) {
            raw.initTransactions();
            raw.beginTransaction();
            // get(): the chunk is really in the partition's log before the abort, not just in a client buffer.
            raw.send(new ProducerRecord<>(topic, client.getBytes(StandardCharsets.UTF_8), CODEC.encode(stray))).get();
            raw.abortTransaction();
        }
        // A committed record after the aborted one, so "not seen" is checked up to a point readers did reach.
        EvalReport marker = evalReport(client);
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS)) {
            pub.evalReport(marker);
        }

        List<SpecificRecord> committed = decodeAll(readAll(topic, "read_committed"));
        assertEquals(List.of(marker), committed);

        List<SpecificRecord> uncommitted = decodeAll(readAll(topic, "read_uncommitted"));
        assertEquals(List.of(stray, marker), uncommitted,
                "read_uncommitted sees the aborted chunk, which proves it was written and only hidden");
    }

    @Test
    void updateThatFailsHalfWayIsNeverVisible() throws Exception {
        String client = "ivan";
        provision(client);
        String topic = TOPICS.clientUpdates(client);
        // The serializer fails on the UpdateCommit, after all four chunks went to the producer: the worst place
        // for a sidecar to fail, because a reader that saw the chunks could not tell the update is incomplete.
        Properties overrides = new Properties();
        overrides.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, FailOnCommitSerializer.class.getName());
        float[] lost = delta(8);
        float[] kept = delta(9);
        String digest;
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client, overrides, CHUNK_FLOATS)) {
            FailOnCommitSerializer.armed = true;
            try {
                assertThrows(KafkaException.class,
                        () -> pub.publishUpdate(1, 10, BASE, FP, lost, new UpdateMetrics(1, 0.1, 1)));
            } finally {
                FailOnCommitSerializer.armed = false;
            }
            // The publisher aborted and stays usable: the retry goes through as a fresh transaction.
            digest = pub.publishUpdate(1, 10, BASE, FP, kept, new UpdateMetrics(1, 0.1, 1));
        }
        List<SpecificRecord> committed = decodeAll(readAll(topic, "read_committed"));
        assertEquals(5, committed.size(), "only the retried update: " + committed.stream()
                .map(r -> r.getClass().getSimpleName()).toList());
        assertBitExact(kept, reassemble(committed.subList(0, 4), 1, client, digest));
        assertEquals(digest, ((UpdateCommit) committed.get(4)).getUpdateDigest());
    }

    /** A pass-through value serializer that, while armed, refuses UpdateCommit records. */
    public static final class FailOnCommitSerializer extends ByteArraySerializer {
        static volatile boolean armed;

        @Override
        public byte[] serialize(String topic, byte[] data) {
            if (armed && CODEC_IS_COMMIT.test(data)) {
                throw new org.apache.kafka.common.errors.SerializationException("test: refusing the commit");
            }
            return super.serialize(topic, data);
        }
    }

    private static final java.util.function.Predicate<byte[]> CODEC_IS_COMMIT = data -> {
        try {
            return WireCodec.fingerprintOf(data)
                    == org.apache.avro.SchemaNormalization.parsingFingerprint64(UpdateCommit.getClassSchema());
        } catch (WireFormatException e) {
            return false;
        }
    };

    @Test
    void transactionLeftOpenByACrashedSidecarIsAbortedByItsSuccessor() throws Exception {
        String client = "frank";
        provision(client);
        String topic = TOPICS.clientUpdates(client);
        UpdateChunk stray = new UpdateChunker("it-fed", 3, client, 10, BASE, FP, delta(3), CHUNK_FLOATS).chunk(0);

        // A sidecar that dies mid-update: same transactional id as ClientPublisher uses for this client, one
        // chunk sent, then a forced close (a graceful close would abort; a crash does not).
        KafkaProducer<byte[], byte[]> crashed = new KafkaProducer<>(
                rawProducerProps("fedstream-" + TOPICS.federation() + "-client-" + client));
        crashed.initTransactions();
        crashed.beginTransaction();
        crashed.send(new ProducerRecord<>(topic, client.getBytes(StandardCharsets.UTF_8), CODEC.encode(stray))).get();
        crashed.close(Duration.ZERO);

        // The restarted sidecar: its initTransactions aborts the open transaction, then it publishes anew.
        float[] delta = delta(4);
        String digest;
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS)) {
            digest = pub.publishUpdate(3, 10, BASE, FP, delta, new UpdateMetrics(1, 0.5, 10));
        }

        List<SpecificRecord> committed = decodeAll(readAll(topic, "read_committed"));
        assertEquals(5, committed.size(), "committed: " + committed.stream().map(r -> r.getClass().getSimpleName()).toList());
        assertBitExact(delta, reassemble(committed.subList(0, 4), 3, client, digest));
        assertEquals(digest, ((UpdateCommit) committed.get(4)).getUpdateDigest());

        List<SpecificRecord> uncommitted = decodeAll(readAll(topic, "read_uncommitted"));
        assertEquals(6, uncommitted.size());
        assertEquals(stray, uncommitted.get(0));
    }

    @Test
    void secondPublisherWithSameClientIdFencesTheFirst() throws Exception {
        String client = "gina";
        provision(client);
        String topic = TOPICS.clientUpdates(client);
        float[] first = delta(5);
        float[] fencedAttempt = delta(6);
        float[] second = delta(7);

        ClientPublisher old = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS);
        ClientPublisher successor = null;
        try {
            String d1 = old.publishUpdate(1, 100, BASE, FP, first, new UpdateMetrics(1, 0.1, 1));
            successor = new ClientPublisher(bootstrap, TOPICS, client, new Properties(), CHUNK_FLOATS);
            KafkaException e = assertThrows(KafkaException.class,
                    () -> old.publishUpdate(2, 100, BASE, FP, fencedAttempt, new UpdateMetrics(1, 0.2, 1)));
            assertTrue(isFencing(e), "expected a fencing error, got " + chain(e));
            // The old instance stays dead: a fenced producer cannot be revived by retrying.
            assertThrows(KafkaException.class, () -> old.evalReport(evalReport(client)));

            String d2 = successor.publishUpdate(2, 100, BASE, FP, second, new UpdateMetrics(1, 0.3, 1));

            List<SpecificRecord> committed = decodeAll(readAll(topic, "read_committed"));
            assertEquals(10, committed.size(), "two updates of 4 chunks + commit each");
            assertBitExact(first, reassemble(committed.subList(0, 4), 1, client, d1));
            assertEquals(d1, ((UpdateCommit) committed.get(4)).getUpdateDigest());
            assertBitExact(second, reassemble(committed.subList(5, 9), 2, client, d2));
            assertEquals(d2, ((UpdateCommit) committed.get(9)).getUpdateDigest());
        } finally {
            old.close();
            if (successor != null) {
                successor.close();
            }
        }
    }

    @Test
    void checkInAndHeartbeatReachTheCheckinTopic() throws Exception {
        String client = "hank";
        provision(client);
        CheckIn checkIn = CheckIn.newBuilder().setFederation("it-fed").setClientId(client).setTrainSamples(600)
                .setTestSamples(100).setSpecFingerprint(FP).setTimestampMs(1L)
                .setResources(Map.of("cpus", 4.0)).setSidecarVersion("it").build();
        Heartbeat beat = Heartbeat.newBuilder().setFederation("it-fed").setClientId(client).setLoad(0.5)
                .setTimestampMs(2L).build();
        try (ClientPublisher pub = new ClientPublisher(bootstrap, TOPICS, client)) {
            pub.checkIn(checkIn);
            pub.heartbeat(beat);
        }
        // The checkin topic is shared by every client of the federation; pick this client's records by key.
        List<SpecificRecord> mine = decodeAll(readAll(TOPICS.checkin(), "read_committed").stream()
                .filter(r -> client.equals(new String(r.key(), StandardCharsets.UTF_8))).toList());
        assertEquals(List.of(checkIn, beat), mine);
    }

    // ---- helpers ----

    private static void provision(String client) {
        try (TopicProvisioner prov = new TopicProvisioner(bootstrap)) {
            prov.ensureFederationTopics(TOPICS, MODEL_PARTITIONS);
            prov.ensureClientTopics(TOPICS, client);
        }
    }

    private static float[] delta(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = new float[DELTA_FLOATS];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (r.nextGaussian() * 1e-3);
        }
        d[0] = -0.0f;
        d[DELTA_FLOATS - 1] = Float.intBitsToFloat(0x7fc0_0abc);
        return d;
    }

    private static EvalReport evalReport(String client) {
        return EvalReport.newBuilder().setFederation("it-fed").setRound(1).setClientId(client).setModelVersion(1)
                .setModelDigest(BASE).setTestSamples(100).setLoss(0.3).setAccuracy(0.9).setEvalTimeMs(5).build();
    }

    private static Properties rawProducerProps(String transactionalId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return p;
    }

    /**
     * Everything a reader with this isolation level can read from partition 0 right now: up to the last
     * stable offset for read_committed, up to the high watermark for read_uncommitted. No sleeping and no
     * "nothing arrived for a while" guesses; if the end offset is never reached the test times out.
     */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        TopicPartition tp = new TopicPartition(topic, 0);
        // Read up to the high watermark, not to a read_committed consumer's end offset: just after a commit the
        // transaction markers may not be written yet, and the last stable offset still lies before the update.
        long end;
        Properties q = new Properties();
        q.putAll(p);
        q.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (KafkaConsumer<byte[], byte[]> probe = new KafkaConsumer<>(q)) {
            end = probe.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
        }
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (consumer.position(tp, Duration.ofSeconds(30)) < end) {
                if (System.nanoTime() > deadline) {
                    fail("could not read " + topic + " up to offset " + end + " (" + isolation + "), got " + out.size());
                }
                consumer.poll(Duration.ofMillis(200)).records(tp).forEach(out::add);
            }
        }
        return out;
    }

    private static List<SpecificRecord> decodeAll(List<ConsumerRecord<byte[], byte[]>> records) throws WireFormatException {
        List<SpecificRecord> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            out.add(CODEC.decode(r.value()));
        }
        return out;
    }

    private static String types(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(r -> {
            try {
                return CODEC.decode(r.value()).getClass().getSimpleName();
            } catch (WireFormatException e) {
                return e.reason();
            }
        }).collect(Collectors.joining(", "));
    }

    /** The delta of one update from its chunk records, checked the way the job checks them against a commit digest. */
    private static float[] reassemble(List<SpecificRecord> chunks, int round, String client, String expectedDigest)
            throws Exception {
        ModelAssembler a = ModelAssembler.forUpdate(round, FP, DELTA_FLOATS, chunks.size());
        for (SpecificRecord r : chunks) {
            UpdateChunk c = assertInstanceOf(UpdateChunk.class, r);
            assertEquals(round, c.getRound());
            assertEquals(client, c.getClientId());
            assertEquals(chunks.size(), c.getChunkCount());
            assertEquals(ChunkVerdict.ACCEPTED,
                    a.offer(c.getChunkIndex(), c.getChunkCount(), c.getOffset(), DELTA_FLOATS, c.getData(), c.getChunkDigest()));
        }
        return a.assemble(expectedDigest);
    }

    private static void assertBitExact(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail("float " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }

    private static boolean isFencing(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    private static String chain(Throwable e) {
        StringBuilder s = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            s.append(t.getClass().getName()).append(": ").append(t.getMessage()).append(" <- ");
        }
        return s.toString();
    }
}

package io.fedstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ModelChunk;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.TestInstance;

/**
 * A model of 12 default-size chunks (3.1M floats, 12.6 MB) through the whole system: the in-process broker with
 * its default {@code message.max.bytes}, the job in a MiniCluster with parallelism 2 (so each aggregator
 * subtask holds more than 3 chunks), and 4 synthetic clients for 2 rounds. The published global models must equal
 * a FedAvg recomputed independently from the update records on Kafka, and no record on any topic of the
 * federation may exceed 1 MiB.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LargeModelIT {
    /** Work folders of this class; JUnit deletes it after the last test. */
    @TempDir
    static Path tempRoot;

    private static final int CHUNKS = 12;
    private static final long FLOATS = (long) ChunkLayout.DEFAULT_CHUNK_FLOATS * (CHUNKS - 1) + 12_345;
    private static final int CLIENTS = 4;
    private static final int ROUNDS = 2;
    private static final int PARALLELISM = 2;
    private static final long ONE_MIB = 1024 * 1024;

    private EmbeddedKafka kafka;
    private String bootstrap;
    private BenchFederation.Result result;

    @BeforeAll
    void run() throws Exception {
        kafka = EmbeddedKafka.start();
        bootstrap = kafka.bootstrapServers();
        BenchFederation.Config config = BenchFederation.config()
                .bootstrapServers(bootstrap).federation("it-large").spec(SyntheticModel.flat(FLOATS))
                .clients(CLIENTS).rounds(ROUNDS).parallelism(PARALLELISM)
                .jobMode(BenchFederation.JobMode.IN_PROCESS)
                .workDir(Files.createTempDirectory(tempRoot, "fedstream-large-it-"))
                .timeout(Duration.ofMinutes(4))
                .build();
        result = new BenchFederation(config).run();
    }

    @AfterAll
    void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void everySubtaskAggregatesMoreThanThreeChunks() {
        assertEquals(CHUNKS, result.manifest(0).getChunkCount());
        // Keys are (round, chunk); Flink's default max parallelism for parallelism 2 is 128.
        for (int round = 0; round < ROUNDS; round++) {
            Map<Integer, Integer> perSubtask = new HashMap<>();
            for (int chunk = 0; chunk < CHUNKS; chunk++) {
                long key = ((long) round << 32) | chunk;
                perSubtask.merge(KeyGroupRangeAssignment.assignKeyToParallelOperator(key, 128, PARALLELISM), 1, Integer::sum);
            }
            assertEquals(PARALLELISM, perSubtask.size(), "round " + round + ": " + perSubtask);
            perSubtask.forEach((subtask, n) -> assertTrue(n > 3, "subtask " + subtask + " aggregates only " + n + " chunks"));
        }
    }

    @Test
    void everyRoundFinishedWithEveryClient() {
        assertTrue(result.finished);
        for (int round = 0; round < ROUNDS; round++) {
            assertEquals(CLIENTS, result.updatesIn(round), "updates in round " + round);
            assertTrue(result.manifest(round + 1) != null, "no manifest of version " + (round + 1));
        }
        for (SyntheticClient c : result.clients) {
            assertTrue(c.finished(), c.clientId() + " saw no finish");
            assertEquals(ROUNDS, c.roundsTrained());
        }
    }

    @Test
    void publishedModelsEqualTheReferenceFedAvg() {
        for (int round = 0; round < ROUNDS; round++) {
            FedAvgReference.Check check = FedAvgReference.check(bootstrap, result.topics, round);
            assertEquals(CLIENTS, check.participants());
            assertEquals(FLOATS, check.floats());
            assertTrue(check.publishedDigestVerified(), "round " + round + ": the published chunks do not hash to the manifest");
            assertTrue(check.maxAbsDiff() <= 1e-6, "round " + round + ": max abs diff " + check.maxAbsDiff());
        }
    }

    /**
     * The bounded check of a later round reads only from the previous round's start, and finds the same; a bound
     * past every record finds nothing, so the bound is really applied.
     */
    @Test
    void referenceCheckBoundedByTimeFindsTheSame() {
        int round = ROUNDS - 1;
        FedAvgReference.Check whole = FedAvgReference.check(bootstrap, result.topics, round);
        FedAvgReference.Check bounded = FedAvgReference.check(bootstrap, result.topics, round, result.referenceFromMs(round));
        assertEquals(whole, bounded);
        assertTrue(bounded.publishedDigestVerified());
        long later = System.currentTimeMillis() + 60_000;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> FedAvgReference.check(bootstrap, result.topics, round, later));
        assertTrue(e.getMessage().contains("no manifest"), e.getMessage());
    }

    @Test
    void noRecordOnAnyTopicOfTheFederationExceedsOneMiB() throws Exception {
        Topics t = result.topics;
        TreeSet<String> topics = new TreeSet<>();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            for (String name : admin.listTopics().names().get()) {
                if (name.startsWith("fedstream." + t.federation() + ".")) {
                    topics.add(name);
                }
            }
        }
        for (int i = 0; i < CLIENTS; i++) {
            String id = BenchFederation.clientId(i);
            assertTrue(topics.contains(t.clientUpdates(id)) && topics.contains(t.clientModel(id)), topics.toString());
        }
        assertTrue(topics.containsAll(List.of(t.checkin(), t.control(), t.models(), t.metrics())), topics.toString());
        long total = 0;
        int[] chunkRecords = {0};
        for (String topic : topics) {
            TopicScan.ReadStats s = TopicScan.read(bootstrap, List.of(topic), Duration.ofMinutes(2), r -> {
                try {
                    if (WireCodec.get().decode(r.value()) instanceof ModelChunk) {
                        chunkRecords[0]++;
                    }
                } catch (WireFormatException e) {
                    throw new AssertionError("undecodable record on " + r.topic() + " at " + r.offset(), e);
                }
            });
            assertTrue(s.maxRecordBytes() <= ONE_MIB, topic + " has a record of " + s.maxRecordBytes() + " bytes");
            total += s.bytes();
        }
        // The models topic holds versions 0..ROUNDS; every client's model topic the versions it was sent.
        assertTrue(chunkRecords[0] >= CHUNKS * (ROUNDS + 1) * (1 + CLIENTS), "only " + chunkRecords[0] + " model chunks");
        assertTrue(total > FLOATS * 4L * CLIENTS * ROUNDS, "scanned only " + total + " bytes");
    }
}

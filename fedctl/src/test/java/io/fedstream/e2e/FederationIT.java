package io.fedstream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.Finish;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.Floats;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.launch.FederationResult;
import io.fedstream.launch.LocalFederation;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.TestInstance;

/**
 * A whole federation against a real in-process Kafka broker, the real job in a Flink MiniCluster and in-process
 * DJL sidecars: 3 rounds on the digits set. Everything checked here is read back from Kafka, and the FedAvg
 * result is recomputed independently from the update records the sidecars actually sent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FederationIT {
    /** Work folders of this class; JUnit deletes it after the last test. */
    @TempDir
    static Path tempRoot;

    private static final int CLIENTS = 3;
    private static final int ROUNDS = 3;
    /** Small chunks, so the ~10k-float digits MLP spans several chunks and aggregators. */
    private static final int CHUNK_FLOATS = 4000;

    private EmbeddedKafka kafka;
    private String bootstrap;
    private FederationResult result;
    private final Topics topics = new Topics("it-digits");

    @BeforeAll
    void runFederation() throws Exception {
        kafka = EmbeddedKafka.start();
        bootstrap = kafka.bootstrapServers();
        Path work = Files.createTempDirectory(tempRoot, "fedstream-it-");
        Path dataRoot = Path.of(System.getProperty("user.dir")).getParent().resolve("data");
        LocalFederation.Options options = LocalFederation.options()
                .bootstrapServers(bootstrap).federation(topics.federation())
                .dataset("digits").dataRoot(dataRoot).workDir(work)
                .clients(CLIENTS).alpha(0.5).seed(7).rounds(ROUNDS)
                .localEpochs(2).learningRate(0.05).batchSize(16).parallelism(2)
                .chunkFloats(CHUNK_FLOATS)
                .timeout(java.time.Duration.ofMinutes(4))
                .build();
        result = new LocalFederation(options).run(r -> { });
    }

    @AfterAll
    void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void brokerListensOnLoopbackOnly() {
        for (String server : bootstrap.split(",")) {
            String host = server.substring(0, server.lastIndexOf(':'));
            assertTrue(host.equals("127.0.0.1") || host.equals("localhost"), "broker address " + server);
        }
    }

    @Test
    void everyRoundHasASummaryOnTheMetricsTopicAndTheFederationFinishes() {
        assertTrue(result.finished(), "no finish message");
        List<RoundSummary> summaries = TopicReader.read(bootstrap, topics.metrics(), RoundSummary.class);
        assertEquals(ROUNDS, summaries.size());
        for (int r = 0; r < ROUNDS; r++) {
            RoundSummary s = summaries.get(r);
            assertEquals(r, s.getRound());
            assertEquals(CLIENTS, s.getParticipants().size());
            assertEquals(CLIENTS, s.getEvalClients());
            assertTrue(s.getTotalSamples() > 0 && s.getEvalSamples() > 0);
            assertTrue(Double.isFinite(s.getTrainLoss()) && Double.isFinite(s.getEvalAccuracy()));
            assertEquals(r + 1, s.getModelVersion());
        }
        List<Finish> finishes = TopicReader.read(bootstrap, topics.metrics(), Finish.class);
        assertEquals(1, finishes.size());
        assertEquals(summaries.get(ROUNDS - 1).getModelDigest(), finishes.get(0).getFinalModelDigest());
    }

    @Test
    void evalAccuracyRises() {
        List<RoundSummary> s = result.rounds();
        assertEquals(ROUNDS, s.size());
        double first = s.get(0).getEvalAccuracy();
        double last = s.get(ROUNDS - 1).getEvalAccuracy();
        assertTrue(last > first, "eval accuracy did not rise: " + first + " -> " + last);
        assertTrue(last > 0.5, "final accuracy " + last);
    }

    @Test
    void publishedGlobalModelsAreTheSampleWeightedAverageOfTheUpdatesSent() throws Exception {
        Map<Integer, float[]> models = modelsByVersion(TopicReader.read(bootstrap, topics.models(), ModelChunk.class));
        assertTrue(models.containsKey(0) && models.containsKey(ROUNDS), "versions " + models.keySet());
        List<RoundDecision> decisions = TopicReader.read(bootstrap, topics.control(), RoundDecision.class);
        for (int round = 0; round < ROUNDS; round++) {
            float[] base = models.get(round);
            double[] weighted = new double[base.length];
            long totalSamples = 0;
            List<String> contributors = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                String client = LocalFederation.clientId(i);
                String topic = topics.clientUpdates(client);
                UpdateCommit commit = only(TopicReader.read(bootstrap, topic, UpdateCommit.class), round);
                float[] delta = updateOf(TopicReader.read(bootstrap, topic, UpdateChunk.class), round, base.length);
                for (int j = 0; j < delta.length; j++) {
                    weighted[j] += (double) commit.getSampleCount() * delta[j];
                }
                totalSamples += commit.getSampleCount();
                contributors.add(client);
            }
            float[] published = models.get(round + 1);
            double maxDiff = 0;
            for (int j = 0; j < base.length; j++) {
                double expected = base[j] + weighted[j] / totalSamples;
                maxDiff = Math.max(maxDiff, Math.abs(expected - published[j]));
            }
            assertTrue(maxDiff <= 1e-6, "round " + round + ": max abs difference " + maxDiff);
            final int r = round;
            RoundDecision d = decisions.stream().filter(x -> x.getRound() == r).findFirst().orElseThrow();
            assertEquals(totalSamples, d.getTotalSamples());
            assertEquals(contributors, d.getParticipants().stream().map(p -> p.getClientId()).toList());
        }
    }

    @Test
    void manifestsNameTheDigestOfTheChunksPublished() throws Exception {
        List<ModelChunk> chunks = TopicReader.read(bootstrap, topics.models(), ModelChunk.class);
        List<ModelManifest> manifests = TopicReader.read(bootstrap, topics.models(), ModelManifest.class);
        assertEquals(ROUNDS + 1, manifests.size());
        for (ModelManifest m : manifests) {
            ModelAssembler a = new ModelAssembler(m.getVersion(), m.getSpecFingerprint(), m.getTotalFloats(), m.getChunkCount());
            chunks.stream().filter(c -> c.getVersion() == m.getVersion()).forEach(a::offer);
            a.assemble(m.getDigest());
            assertTrue(m.getChunkCount() > 1, "the test model should span several chunks");
        }
    }

    @Test
    void everySelectedClientGetsThePlanAndTheSameModelBytesOnItsOwnTopic() {
        Map<Integer, float[]> models = modelsByVersion(TopicReader.read(bootstrap, topics.models(), ModelChunk.class));
        for (int i = 0; i < CLIENTS; i++) {
            String topic = topics.clientModel(LocalFederation.clientId(i));
            List<RoundPlan> plans = TopicReader.read(bootstrap, topic, RoundPlan.class);
            assertEquals(ROUNDS + 1, plans.size(), "plans on " + topic);
            assertTrue(plans.get(ROUNDS).getEvaluateOnly());
            Map<Integer, float[]> copies = modelsByVersion(TopicReader.read(bootstrap, topic, ModelChunk.class));
            assertEquals(models.keySet(), copies.keySet());
            for (int v : models.keySet()) {
                assertTrue(java.util.Arrays.equals(models.get(v), copies.get(v)), "version " + v + " on " + topic);
            }
            assertEquals(1, TopicReader.read(bootstrap, topic, Finish.class).size());
        }
    }

    @Test
    void nothingWasRejected() {
        assertTrue(TopicReader.readAll(bootstrap, topics.deadLetter()).isEmpty());
    }

    private static UpdateCommit only(List<UpdateCommit> commits, int round) {
        List<UpdateCommit> of = commits.stream().filter(c -> c.getRound() == round).toList();
        assertEquals(1, of.size(), "commits for round " + round);
        return of.get(0);
    }

    /** The client's delta for a round, rebuilt from its update chunks (each chunk once). */
    private static float[] updateOf(List<UpdateChunk> chunks, int round, int length) {
        float[] out = new float[length];
        boolean[] seen = new boolean[length];
        for (UpdateChunk c : chunks) {
            if (c.getRound() != round) {
                continue;
            }
            float[] data = Floats.fromBytes(c.getData());
            for (int j = 0; j < data.length; j++) {
                out[(int) c.getOffset() + j] = data[j];
                seen[(int) c.getOffset() + j] = true;
            }
        }
        for (boolean b : seen) {
            assertTrue(b, "update of round " + round + " is incomplete");
        }
        return out;
    }

    private static Map<Integer, float[]> modelsByVersion(List<ModelChunk> chunks) {
        Map<Integer, ModelAssembler> assemblers = new TreeMap<>();
        for (ModelChunk c : chunks) {
            ChunkVerdict v = assemblers.computeIfAbsent(c.getVersion(), k -> ModelAssembler.forFirst(c)).offer(c);
            assertFalse(v.isError(), "chunk " + c.getChunkIndex() + " of version " + c.getVersion() + ": " + v);
        }
        Map<Integer, float[]> out = new HashMap<>();
        for (var e : assemblers.entrySet()) {
            assertTrue(e.getValue().isComplete(), "version " + e.getKey() + " misses " + e.getValue().missing());
            try {
                out.put(e.getKey(), e.getValue().assemble(e.getValue().digest()).clone());
            } catch (Exception ex) {
                throw new AssertionError(ex);
            }
        }
        assertNotNull(out.get(0));
        return out;
    }
}

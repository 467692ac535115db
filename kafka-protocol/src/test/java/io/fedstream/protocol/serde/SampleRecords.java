package io.fedstream.protocol.serde;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.TensorShape;
import io.fedstream.avro.TrainingConfig;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.model.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * One realistic instance of every wire record type, as a small MNIST-style federation would produce them.
 * Values are deliberately non-default (non-zero, non-empty, unicode, NaN where the schema documents it) so
 * that a codec dropping or mangling a field is caught by equality.
 */
final class SampleRecords {
    static final String FED = "mnist-demo";
    static final ModelSpec SPEC = new ModelSpec(List.of(
            new TensorSpec("conv1.weight", new long[] {8, 1, 3, 3}),
            new TensorSpec("conv1.bias", new long[] {8}),
            new TensorSpec("fc.weight", new long[] {10, 8})));
    static final String FP = SPEC.fingerprint();
    static final long T0 = 1_760_000_000_000L;

    private SampleRecords() {}

    static Map<Class<? extends SpecificRecord>, SpecificRecord> all() {
        float[] chunkFloats = {0.25f, -1.5f, Float.MIN_VALUE, -0.0f, 3.0e38f, 1e-7f, 42f, -42f};
        byte[] data = Floats.toBytes(chunkFloats, 0, chunkFloats.length);
        String chunkDigest = Digests.sha256Hex(data);
        String modelDigest = Digests.composite(FP, List.of(chunkDigest));

        Map<Class<? extends SpecificRecord>, SpecificRecord> m = new LinkedHashMap<>();
        m.put(CheckIn.class, CheckIn.newBuilder()
                .setFederation(FED).setClientId("client-07").setTrainSamples(6_000).setTestSamples(1_000)
                .setSpecFingerprint(FP).setTimestampMs(T0)
                .setResources(Map.of("cpus", 8.0, "freeMemoryMb", 12_288.5, "load", 0.37))
                .setSidecarVersion("0.1.0-SNAPSHOT")
                .build());
        m.put(Heartbeat.class, Heartbeat.newBuilder()
                .setFederation(FED).setClientId("client-07").setLoad(0.83).setTimestampMs(T0 + 5_000).build());
        m.put(RoundPlan.class, RoundPlan.newBuilder()
                .setFederation(FED).setRound(3).setTotalRounds(10)
                .setSelectedClients(List.of("client-01", "client-07", "client-12"))
                .setEvaluateOnly(true)
                .setConfig(TrainingConfig.newBuilder().setLocalEpochs(2).setBatchSize(32).setLearningRate(0.01).setSeed(-7L).build())
                .setDeadlineMs(T0 + 120_000).setBaseModelVersion(3).setBaseModelDigest(modelDigest)
                .setChunkCount(1).setChunkFloats(261_888).setSpecFingerprint(FP).setIssuedAtMs(T0 + 1)
                .build());
        m.put(ModelManifest.class, ModelManifest.newBuilder()
                .setFederation(FED).setVersion(4).setProducedByRound(3)
                .setTensors(List.of(new TensorShape("conv1.weight", List.of(8L, 1L, 3L, 3L)),
                        new TensorShape("conv1.bias", List.of(8L)), new TensorShape("fc.weight", List.of(10L, 8L))))
                .setSpecFingerprint(FP).setTotalFloats(SPEC.totalFloats()).setChunkCount(1).setChunkFloats(261_888)
                .setDigest(modelDigest).setCreatedAtMs(T0 + 2)
                .build());
        m.put(ModelChunk.class, ModelChunk.newBuilder()
                .setFederation(FED).setVersion(4).setChunkIndex(2).setChunkCount(3).setOffset(16)
                .setTotalFloats(24).setSpecFingerprint(FP)
                .setData(ByteBuffer.wrap(data)).setChunkDigest(chunkDigest)
                .build());
        m.put(UpdateChunk.class, UpdateChunk.newBuilder()
                .setFederation(FED).setRound(3).setClientId("client-07").setChunkIndex(0).setChunkCount(1)
                .setOffset(0).setSampleCount(6_000).setBaseModelDigest(modelDigest)
                .setData(ByteBuffer.wrap(data.clone())).setChunkDigest(chunkDigest)
                .build());
        m.put(UpdateCommit.class, UpdateCommit.newBuilder()
                .setFederation(FED).setRound(3).setClientId("client-07").setSampleCount(6_000).setChunkCount(1)
                .setUpdateDigest(modelDigest).setBaseModelDigest(modelDigest).setSpecFingerprint(FP)
                .setTrainLoss(0.4127).setTrainAccuracy(0.8812).setTrainTimeMs(15_321).setCommittedAtMs(T0 + 3)
                .build());
        m.put(EvalReport.class, EvalReport.newBuilder()
                .setFederation(FED).setRound(3).setClientId("client-12").setModelVersion(4).setModelDigest(modelDigest)
                .setTestSamples(1_000).setLoss(0.39).setAccuracy(0.9011).setEvalTimeMs(812)
                .build());
        m.put(RoundDecision.class, RoundDecision.newBuilder()
                .setFederation(FED).setRound(3).setBaseModelVersion(3).setChunkCount(1)
                .setParticipants(List.of(new Participant("client-01", 4_000L, 0.4), new Participant("client-07", 6_000L, 0.6)))
                .setTotalSamples(10_000).setNextRecipients(List.of("client-01", "client-07", "client-12"))
                .setReason("DEADLINE_QUORUM").setDecidedAtMs(T0 + 4)
                .build());
        m.put(ChunkAggregated.class, ChunkAggregated.newBuilder()
                .setFederation(FED).setRound(3).setVersion(4).setChunkIndex(0).setChunkCount(1)
                .setChunkDigest(chunkDigest).setContributors(2).setFinishedAtMs(T0 + 5)
                .build());
        m.put(RoundSummary.class, RoundSummary.newBuilder()
                .setFederation(FED).setRound(3).setParticipants(List.of("client-01", "client-07"))
                .setTotalSamples(10_000).setTrainLoss(0.42).setTrainAccuracy(0.87)
                // NaN is the documented "nobody evaluated" value; it must survive the wire.
                .setEvalLoss(Double.NaN).setEvalAccuracy(Double.NaN).setEvalSamples(0).setEvalClients(0)
                .setAggregationTimeMs(250).setRoundTimeMs(17_000).setModelVersion(4).setModelDigest(modelDigest)
                .setRejections(2).setTimestampMs(T0 + 6)
                .build());
        m.put(Finish.class, Finish.newBuilder()
                .setFederation(FED).setRounds(10).setFinalModelVersion(10).setFinalModelDigest(modelDigest)
                .setFinalEvalAccuracy(0.9712).setReason("ROUNDS_DONE — all 10 rounds ✓").setFinishedAtMs(T0 + 7)
                .build());
        m.put(Rejected.class, Rejected.newBuilder()
                .setFederation(FED).setReason("DIGEST_MISMATCH").setDetail("chunk 2 hashes to something else")
                .setSourceTopic("fedstream.mnist-demo.client.client-07.updates").setSourcePartition(0)
                .setSourceOffset(1_234_567_890_123L).setClientId("client-07").setRound(3)
                .setPayload(ByteBuffer.wrap("{\"not\":\"avro\"}".getBytes(StandardCharsets.UTF_8)))
                .setRejectedAtMs(T0 + 8)
                .build());
        return m;
    }
}

package io.fedstream.aggregate;

import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import io.fedstream.validate.RejectReason;
import io.fedstream.validate.Rejects;
import io.fedstream.wire.Routed;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregates one chunk of one round (the key). Update chunks of selected clients are summed as they stream in,
 * so memory is one base chunk and one running sum whatever the number of clients. When the coordinator's
 * decision arrives and exactly its participants have been summed, the new global chunk is written to the
 * models topic and its digest is reported on the control topic. The chunk comes back from the models topic as
 * the base of the next round's key, which copies it to each client's model topic when the coordinator says so
 * (after the manifest).
 */
public final class ChunkAggregator extends KeyedProcessFunction<Long, ChunkInput, Routed> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ChunkAggregator.class);

    /**
     * The copies of model chunks for the clients' model topics. They have a sink of their own: with K clients they
     * are K times the model, and in the one sink they would queue ahead of the manifests, plans and completion
     * notices that the federation waits for.
     */
    public static final OutputTag<Routed> MODEL_COPIES = new OutputTag<>("model-copies") {};

    /** Updates held for a round whose plan has not reached this aggregator yet; more is a client racing ahead. */
    static final int MAX_EARLY = 64;

    private final String federation;
    private final String bootstrapServers;
    private final AggregationRule rule;
    private final Duration stateTtl;
    private transient Topics topics;
    private transient ValueState<ChunkState> state;
    private transient Counter rejected;
    private transient Counter finished;
    private transient Counter handedOver;
    private transient Counter readAgain;
    private transient ChunkRefetcher refetcher;
    private transient float[] deltaBuffer;
    private transient ArrayPool pool;
    private transient JobID job;
    private transient int subtask;
    private transient int attempt;

    public ChunkAggregator(String federation, String bootstrapServers, AggregationRule rule, Duration stateTtl) {
        this.federation = federation;
        this.bootstrapServers = bootstrapServers;
        this.rule = rule;
        this.stateTtl = stateTtl;
    }

    @Override
    public void open(OpenContext ctx) {
        topics = new Topics(federation);
        ValueStateDescriptor<ChunkState> d = new ValueStateDescriptor<>("chunk", TypeInformation.of(ChunkState.class));
        // A round that never completes (its federation abandoned) must not keep its chunks forever.
        d.enableTimeToLive(StateTtlConfig.newBuilder(stateTtl)
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        state = getRuntimeContext().getState(d);
        rejected = getRuntimeContext().getMetricGroup().counter("updatesRejected");
        finished = getRuntimeContext().getMetricGroup().counter("chunksAggregated");
        // Chunks whose bytes came from the router in memory, and those that had to be read again from Kafka.
        handedOver = getRuntimeContext().getMetricGroup().counter("chunksHandedOver");
        readAgain = getRuntimeContext().getMetricGroup().counter("chunksReadAgain");
        // Bounded by what the subtask's chunks held at once anyway (a released array was in use); the cap only
        // guards a heap shared with other jobs.
        pool = new ArrayPool(Runtime.getRuntime().maxMemory() / 8);
        TaskInfo task = getRuntimeContext().getTaskInfo();
        job = getRuntimeContext().getJobInfo().getJobId();
        subtask = task.getIndexOfThisSubtask();
        attempt = task.getAttemptNumber();
        LocalHandoff.register(job, subtask, attempt, task.getNumberOfParallelSubtasks(), task.getMaxNumberOfParallelSubtasks());
    }

    @Override
    public void processElement(ChunkInput in, Context ctx, Collector<Routed> out) throws Exception {
        if (in.handoff != 0) {
            receive(in);
        }
        ChunkState s = state.value();
        if (s == null) {
            s = new ChunkState();
        }
        switch (in.kind) {
            case ChunkInput.BASE -> onBase(s, in, ctx, out);
            case ChunkInput.PLAN -> onPlan(s, in, out);
            case ChunkInput.UPDATE -> onUpdate(s, in, out);
            case ChunkInput.DECISION -> s.decision = in.decision;
            case ChunkInput.DISTRIBUTE -> onDistribute(s, in, ctx);
            default -> throw new IllegalStateException("unknown chunk input kind " + in.kind);
        }
        tryFinish(s, in, out);
        state.update(s);
    }

    private void onBase(ChunkState s, ChunkInput in, Context ctx, Collector<Routed> out) {
        if (s.base != null) {
            return;
        }
        s.base = in.values(pool.floats(in.valueCount()));
        s.baseDigest = in.digest;
        s.baseOffset = in.offset;
        s.specFingerprint = in.specFingerprint;
        s.totalFloats = in.totalFloats;
        if (s.distributeTo.length > 0) {
            sendTo(s.distributeTo, encodeBase(s, in.round, in.chunk, in.chunkCount), ctx);
            s.distributeTo = new String[0];
        }
        replayEarly(s, out);
    }

    private void onDistribute(ChunkState s, ChunkInput in, Context ctx) {
        if (s.base != null) {
            sendTo(in.clients, encodeBase(s, in.round, in.chunk, in.chunkCount), ctx);
        } else {
            s.distributeTo = in.clients;
        }
    }

    private void onPlan(ChunkState s, ChunkInput in, Collector<Routed> out) {
        // A re-planned round adds the clients of its fresh selection to those of earlier attempts.
        java.util.TreeSet<String> all = new java.util.TreeSet<>(Arrays.asList(in.clients));
        if (s.selected != null) {
            all.addAll(Arrays.asList(s.selected));
        }
        s.selected = all.toArray(new String[0]);
        if (s.planBaseDigest == null) {
            s.planBaseDigest = in.baseModelDigest;
            s.expectedLength = in.length;
        }
        replayEarly(s, out);
    }

    /** Updates that arrived before the plan are taken up once it is known. */
    private void replayEarly(ChunkState s, Collector<Routed> out) {
        if (s.selected == null || s.early.length == 0) {
            return;
        }
        ChunkInput[] early = s.early;
        s.early = new ChunkInput[0];
        for (ChunkInput u : early) {
            onUpdate(s, u, out);
        }
    }

    private void onUpdate(ChunkState s, ChunkInput in, Collector<Routed> out) {
        if (Arrays.binarySearch(s.contributors, in.clientId) >= 0) {
            // The same client's chunk again: a producer retry, a restarted sidecar or a replay. Never counted twice.
            LOG.debug("duplicate update chunk {}/{} of {} ignored", in.round, in.chunk, in.clientId);
            return;
        }
        if (s.done) {
            reject(s, in, RejectReason.LATE_UPDATE, "round " + in.round + " chunk " + in.chunk + " is already aggregated", out);
            return;
        }
        if (s.selected == null) {
            if (s.early.length >= MAX_EARLY) {
                reject(s, in, RejectReason.FUTURE_ROUND, "round " + in.round + " has not been planned", out);
                return;
            }
            s.early = Arrays.copyOf(s.early, s.early.length + 1);
            s.early[s.early.length - 1] = in;
            return;
        }
        if (Arrays.binarySearch(s.selected, in.clientId) < 0) {
            reject(s, in, RejectReason.NOT_SELECTED, "client " + in.clientId + " is not selected for round " + in.round, out);
            return;
        }
        if (s.planBaseDigest != null && !s.planBaseDigest.equals(in.baseModelDigest)) {
            reject(s, in, RejectReason.STALE_UPDATE, "trained on model " + in.baseModelDigest + ", round " + in.round
                    + " uses " + s.planBaseDigest, out);
            return;
        }
        int expected = s.expectedLength;
        if (in.valueCount() != expected || in.dataBytes() % Float.BYTES != 0) {
            reject(s, in, RejectReason.WRONG_LENGTH, "chunk " + in.chunk + " has " + in.valueCount() + " values, expected " + expected, out);
            return;
        }
        if (s.sum == null) {
            s.sum = pool.sum(expected);
        }
        // The floats are summed at once and not kept: one array per subtask serves every update chunk.
        deltaBuffer = in.values(deltaBuffer);
        s.sum.add(deltaBuffer, in.sampleCount);
        int pos = -Arrays.binarySearch(s.contributors, in.clientId) - 1;
        s.contributors = insert(s.contributors, pos, in.clientId);
        s.contributorSources = insert(s.contributorSources, pos, in.source());
        long[] samples = new long[s.contributorSamples.length + 1];
        System.arraycopy(s.contributorSamples, 0, samples, 0, pos);
        samples[pos] = in.sampleCount;
        System.arraycopy(s.contributorSamples, pos, samples, pos + 1, s.contributorSamples.length - pos);
        s.contributorSamples = samples;
    }

    private static String[] insert(String[] a, int pos, String v) {
        String[] out = new String[a.length + 1];
        System.arraycopy(a, 0, out, 0, pos);
        out[pos] = v;
        System.arraycopy(a, pos, out, pos + 1, a.length - pos);
        return out;
    }

    private void tryFinish(ChunkState s, ChunkInput in, Collector<Routed> out) throws WireFormatException {
        if (s.done || s.decision == null || s.base == null) {
            return;
        }
        RoundDecision d = WireCodec.get().decode(s.decision, RoundDecision.class);
        Map<String, Long> decided = new HashMap<>();
        for (Participant p : d.getParticipants()) {
            decided.put(p.getClientId(), p.getSampleCount());
        }
        for (String client : decided.keySet()) {
            if (Arrays.binarySearch(s.contributors, client) < 0) {
                return;
            }
        }
        if (s.contributors.length != decided.size()) {
            leaveOut(s, decided, d.getRound(), in.chunk);
        }
        for (int i = 0; i < s.contributors.length; i++) {
            if (decided.get(s.contributors[i]) != s.contributorSamples[i]) {
                LOG.warn("round {} chunk {}: client {} sent chunks weighted {} but committed {}; its chunk weight is used",
                        d.getRound(), in.chunk, s.contributors[i], s.contributorSamples[i], decided.get(s.contributors[i]));
            }
        }
        float[] next = rule.apply(s.base, s.sum, s.sum.totalWeight);
        int chunk = in.chunk;
        byte[] nextData = Floats.toBytes(next, 0, next.length);
        EncodedChunk encoded = encode(s, nextData, Digests.sha256Hex(nextData), d.getRound() + 1, chunk, d.getChunkCount());
        // Noted before the chunk leaves, so the router finds the note when it reads the chunk back.
        LocalHandoff.wrote(job, d.getRound() + 1, chunk, encoded.digest(), nextData);
        out.collect(Routed.of(topics.models(), String.valueOf(chunk), encoded.value()));
        ChunkAggregated done = ChunkAggregated.newBuilder()
                .setFederation(federation).setRound(d.getRound()).setVersion(d.getRound() + 1)
                .setChunkIndex(chunk).setChunkCount(d.getChunkCount()).setChunkDigest(encoded.digest())
                .setContributors(s.contributors.length).setRejectedRecords(s.rejectedRecords)
                .setFinishedAtMs(System.currentTimeMillis())
                .build();
        out.collect(Routed.of(topics.control(), federation, WireCodec.get().encode(done)));
        finished.inc();
        // Keep only who contributed, so late chunks and replayed duplicates are recognised; the big arrays go to
        // the next round's chunks. No snapshot shares them: during a snapshot the heap state backend hands this
        // function a copy of the state, and a state read from RocksDB is a copy anyway.
        pool.release(s.sum);
        pool.release(s.base);
        s.base = null;
        s.baseDigest = null;
        s.sum = null;
        s.early = new ChunkInput[0];
        s.decision = null;
        s.contributorSources = new String[0];
        s.done = true;
    }

    /**
     * Subtracts the chunks of clients the decision left out, read back from Kafka by offset, so the sum covers
     * exactly the decided participants.
     */
    private void leaveOut(ChunkState s, Map<String, Long> decided, int round, int chunk) {
        List<String> kept = new ArrayList<>();
        List<String> keptSources = new ArrayList<>();
        List<Long> keptSamples = new ArrayList<>();
        for (int i = 0; i < s.contributors.length; i++) {
            if (decided.containsKey(s.contributors[i])) {
                kept.add(s.contributors[i]);
                keptSources.add(s.contributorSources[i]);
                keptSamples.add(s.contributorSamples[i]);
                continue;
            }
            UpdateChunk again = refetcher().fetch(s.contributorSources[i]);
            if (!again.getClientId().equals(s.contributors[i]) || again.getRound() != round || again.getChunkIndex() != chunk) {
                throw new IllegalStateException("record at " + s.contributorSources[i] + " is not the chunk that was summed");
            }
            s.sum.add(Floats.fromBytes(again.getData()), -again.getSampleCount());
            LOG.debug("round {} chunk {}: left out {}, subtracted from the sum", round, chunk, s.contributors[i]);
        }
        s.contributors = kept.toArray(new String[0]);
        s.contributorSources = keptSources.toArray(new String[0]);
        s.contributorSamples = keptSamples.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Takes the bytes the router handed over in memory for {@code in} ({@link LocalHandoff}); if they are not here,
     * reads its record again from Kafka, and checks it against the digest the router checked it by.
     */
    private void receive(ChunkInput in) {
        byte[] bytes = LocalHandoff.take(job, in.handoff);
        in.handoff = 0;
        if (bytes != null) {
            in.data = bytes;
            handedOver.inc();
            return;
        }
        String source = in.source();
        ByteBuffer data;
        boolean intact;
        if (in.kind == ChunkInput.BASE) {
            data = refetcher().fetch(source, ModelChunk.class).getData();
            intact = Digests.matchesModelChunk(data, in.digest);
        } else {
            data = refetcher().fetch(source).getData();
            intact = Digests.matchesUpdateChunk(data, in.digest);
        }
        if (!intact) {
            throw new IllegalStateException("the record at " + source + " no longer matches the digest it was checked by");
        }
        readAgain.inc();
        LOG.debug("chunk {}/{} read again from {}: its bytes were not handed over here", in.round, in.chunk, source);
        in.wrapData(data);
    }

    private ChunkRefetcher refetcher() {
        if (refetcher == null) {
            refetcher = new ChunkRefetcher(bootstrapServers);
        }
        return refetcher;
    }

    @Override
    public void close() throws Exception {
        if (job != null) {
            LocalHandoff.deregister(job, subtask, attempt);
        }
        if (refetcher != null) {
            refetcher.close();
        }
        super.close();
    }

    /** A model chunk encoded once for every topic it goes to, and the digest of its data. */
    private record EncodedChunk(byte[] value, String digest) { }

    /**
     * The base chunk for the clients' model topics. Its digest is the one the router checked when the chunk
     * came in from the models topic, so it is not hashed again.
     */
    private EncodedChunk encodeBase(ChunkState s, int version, int chunk, int chunkCount) {
        return encode(s, Floats.toBytes(s.base, 0, s.base.length), s.baseDigest, version, chunk, chunkCount);
    }

    private EncodedChunk encode(ChunkState s, byte[] data, String digest, int version, int chunk, int chunkCount) {
        ModelChunk mc = ModelChunk.newBuilder()
                .setFederation(federation).setVersion(version).setChunkIndex(chunk).setChunkCount(chunkCount)
                .setOffset(s.baseOffset).setTotalFloats(s.totalFloats)
                .setSpecFingerprint(s.specFingerprint).setData(ByteBuffer.wrap(data)).setChunkDigest(digest)
                .build();
        return new EncodedChunk(WireCodec.get().encode(mc), digest);
    }

    /** Writes the chunk to each client's model topic, through a sink of their own (see {@link #MODEL_COPIES}). */
    private void sendTo(String[] clients, EncodedChunk encoded, Context ctx) {
        for (String client : clients) {
            ctx.output(MODEL_COPIES, Routed.of(topics.clientModel(client), client, encoded.value()));
        }
    }

    private void reject(ChunkState s, ChunkInput in, RejectReason reason, String detail, Collector<Routed> out) {
        rejected.inc();
        boolean late = reason == RejectReason.LATE_UPDATE || reason == RejectReason.STALE_UPDATE;
        if (!late && !s.done) {
            // Counted in the round's summary through the chunk's completion notice.
            s.rejectedRecords++;
        }
        LOG.debug("rejected {} from {}/{}@{}: {}", reason, in.sourceTopic, in.sourcePartition, in.sourceOffset, detail);
        UpdateChunk original = UpdateChunk.newBuilder()
                .setFederation(federation).setRound(in.round).setClientId(in.clientId).setChunkIndex(in.chunk)
                .setChunkCount(in.chunkCount).setOffset(in.offset).setSampleCount(in.sampleCount)
                .setBaseModelDigest(in.baseModelDigest)
                .setData(in.dataView()).setChunkDigest(in.digest)
                .build();
        Routed r = Rejects.deadLetter(topics, reason, detail, in.sourceTopic, in.sourcePartition, in.sourceOffset,
                in.clientId, in.round, WireCodec.get().encode(original));
        out.collect(late ? new Routed(topics.late(), r.key, r.value) : r);
    }
}

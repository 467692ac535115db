package io.fedstream.validate;

import io.fedstream.aggregate.ChunkInput;
import io.fedstream.aggregate.LocalHandoff;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import io.fedstream.round.RoundEvent;
import io.fedstream.wire.Routed;
import io.fedstream.wire.WireRecord;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.Counter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes every input record, runs the checks that need no round state, and routes it: chunk data to the
 * chunk aggregators (side output), small protocol records to the round coordinator (main output), bad records
 * to the dead-letter topic (side output) with a reason. A bad record never fails the job.
 */
public final class Router extends ProcessFunction<WireRecord, RoundEvent> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(Router.class);

    public static final OutputTag<ChunkInput> CHUNKS = new OutputTag<>("chunks") {};
    public static final OutputTag<Routed> REJECTS = new OutputTag<>("rejects") {};

    /** What a chunk carries through the exchange in place of bytes handed over in memory. */
    private static final byte[] NO_BYTES = new byte[0];

    /** An update claiming more samples than this is treated as an attack or a bug. */
    public static final long MAX_SAMPLES = 1_000_000_000L;

    private final String federation;
    private transient Topics topics;
    private transient Counter rejected;
    private transient JobID job;

    public Router(String federation) {
        this.federation = federation;
    }

    @Override
    public void open(OpenContext ctx) {
        topics = new Topics(federation);
        rejected = getRuntimeContext().getMetricGroup().counter("recordsRejected");
        job = getRuntimeContext().getJobInfo().getJobId();
    }

    @Override
    public void processElement(WireRecord in, Context ctx, Collector<RoundEvent> out) {
        SpecificRecord record;
        try {
            // Chunk data stays where the Kafka record holds it: copied into the network buffers, not again before.
            record = WireCodec.get().decodeSharingBytes(in.value);
        } catch (WireFormatException e) {
            reject(ctx, out, in, RejectReason.valueOf(e.reason()), e.getMessage(), topics.clientOf(in.topic), null);
            return;
        }
        String type = record.getSchema().getName();
        Object fed = record.get(record.getSchema().getField("federation").pos());
        if (!federation.equals(String.valueOf(fed))) {
            reject(ctx, out, in, RejectReason.WRONG_FEDERATION, "record of federation '" + fed + "' on " + in.topic, null, null);
            return;
        }
        String topicClient = topics.clientOf(in.topic);
        if (topicClient != null) {
            routeClientRecord(in, record, type, topicClient, ctx, out);
        } else if (in.topic.equals(topics.checkin())) {
            if (type.equals("CheckIn") || type.equals("Heartbeat")) {
                // The id names the client's topics; one that cannot would fail the coordinator on every replay.
                String id = String.valueOf(record.get(record.getSchema().getField("clientId").pos()));
                try {
                    Topics.requireId("client id", id);
                } catch (IllegalArgumentException e) {
                    reject(ctx, out, in, RejectReason.CLIENT_TOPIC_MISMATCH, e.getMessage(), null, null);
                    return;
                }
                out.collect(RoundEvent.of(type, in.value, in.source()));
            } else {
                reject(ctx, out, in, RejectReason.WRONG_TOPIC, type + " does not belong on the check-in topic", null, null);
            }
        } else if (in.topic.equals(topics.models())) {
            if (record instanceof ModelChunk mc) {
                // A chunk an aggregator in this JVM just hashed and wrote is checked by a checksum, not hashed again.
                boolean intact = LocalHandoff.readBackMatches(job, mc.getVersion(), mc.getChunkIndex(), mc.getChunkDigest(), mc.getData())
                        || Digests.matchesModelChunk(mc.getData(), mc.getChunkDigest());
                if (!intact) {
                    reject(ctx, out, in, RejectReason.DIGEST_MISMATCH, "model chunk " + mc.getChunkIndex() + " of version "
                            + mc.getVersion() + " does not hash to its digest", null, mc.getVersion());
                    return;
                }
                ctx.output(CHUNKS, handOff(baseChunk(mc, in)));
                // The coordinator writes a new model's manifest only once all its chunks are readable here.
                out.collect(RoundEvent.modelChunkStored(mc.getVersion(), mc.getChunkIndex(), mc.getChunkDigest(), in.source()));
            } else if (type.equals("ModelManifest")) {
                out.collect(RoundEvent.of(type, in.value, in.source()));
            } else {
                reject(ctx, out, in, RejectReason.WRONG_TOPIC, type + " does not belong on the models topic", null, null);
            }
        } else if (in.topic.equals(topics.control())) {
            // The control topic carries the coordinator's own decisions (an audit log) and the aggregators'
            // chunk completions, which close the loop back to the coordinator.
            if (type.equals("ChunkAggregated")) {
                out.collect(RoundEvent.of(type, in.value, in.source()));
            }
        } else {
            reject(ctx, out, in, RejectReason.WRONG_TOPIC, "the job does not read " + in.topic, null, null);
        }
    }

    private void routeClientRecord(WireRecord in, SpecificRecord record, String type, String topicClient,
                                   Context ctx, Collector<RoundEvent> out) {
        Object clientField = record.getSchema().getField("clientId") == null ? null
                : record.get(record.getSchema().getField("clientId").pos());
        Integer round = record.getSchema().getField("round") == null ? null
                : (Integer) record.get(record.getSchema().getField("round").pos());
        if (clientField == null) {
            reject(ctx, out, in, RejectReason.WRONG_TOPIC, type + " does not belong on a client topic", topicClient, round);
            return;
        }
        if (!topicClient.equals(clientField.toString())) {
            reject(ctx, out, in, RejectReason.CLIENT_TOPIC_MISMATCH, "client '" + clientField + "' wrote to the topic of '"
                    + topicClient + "'", topicClient, round);
            return;
        }
        switch (type) {
            case "UpdateChunk" -> {
                UpdateChunk uc = (UpdateChunk) record;
                String problem = checkUpdateChunk(uc);
                if (problem != null) {
                    String[] p = problem.split(":", 2);
                    reject(ctx, out, in, RejectReason.valueOf(p[0]), p[1], topicClient, round);
                    return;
                }
                ChunkInput chunk = updateChunk(uc, in);
                out.collect(RoundEvent.chunkSeen(uc.getRound(), uc.getClientId(), uc.getChunkIndex(), uc.getOffset(),
                        chunk.valueCount(), uc.getChunkDigest(), uc.getSampleCount(), uc.getBaseModelDigest(), in.source()));
                ctx.output(CHUNKS, handOff(chunk));
            }
            case "UpdateCommit", "EvalReport" -> out.collect(RoundEvent.of(type, in.value, in.source()));
            default -> reject(ctx, out, in, RejectReason.WRONG_TOPIC, type + " does not belong on a client topic", topicClient, round);
        }
    }

    /**
     * The chunk with its bytes parked for its aggregator, if that runs in this JVM ({@link LocalHandoff}): only
     * the reference then crosses the exchange. Otherwise the chunk as it is.
     */
    private ChunkInput handOff(ChunkInput c) {
        long id = c.data.length == 0 ? 0 : LocalHandoff.park(job, c.key(), c.data);
        if (id != 0) {
            c.handoff = id;
            c.data = NO_BYTES;
        }
        return c;
    }

    /** Null if the chunk passes the stateless checks, else "REASON:detail". */
    static String checkUpdateChunk(UpdateChunk uc) {
        if (uc.getSampleCount() <= 0 || uc.getSampleCount() > MAX_SAMPLES) {
            return "BAD_SAMPLE_COUNT:sample count " + uc.getSampleCount() + " is outside 1.." + MAX_SAMPLES;
        }
        if (uc.getData().remaining() == 0 || uc.getData().remaining() % Float.BYTES != 0) {
            return "WRONG_LENGTH:chunk data of " + uc.getData().remaining() + " bytes is not a non-empty float vector";
        }
        if (!Digests.matchesUpdateChunk(uc.getData(), uc.getChunkDigest())) {
            return "DIGEST_MISMATCH:chunk " + uc.getChunkIndex() + " does not hash to its digest";
        }
        int bad = Floats.firstNonFinite(uc.getData());
        if (bad >= 0) {
            FloatBuffer values = uc.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            return "NON_FINITE:value " + values.get(bad) + " at offset " + (uc.getOffset() + bad);
        }
        return null;
    }

    private static ChunkInput updateChunk(UpdateChunk uc, WireRecord in) {
        ChunkInput c = new ChunkInput();
        c.kind = ChunkInput.UPDATE;
        c.round = uc.getRound();
        c.chunk = uc.getChunkIndex();
        c.chunkCount = uc.getChunkCount();
        c.offset = uc.getOffset();
        c.clientId = uc.getClientId();
        c.sampleCount = uc.getSampleCount();
        c.baseModelDigest = uc.getBaseModelDigest();
        c.wrapData(uc.getData());
        c.digest = uc.getChunkDigest();
        c.sourceTopic = in.topic;
        c.sourcePartition = in.partition;
        c.sourceOffset = in.offset;
        return c;
    }

    private static ChunkInput baseChunk(ModelChunk mc, WireRecord in) {
        ChunkInput c = new ChunkInput();
        c.kind = ChunkInput.BASE;
        // Model version v is the base of round v.
        c.round = mc.getVersion();
        c.chunk = mc.getChunkIndex();
        c.chunkCount = mc.getChunkCount();
        c.offset = mc.getOffset();
        c.totalFloats = mc.getTotalFloats();
        c.specFingerprint = mc.getSpecFingerprint();
        c.wrapData(mc.getData());
        c.digest = mc.getChunkDigest();
        c.sourceTopic = in.topic;
        c.sourcePartition = in.partition;
        c.sourceOffset = in.offset;
        return c;
    }

    private void reject(Context ctx, Collector<RoundEvent> out, WireRecord in, RejectReason reason, String detail, String clientId, Integer round) {
        rejected.inc();
        LOG.debug("rejected {} from {}: {}", reason, in.source(), detail);
        ctx.output(REJECTS, Rejects.deadLetter(topics, reason, detail, in.topic, in.partition, in.offset, clientId, round, in.value));
        // The coordinator counts rejections in the round summary.
        out.collect(RoundEvent.rejection(round == null ? -1 : round, clientId, reason.name(), in.source()));
    }
}

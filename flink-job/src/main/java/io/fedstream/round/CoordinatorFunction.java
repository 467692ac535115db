package io.fedstream.round;

import io.fedstream.aggregate.ChunkInput;
import io.fedstream.avro.RoundDecision;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.job.JobSettings;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.wire.Routed;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Runs the {@link RoundCoordinator} for one federation (the key). Kafka records go to the main output; orders
 * for the chunk aggregators (plans, decisions, distributions) go to {@link #CHUNK_ORDERS}, one per chunk.
 */
public final class CoordinatorFunction extends KeyedProcessFunction<String, RoundEvent, Routed> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<ChunkInput> CHUNK_ORDERS = new OutputTag<>("chunk-orders") {};

    private final RoundCoordinator coordinator;
    private transient ValueState<FederationState> state;
    private transient Counter rejected;
    private transient Counter late;

    public CoordinatorFunction(JobSettings settings) {
        this.coordinator = new RoundCoordinator(settings);
    }

    @Override
    public void open(OpenContext ctx) {
        state = getRuntimeContext().getState(
                new ValueStateDescriptor<>("federation", TypeInformation.of(FederationState.class)));
        rejected = getRuntimeContext().getMetricGroup().counter("commitsRejected");
        late = getRuntimeContext().getMetricGroup().counter("updatesLate");
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Routed> out) throws Exception {
        FederationState s = state.value();
        if (s != null) {
            coordinator.onTimer(s, timestamp, System.currentTimeMillis(), output(ctx, out));
            state.update(s);
        }
    }

    @Override
    public void processElement(RoundEvent event, Context ctx, Collector<Routed> out) throws Exception {
        FederationState s = state.value();
        if (s == null) {
            s = new FederationState();
        }
        coordinator.handle(s, event, System.currentTimeMillis(), output(ctx, out));
        state.update(s);
    }

    private CoordinatorOutput output(Context ctx, Collector<Routed> out) {
        return new CoordinatorOutput() {
            @Override
            public void send(Routed record) {
                out.collect(record);
            }

            @Override
            public void plan(int round, ChunkLayout layout, List<String> selected, String baseModelDigest) {
                for (int c = 0; c < layout.chunkCount(); c++) {
                    ChunkInput in = order(ChunkInput.PLAN, round, c, layout.chunkCount());
                    in.length = layout.length(c);
                    in.clients = selected.toArray(new String[0]);
                    in.baseModelDigest = baseModelDigest;
                    ctx.output(CHUNK_ORDERS, in);
                }
            }

            @Override
            public void decide(RoundDecision decision) {
                byte[] encoded = WireCodec.get().encode(decision);
                for (int c = 0; c < decision.getChunkCount(); c++) {
                    ChunkInput in = order(ChunkInput.DECISION, decision.getRound(), c, decision.getChunkCount());
                    in.decision = encoded;
                    ctx.output(CHUNK_ORDERS, in);
                }
            }

            @Override
            public void distribute(int version, int chunkCount, List<String> recipients) {
                for (int c = 0; c < chunkCount; c++) {
                    ChunkInput in = order(ChunkInput.DISTRIBUTE, version, c, chunkCount);
                    in.clients = recipients.toArray(new String[0]);
                    ctx.output(CHUNK_ORDERS, in);
                }
            }

            @Override
            public void timer(long timestampMs) {
                ctx.timerService().registerProcessingTimeTimer(timestampMs);
            }

            @Override
            public void rejected(String reason, boolean isLate) {
                (isLate ? late : rejected).inc();
            }
        };
    }

    private static ChunkInput order(int kind, int round, int chunk, int chunkCount) {
        ChunkInput in = new ChunkInput();
        in.kind = kind;
        in.round = round;
        in.chunk = chunk;
        in.chunkCount = chunkCount;
        return in;
    }
}

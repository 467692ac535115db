package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.wire.Routed;
import java.lang.reflect.Constructor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.runtime.state.storage.JobManagerCheckpointStorage;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.junit.jupiter.api.Test;

/**
 * The FedAvg chunk aggregator's state does not grow with the number of clients: one wire-sized chunk
 * (261,888 floats) is fed the updates of 4 and of 64 clients through the real operator in Flink's keyed test
 * harness, and its per-key state is measured twice: serialized with the {@link TypeSerializer} Flink derives for
 * {@link ChunkState}, and as the size of a keyed-state snapshot (what a checkpoint writes). The decision then
 * closes the chunk, so the updates are known to have been summed, not rejected.
 */
class ChunkStateSizeTest {
    private static final String FED = "size";
    private static final Topics T = new Topics(FED);
    private static final int LEN = ChunkLayout.DEFAULT_CHUNK_FLOATS;
    private static final long CHUNK_BYTES = (long) LEN * Float.BYTES;
    private static final String FP = ModelSpec.flat("w", LEN).fingerprint();
    private static final String BASE_DIGEST = "b0".repeat(32);
    private static final Duration TTL = Duration.ofHours(1);

    /** Sizes measured after a number of clients' chunks were summed. */
    private record Sizes(int clients, long serialized, long snapshot) {}

    @Test
    void stateOf64ClientsIsTheStateOf4Clients() throws Exception {
        List<Sizes> four = feed(4, List.of(1, 4));
        List<Sizes> sixtyFour = feed(64, List.of(1, 4, 16, 64));
        Sizes s4 = four.get(four.size() - 1);
        Sizes s64 = sixtyFour.get(sixtyFour.size() - 1);
        System.out.printf("chunk of %d floats (%d bytes): serialized state %s; snapshot %s%n", LEN, CHUNK_BYTES,
                describe(four, sixtyFour, true), describe(four, sixtyFour, false));
        for (long[] pair : new long[][] {{s4.serialized, s64.serialized}, {s4.snapshot, s64.snapshot}}) {
            assertTrue(pair[1] <= pair[0] * 1.03, "64 clients' state " + pair[1] + " bytes vs 4 clients' " + pair[0]);
            // Base chunk and a two-double sum: about 5 chunks' worth, whatever the number of clients.
            assertTrue(pair[1] < 6 * CHUNK_BYTES, "state of " + pair[1] + " bytes for a " + CHUNK_BYTES + "-byte chunk");
            assertTrue(pair[1] < 64 * CHUNK_BYTES / 10, "state is not far below the 64 updates it summed");
        }
        // Flat from the first client on, not just at the ends.
        for (Sizes s : sixtyFour) {
            assertTrue(s.serialized <= sixtyFour.get(0).serialized * 1.03, "after " + s.clients + " clients: " + s);
        }
    }

    private static String describe(List<Sizes> four, List<Sizes> sixtyFour, boolean serialized) {
        StringBuilder sb = new StringBuilder();
        for (List<Sizes> l : List.of(four, sixtyFour)) {
            for (Sizes s : l) {
                sb.append(s.clients).append(" clients ").append(serialized ? s.serialized : s.snapshot).append(" B, ");
            }
        }
        return sb.toString();
    }

    /** Feeds plan, base and {@code clients} updates of one chunk; measures the state at {@code measureAt}. */
    private List<Sizes> feed(int clients, List<Integer> measureAt) throws Exception {
        List<Sizes> sizes = new ArrayList<>();
        KeyedOneInputStreamOperatorTestHarness<Long, ChunkInput, Routed> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(newAggregator()), ChunkInput::key, Types.LONG);
        // The default in-memory checkpoint storage refuses state over 5 MB; one chunk's state is just above that.
        harness.setCheckpointStorage(new JobManagerCheckpointStorage(64 * 1024 * 1024));
        harness.open();
        try {
            SplittableRandom r = new SplittableRandom(clients);
            float[] base = random(r, 1f);
            String[] ids = new String[clients];
            for (int i = 0; i < clients; i++) {
                ids[i] = String.format("client-%03d", i);
            }
            ChunkInput plan = order(ChunkInput.PLAN);
            plan.length = LEN;
            plan.clients = ids.clone();
            plan.baseModelDigest = BASE_DIGEST;
            harness.processElement(plan, 0);
            ChunkInput b = order(ChunkInput.BASE);
            b.totalFloats = LEN;
            b.specFingerprint = FP;
            b.data = Floats.toBytes(base, 0, LEN);
            b.digest = Digests.sha256Hex(Floats.toBytes(base, 0, LEN));
            b.sourceTopic = T.models();
            harness.processElement(b, 0);

            double[] exact = new double[LEN];
            long total = 0;
            List<Participant> participants = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                ChunkInput u = order(ChunkInput.UPDATE);
                u.clientId = ids[i];
                u.sampleCount = 1 + r.nextInt(10_000);
                u.baseModelDigest = BASE_DIGEST;
                float[] delta = random(r, 1e-2f);
                u.data = Floats.toBytes(delta, 0, LEN);
                u.digest = Digests.sha256Hex(u.data);
                u.sourceTopic = T.clientUpdates(ids[i]);
                u.sourceOffset = i;
                for (int k = 0; k < LEN; k++) {
                    exact[k] += (double) u.sampleCount * delta[k];
                }
                total += u.sampleCount;
                participants.add(new Participant(ids[i], u.sampleCount, 0.0));
                harness.processElement(u, 0);
                if (measureAt.contains(i + 1)) {
                    sizes.add(new Sizes(i + 1, serializedState(harness), harness.snapshot(i + 1, i + 1)
                            .getManagedKeyedState().getStateSize()));
                }
            }
            assertTrue(harness.extractOutputValues().isEmpty(), "no update may be rejected: " + harness.extractOutputValues());

            // Close the chunk: every client's chunk must be in the sum, and the new chunk must be FedAvg.
            RoundDecision d = RoundDecision.newBuilder().setFederation(FED).setRound(0).setBaseModelVersion(0)
                    .setChunkCount(1).setParticipants(participants).setTotalSamples(total)
                    .setNextRecipients(List.of()).setReason("ALL_COMMITTED").setDecidedAtMs(1).build();
            ChunkInput decision = order(ChunkInput.DECISION);
            decision.decision = WireCodec.get().encode(d);
            harness.processElement(decision, 0);
            ModelChunk next = null;
            ChunkAggregated done = null;
            for (Routed out : harness.extractOutputValues()) {
                Object rec = WireCodec.get().decode(out.value);
                if (rec instanceof ModelChunk mc && out.topic.equals(T.models())) {
                    next = mc;
                } else if (rec instanceof ChunkAggregated ca) {
                    done = ca;
                }
            }
            assertTrue(next != null && done != null, "the chunk was not aggregated");
            assertEquals(clients, done.getContributors());
            float[] got = Floats.fromBytes(next.getData());
            for (int k = 0; k < LEN; k++) {
                float want = (float) (base[k] + exact[k] / total);
                assertTrue(Math.abs(got[k] - want) <= Math.ulp(want), "coordinate " + k + ": " + got[k] + " vs " + want);
            }
        } finally {
            harness.close();
        }
        return sizes;
    }

    /** The per-key value, serialized with the serializer Flink derives for {@link ChunkState}. */
    private static long serializedState(KeyedOneInputStreamOperatorTestHarness<Long, ChunkInput, Routed> harness)
            throws Exception {
        harness.getOperator().setCurrentKey(ChunkInput.key(0, 0));
        ValueStateDescriptor<ChunkState> d = new ValueStateDescriptor<>("chunk", TypeInformation.of(ChunkState.class));
        d.enableTimeToLive(StateTtlConfig.newBuilder(TTL)
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired).build());
        ChunkState s = harness.getOperator().getKeyedStateBackend()
                .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, d).value();
        TypeSerializer<ChunkState> serializer = TypeInformation.of(ChunkState.class).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(8 * 1024 * 1024);
        serializer.serialize(s, out);
        return out.length();
    }

    /** An input of {@code kind} for chunk 0 of round 0, of a one-chunk model (the handoff test's too). */
    static ChunkInput order(int kind) {
        ChunkInput in = new ChunkInput();
        in.kind = kind;
        in.round = 0;
        in.chunk = 0;
        in.chunkCount = 1;
        return in;
    }

    private static float[] random(SplittableRandom r, float scale) {
        float[] f = new float[LEN];
        for (int i = 0; i < LEN; i++) {
            f[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return f;
    }

    /**
     * The real aggregator with FedAvg. Its constructor has changed as the job grew (a bootstrap-servers argument
     * for re-reading left-out updates), so take whichever of (federation[, bootstrap servers], rule, state TTL)
     * it has; this test never needs Kafka.
     */
    static ChunkAggregator newAggregator() throws Exception {
        for (Constructor<?> c : ChunkAggregator.class.getConstructors()) {
            Class<?>[] p = c.getParameterTypes();
            Object[] args = new Object[p.length];
            int strings = 0;
            boolean ok = true;
            for (int i = 0; i < p.length; i++) {
                if (p[i] == String.class) {
                    args[i] = strings++ == 0 ? FED : "127.0.0.1:9";
                } else if (p[i].isAssignableFrom(FedAvg.class)) {
                    args[i] = new FedAvg();
                } else if (p[i] == Duration.class) {
                    args[i] = TTL;
                } else {
                    ok = false;
                }
            }
            if (ok) {
                return (ChunkAggregator) c.newInstance(args);
            }
        }
        throw new IllegalStateException("no ChunkAggregator constructor of (strings, rule, duration)");
    }
}

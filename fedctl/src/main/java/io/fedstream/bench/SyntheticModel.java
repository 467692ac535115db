package io.fedstream.bench;

import io.fedstream.avro.ModelManifest;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.model.TensorSpec;
import io.fedstream.sidecar.InitialModelPublisher;
import java.util.List;

/**
 * Models and updates without DJL: a spec, seeded initial weights, and deterministic pseudo-random deltas (a
 * function of seed, round and client), so a benchmark or test needs no training and no data.
 */
public final class SyntheticModel {
    private SyntheticModel() {}

    /** The MNIST MLP of the round-overhead benchmark: 784-128-10, 101,770 floats. */
    public static ModelSpec mnistMlp() {
        return new ModelSpec(List.of(
                new TensorSpec("fc1.weight", new long[] {128, 784}),
                new TensorSpec("fc1.bias", new long[] {128}),
                new TensorSpec("fc2.weight", new long[] {10, 128}),
                new TensorSpec("fc2.bias", new long[] {10})));
    }

    /** One flat tensor of {@code params} floats. */
    public static ModelSpec flat(long params) {
        return ModelSpec.flat("w", params);
    }

    /** Seeded initial weights in [-0.5, 0.5). */
    public static float[] initialWeights(ModelSpec spec, long seed) {
        float[] w = new float[Math.toIntExact(spec.totalFloats())];
        fill(w, mix(seed, -1, 0x5eedL), 0.5f);
        return w;
    }

    /** The delta client {@code clientId} sends in {@code round}: values in [-scale, scale). */
    public static float[] delta(long seed, int round, String clientId, int length, float scale) {
        return delta(seed, round, clientId, length, scale, null);
    }

    /** As above, written into {@code into} if it has {@code length} values, else into a new array. */
    public static float[] delta(long seed, int round, String clientId, int length, float scale, float[] into) {
        float[] d = into != null && into.length == length ? into : new float[length];
        fill(d, mix(seed, round, clientId.hashCode()), scale);
        return d;
    }

    /** Sample count of a client: deterministic, different per client, 100..10,099. */
    public static long samples(long seed, String clientId) {
        return 100 + Math.floorMod(mix(seed, 7, clientId.hashCode()), 10_000L);
    }

    private static long mix(long seed, long a, long b) {
        long z = seed * 0x9E3779B97F4A7C15L + a * 0xBF58476D1CE4E5B9L + b * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** xorshift64* stream mapped to [-scale, scale): fast enough for 100M values in well under a second. */
    private static void fill(float[] out, long state, float scale) {
        long x = state == 0 ? 0x2545F4914F6CDD1DL : state;
        float k = 2f * scale / (1 << 24);
        for (int i = 0; i < out.length; i++) {
            x ^= x >>> 12;
            x ^= x << 25;
            x ^= x >>> 27;
            long r = x * 0x2545F4914F6CDD1DL;
            out[i] = (int) (r >>> 40) * k - scale;
        }
    }

    /**
     * Publishes version 0 of a federation's model on its models topic: every chunk and the manifest in one
     * transaction, as {@code fedstream init-model} does, one chunk encoded at a time.
     */
    public static ModelManifest publishInitial(String bootstrapServers, Topics topics, ModelSpec spec, float[] weights,
                                               int chunkFloats) {
        return InitialModelPublisher.publish(bootstrapServers, topics, spec, weights, chunkFloats);
    }
}

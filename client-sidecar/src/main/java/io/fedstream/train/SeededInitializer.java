package io.fedstream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;
import java.util.Random;

/**
 * Glorot/Xavier-uniform weights and zero biases drawn from a seeded {@link Random}.
 *
 * <p>Why not the engine's random generator: {@code Engine.setRandomSeed} is process-global, so two models built
 * at the same time in different threads would interleave draws. A private generator makes "same seed, same
 * parameters" hold regardless of threads; DJL initialises a block's parameters in a fixed order, so one generator
 * per model suffices.
 */
final class SeededInitializer implements Initializer {
    private final Random rng;

    SeededInitializer(long seed) {
        rng = new Random(seed);
    }

    @Override
    public synchronized NDArray initialize(NDManager manager, Shape shape, DataType dataType) {
        int n = Math.toIntExact(shape.size());
        float[] values = new float[n];
        if (shape.dimension() >= 2) {
            // Dense (out, in) or convolution (out, in, kh, kw) weights.
            long receptive = shape.size() / (shape.get(0) * shape.get(1));
            double fanIn = (double) shape.get(1) * receptive;
            double fanOut = (double) shape.get(0) * receptive;
            double bound = Math.sqrt(6.0 / (fanIn + fanOut));
            for (int i = 0; i < n; i++) {
                values[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
            }
        }
        return manager.create(values, shape).toType(dataType, false);
    }
}

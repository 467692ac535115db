package io.fedstream.train;

/**
 * Local training settings of one round: plain mini-batch SGD on softmax cross-entropy.
 *
 * @param localEpochs passes over the local training set, at least 1
 * @param batchSize samples per step, at least 1 (the last batch of an epoch may be smaller)
 * @param learningRate SGD step size, positive
 * @param momentum SGD momentum in {@code [0, 1)}; 0 is plain SGD. Momentum buffers start at zero every run, as
 *     usual in FedAvg where the optimizer state does not travel with the model.
 * @param seed seed of the per-epoch shuffling, so a run is reproducible
 */
public record TrainingConfig(int localEpochs, int batchSize, float learningRate, float momentum, long seed) {
    // Demo defaults, picked with FedAvgSimulation on data/mnist-10k (MLP, 5 silos, Dirichlet 0.5, 10 rounds, all
    // clients): >= 90% sample-weighted test accuracy from round 2, ~94-95% after round 10, for several seeds.
    public static final int DEFAULT_LOCAL_EPOCHS = 2;
    public static final int DEFAULT_BATCH_SIZE = 16;
    public static final float DEFAULT_LEARNING_RATE = 0.1f;
    public static final float DEFAULT_MOMENTUM = 0f;
    public static final long DEFAULT_SEED = 0L;

    public TrainingConfig {
        if (localEpochs < 1) {
            throw new IllegalArgumentException("localEpochs must be at least 1, got " + localEpochs);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        if (!(learningRate > 0f) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be positive and finite, got " + learningRate);
        }
        if (!(momentum >= 0f && momentum < 1f)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
    }

    /** The demo defaults (see {@link #builder()}). */
    public static TrainingConfig defaults() {
        return builder().build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        return new Builder().localEpochs(localEpochs).batchSize(batchSize).learningRate(learningRate)
                .momentum(momentum).seed(seed);
    }

    /** The same settings with another seed (e.g. one per round and client). */
    public TrainingConfig withSeed(long newSeed) {
        return new TrainingConfig(localEpochs, batchSize, learningRate, momentum, newSeed);
    }

    /** Builds a validated {@link TrainingConfig}; unset fields keep the defaults. */
    public static final class Builder {
        private int localEpochs = DEFAULT_LOCAL_EPOCHS;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private float learningRate = DEFAULT_LEARNING_RATE;
        private float momentum = DEFAULT_MOMENTUM;
        private long seed = DEFAULT_SEED;

        private Builder() {}

        public Builder localEpochs(int v) {
            localEpochs = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder learningRate(float v) {
            learningRate = v;
            return this;
        }

        public Builder momentum(float v) {
            momentum = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public TrainingConfig build() {
            return new TrainingConfig(localEpochs, batchSize, learningRate, momentum, seed);
        }
    }
}

package io.fedstream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.data.Dataset;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.model.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LocalModelTest {

    /** Separable toy data: class c has a bump at feature c, plus noise. */
    static Dataset blobs(int n, long[] shape, int classes, long seed) {
        Random rng = new Random(seed);
        int fs = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float[] f = new float[n * fs];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(classes);
            for (int j = 0; j < fs; j++) {
                f[i * fs + j] = (float) (rng.nextDouble() * 0.3 + (j % classes == y[i] ? 0.7 : 0));
            }
        }
        return new Dataset(f, y, shape, classes);
    }

    private static boolean bitEqual(float[] a, float[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return false;
            }
        }
        return true;
    }

    @Test
    void sameSeedSameParametersOtherSeedOther() {
        for (ModelKind kind : ModelKind.values()) {
            try (LocalModel a = LocalModel.create(kind, new long[] {8, 8}, 10, 42);
                    LocalModel b = LocalModel.create(kind, new long[] {8, 8}, 10, 42);
                    LocalModel c = LocalModel.create(kind, new long[] {8, 8}, 10, 43)) {
                assertTrue(bitEqual(a.getParameters(), b.getParameters()), kind.id());
                assertFalse(bitEqual(a.getParameters(), c.getParameters()), kind.id());
                assertEquals(a.spec(), b.spec());
                assertEquals(a.spec().fingerprint(), c.spec().fingerprint());
            }
        }
    }

    @Test
    void specFollowsBlockParameterOrder() {
        try (LocalModel m = LocalModel.create(ModelKind.MLP, new long[] {28, 28}, 10, 1)) {
            List<TensorSpec> t = m.spec().tensors();
            assertEquals(6, t.size());
            assertArrayEquals(new long[] {LocalModel.MLP_HIDDEN, 784}, t.get(0).shape());
            assertArrayEquals(new long[] {LocalModel.MLP_HIDDEN}, t.get(1).shape());
            assertArrayEquals(new long[] {10, LocalModel.MLP_HIDDEN}, t.get(4).shape());
            assertArrayEquals(new long[] {10}, t.get(5).shape());
            assertTrue(t.get(0).name().endsWith("weight") && t.get(1).name().endsWith("bias"), t.toString());
            assertEquals(m.spec().totalFloats(), m.parameterCount());
            assertEquals(m.parameterCount(), m.getParameters().length);
        }
        try (LocalModel m = LocalModel.create(ModelKind.LOGREG, new long[] {64}, 3, 1)) {
            ModelSpec s = m.spec();
            assertEquals(2, s.tensors().size());
            assertEquals(64 * 3 + 3, s.totalFloats());
        }
    }

    @Test
    void setParametersRoundTripsBitExactly() {
        try (LocalModel m = LocalModel.create(ModelKind.CNN, new long[] {28, 28}, 10, 5)) {
            Random rng = new Random(2);
            float[] v = new float[m.parameterCount()];
            for (int i = 0; i < v.length; i++) {
                v[i] = Float.intBitsToFloat(rng.nextInt());
            }
            v[0] = -0f;
            v[1] = Float.NaN;
            v[2] = Float.MIN_VALUE;
            v[3] = Float.NEGATIVE_INFINITY;
            m.setParameters(v);
            float[] back = m.getParameters();
            assertTrue(bitEqual(v, back));
            assertThrows(IllegalArgumentException.class, () -> m.setParameters(new float[3]));
        }
    }

    @Test
    void oneFullBatchSgdStepMatchesTheHandComputedGradient() {
        // Logistic regression, 4 features, 3 classes, one batch of 5: two epochs = two SGD steps. Checking the
        // second step also proves gradients are zeroed between steps (PyTorch would accumulate them).
        Dataset d = blobs(5, new long[] {4}, 3, 9);
        float lr = 0.5f;
        try (LocalModel m = LocalModel.create(ModelKind.LOGREG, new long[] {4}, 3, 3)) {
            float[] p = m.getParameters();
            double[] w = new double[12];
            double[] b = new double[3];
            assertTrue(m.spec().tensors().get(0).name().endsWith("weight"));
            for (int i = 0; i < 12; i++) {
                w[i] = p[i];
            }
            for (int k = 0; k < 3; k++) {
                b[k] = p[12 + k];
            }
            for (int step = 0; step < 2; step++) {
                double[] gw = new double[12];
                double[] gb = new double[3];
                for (int s = 0; s < 5; s++) {
                    double[] z = new double[3];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < 3; k++) {
                        z[k] = b[k];
                        for (int j = 0; j < 4; j++) {
                            z[k] += w[k * 4 + j] * d.feature(s, j);
                        }
                        max = Math.max(max, z[k]);
                    }
                    double sum = 0;
                    for (int k = 0; k < 3; k++) {
                        z[k] = Math.exp(z[k] - max);
                        sum += z[k];
                    }
                    for (int k = 0; k < 3; k++) {
                        double g = (z[k] / sum - (d.label(s) == k ? 1 : 0)) / 5;
                        gb[k] += g;
                        for (int j = 0; j < 4; j++) {
                            gw[k * 4 + j] += g * d.feature(s, j);
                        }
                    }
                }
                for (int i = 0; i < 12; i++) {
                    w[i] -= lr * gw[i];
                }
                for (int k = 0; k < 3; k++) {
                    b[k] -= lr * gb[k];
                }
            }
            TrainMetrics tm = m.train(d, TrainingConfig.builder().localEpochs(2).batchSize(5).learningRate(lr).build());
            assertEquals(2, tm.steps());
            assertEquals(5, tm.samples());
            float[] after = m.getParameters();
            for (int i = 0; i < 12; i++) {
                assertEquals(w[i], after[i], 1e-5, "weight " + i);
            }
            for (int k = 0; k < 3; k++) {
                assertEquals(b[k], after[12 + k], 1e-5, "bias " + k);
            }
        }
    }

    @Test
    void trainingLearnsAndIsReproducible() {
        Dataset train = blobs(600, new long[] {8, 8}, 4, 1);
        Dataset test = blobs(200, new long[] {8, 8}, 4, 2);
        TrainingConfig cfg = TrainingConfig.builder().localEpochs(3).batchSize(20).learningRate(0.1f).seed(5).build();
        for (ModelKind kind : ModelKind.values()) {
            try (LocalModel a = LocalModel.create(kind, new long[] {8, 8}, 4, 7);
                    LocalModel b = LocalModel.create(kind, new long[] {8, 8}, 4, 7)) {
                EvalMetrics before = a.evaluate(test);
                TrainMetrics tm = a.train(train, cfg);
                EvalMetrics after = a.evaluate(test);
                assertEquals(200, after.samples());
                assertEquals(600, tm.samples());
                assertEquals(90, tm.steps());
                assertTrue(after.accuracy() > 0.9, kind + " accuracy " + after);
                assertTrue(after.loss() < before.loss(), kind + " loss " + before + " -> " + after);
                b.train(train, cfg);
                assertTrue(bitEqual(a.getParameters(), b.getParameters()), kind + " training is deterministic");
            }
        }
    }

    @Test
    void momentumAndPartialBatches() {
        Dataset train = blobs(103, new long[] {16}, 3, 4);
        try (LocalModel m = LocalModel.create(ModelKind.MLP, new long[] {16}, 3, 1)) {
            TrainMetrics tm = m.train(train,
                    TrainingConfig.builder().localEpochs(4).batchSize(10).learningRate(0.02f).momentum(0.9f).build());
            assertEquals(44, tm.steps());
            assertTrue(m.evaluate(train).accuracy() > 0.9);
        }
    }

    @Test
    void cnnAcceptsSmallAndLargeAndFlatSquareImages() {
        for (long[] shape : new long[][] {{8, 8}, {28, 28}, {64}, {1, 12, 10}}) {
            Dataset d = blobs(40, shape, 3, 1);
            try (LocalModel m = LocalModel.create(ModelKind.CNN, shape, 3, 1)) {
                TrainMetrics tm = m.train(d, TrainingConfig.builder().batchSize(16).build());
                assertEquals(40, tm.samples());
                assertEquals(40, m.evaluate(d).samples());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> LocalModel.create(ModelKind.CNN, new long[] {10}, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> LocalModel.create(ModelKind.CNN, new long[] {2, 2}, 3, 1));
    }

    @Test
    void rejectsMismatchedDataAndUseAfterClose() {
        LocalModel m = LocalModel.create(ModelKind.LOGREG, new long[] {4}, 3, 1);
        assertThrows(IllegalArgumentException.class, () -> m.evaluate(blobs(5, new long[] {5}, 3, 1)));
        assertThrows(IllegalArgumentException.class, () -> m.train(blobs(5, new long[] {4}, 4, 1), TrainingConfig.defaults()));
        Dataset empty = blobs(0, new long[] {4}, 3, 1);
        assertEquals(0, m.train(empty, TrainingConfig.defaults()).samples());
        assertEquals(0, m.evaluate(empty).samples());
        m.close();
        m.close();
        assertThrows(IllegalStateException.class, m::getParameters);
    }

    @Test
    void modelsTrainConcurrentlyInSeparateThreads() throws Exception {
        // Each thread's result must equal the same work done alone: concurrent models must not interfere.
        int threads = 3;
        Dataset[] data = new Dataset[threads];
        TrainingConfig cfg = TrainingConfig.builder().localEpochs(3).batchSize(8).learningRate(0.05f).build();
        float[][] alone = new float[threads][];
        for (int t = 0; t < threads; t++) {
            data[t] = blobs(400, new long[] {28, 28}, 10, 100 + t);
            try (LocalModel m = LocalModel.create(ModelKind.MLP, new long[] {28, 28}, 10, t)) {
                m.train(data[t], cfg.withSeed(t));
                alone[t] = m.getParameters();
            }
        }
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    try (LocalModel m = LocalModel.create(ModelKind.MLP, new long[] {28, 28}, 10, id)) {
                        start.await();
                        TrainMetrics tm = m.train(data[id], cfg.withSeed(id));
                        assertEquals(150, tm.steps());
                        m.evaluate(data[id]);
                        return m.getParameters();
                    }
                }));
            }
            for (int t = 0; t < threads; t++) {
                assertTrue(bitEqual(alone[t], results.get(t).get(120, TimeUnit.SECONDS)), "thread " + t);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

package io.fedstream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ConfigAndKindTest {
    @Test
    void parsesModelKinds() {
        assertEquals(ModelKind.LOGREG, ModelKind.parse("logreg"));
        assertEquals(ModelKind.MLP, ModelKind.parse(" MLP "));
        assertEquals(ModelKind.CNN, ModelKind.parse("cnn"));
        assertEquals("mlp", ModelKind.MLP.id());
        assertThrows(IllegalArgumentException.class, () -> ModelKind.parse("resnet"));
        assertThrows(IllegalArgumentException.class, () -> ModelKind.parse(null));
    }

    @Test
    void trainingConfigDefaultsAndValidation() {
        TrainingConfig d = TrainingConfig.defaults();
        assertEquals(TrainingConfig.DEFAULT_LOCAL_EPOCHS, d.localEpochs());
        assertEquals(TrainingConfig.DEFAULT_BATCH_SIZE, d.batchSize());
        assertEquals(TrainingConfig.DEFAULT_LEARNING_RATE, d.learningRate());
        assertEquals(0f, d.momentum());
        TrainingConfig c = d.toBuilder().batchSize(64).seed(9).build();
        assertEquals(64, c.batchSize());
        assertEquals(9, c.seed());
        assertEquals(5, c.withSeed(5).seed());
        assertThrows(IllegalArgumentException.class, () -> TrainingConfig.builder().localEpochs(0).build());
        assertThrows(IllegalArgumentException.class, () -> TrainingConfig.builder().batchSize(0).build());
        assertThrows(IllegalArgumentException.class, () -> TrainingConfig.builder().learningRate(0).build());
        assertThrows(IllegalArgumentException.class, () -> TrainingConfig.builder().learningRate(Float.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> TrainingConfig.builder().momentum(1f).build());
    }

    @Test
    void weightedAverage() {
        float[] avg = FedAvgSimulation.weightedAverage(
                java.util.List.of(new float[] {1, 10}, new float[] {4, 20}, new float[] {100, 100}),
                new long[] {1, 2, 0});
        assertEquals(3f, avg[0]);
        assertEquals(50f / 3, avg[1], 1e-6);
        assertThrows(IllegalArgumentException.class,
                () -> FedAvgSimulation.weightedAverage(java.util.List.of(new float[1]), new long[] {0}));
    }
}

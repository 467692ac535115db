package io.fedstream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** FedAvg in memory on the real digits set: 5 non-IID silos (Dirichlet 0.5, seed 42), MLP. */
class FedAvgSimulationTest {
    static final int ROUNDS = 8;

    @Test
    void fedAvgOnDigitsLearnsFarAboveChance() throws IOException {
        List<SiloData> silos = new DirichletPartitioner(5, 0.5, 0.2, 42)
                .partition(DatasetLoader.builtin("digits", DatasetLoader.defaultDataRoot()));
        TrainingConfig cfg = TrainingConfig.builder().localEpochs(5).batchSize(16).learningRate(0.1f).seed(42).build();
        double[] acc = new double[ROUNDS + 1];
        float[] finalModel;
        try (FedAvgSimulation sim = new FedAvgSimulation(silos, ModelKind.MLP, 42, 2)) {
            acc[0] = sim.evaluate().accuracy();
            for (int r = 1; r <= ROUNDS; r++) {
                FedAvgSimulation.Round round = sim.round(r, cfg);
                assertEquals(silos.stream().mapToInt(s -> s.train().size()).sum(), round.trainSamples());
                EvalMetrics e = sim.evaluate();
                assertEquals(silos.stream().mapToInt(s -> s.test().size()).sum(), e.samples());
                acc[r] = e.accuracy();
                System.out.printf("digits FedAvg round %d: train loss %.4f, test accuracy %.4f (%d ms)%n", r,
                        round.trainLoss(), acc[r], round.durationMs());
            }
            finalModel = sim.globalParameters();
        }
        assertTrue(acc[0] < 0.3, "the initial model is near chance: " + acc[0]);
        assertTrue(acc[ROUNDS] >= 0.88, "final sample-weighted test accuracy " + acc[ROUNDS]);
        assertTrue(acc[ROUNDS] > acc[0] + 0.5);

        // The whole federation is reproducible: same seeds, same final parameters, bit for bit.
        try (FedAvgSimulation again = new FedAvgSimulation(silos, ModelKind.MLP, 42, 3)) {
            for (int r = 1; r <= ROUNDS; r++) {
                again.round(r, cfg);
            }
            assertArrayEquals(finalModel, again.globalParameters());
        }
    }
}

package io.fedstream.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Guards the demo defaults: the MLP with {@link TrainingConfig#defaults()} on data/mnist-10k, 5 silos (Dirichlet
 * 0.5, seed 42, 20% test), FedAvg over all clients. Sample-weighted test accuracy measured when the defaults were
 * chosen, rounds 0..10: 0.112, 0.836, 0.912, 0.927, 0.934, 0.942, 0.943, 0.943, 0.948, 0.949, 0.949. To stay fast
 * the test runs {@value #ROUNDS} rounds by default ({@code -Dfedstream.mnist.rounds=10} for the full curve) and
 * requires 92%, which the 10-round demo then clears with margin.
 */
class MnistFedAvgDefaultsTest {
    static final int ROUNDS = 5;

    @Test
    void defaultsReachNinetyTwoPercentWithinFiveRounds() throws IOException {
        int rounds = Integer.getInteger("fedstream.mnist.rounds", ROUNDS);
        List<SiloData> silos = new DirichletPartitioner(5, 0.5, 0.2, 42)
                .partition(DatasetLoader.builtin("mnist-10k", DatasetLoader.defaultDataRoot()));
        TrainingConfig cfg = TrainingConfig.defaults().withSeed(42);
        double last = 0;
        try (FedAvgSimulation sim = new FedAvgSimulation(silos, ModelKind.MLP, 42, 2)) {
            for (int r = 1; r <= rounds; r++) {
                FedAvgSimulation.Round round = sim.round(r, cfg);
                EvalMetrics e = sim.evaluate();
                last = e.accuracy();
                System.out.printf("mnist-10k FedAvg round %d: train loss %.4f, test accuracy %.4f (%d ms)%n", r,
                        round.trainLoss(), e.accuracy(), round.durationMs());
                if (r == 2) {
                    assertTrue(e.accuracy() >= 0.88, "close to 90% after two rounds: " + e.accuracy());
                }
            }
        }
        assertTrue(last >= 0.92, "sample-weighted test accuracy after " + rounds + " rounds: " + last);
    }
}

package io.fedstream.train;

import io.fedstream.data.SiloData;
import io.fedstream.protocol.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Federated averaging in one process, without Kafka or Flink: a reference for what a federation of sidecars and
 * the aggregation job should compute, and the way to pick model defaults quickly. Every silo gets its own
 * {@link LocalModel}; clients train in parallel on a small thread pool.
 *
 * <p>A round: every client loads the global parameters, trains locally, and the new global model is the
 * sample-weighted mean of the clients' parameter vectors (summed in double precision in client order). Client
 * {@code c} trains round {@code r} with seed {@link #clientSeed(long, int, int)}.
 */
public final class FedAvgSimulation implements AutoCloseable {
    private final List<SiloData> silos;
    private final List<LocalModel> clients = new ArrayList<>();
    private final ExecutorService pool;
    private float[] global;

    /** Sample-weighted metrics of one round. */
    public record Round(int round, double trainLoss, double trainAccuracy, long trainSamples, long durationMs) {}

    /**
     * @param silos the clients' data, all with the same feature shape and class count
     * @param kind model architecture
     * @param modelSeed seed of the initial global model
     * @param parallelism clients trained at the same time
     */
    public FedAvgSimulation(List<SiloData> silos, ModelKind kind, long modelSeed, int parallelism) {
        if (silos.isEmpty()) {
            throw new IllegalArgumentException("no silos");
        }
        this.silos = List.copyOf(silos);
        this.pool = Executors.newFixedThreadPool(Math.max(1, Math.min(parallelism, silos.size())), r -> {
            Thread t = new Thread(r, "fedavg-client");
            t.setDaemon(true);
            return t;
        });
        try {
            for (SiloData s : silos) {
                clients.add(LocalModel.create(kind, s.featureShape(), s.numClasses(), modelSeed));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        global = clients.get(0).getParameters();
    }

    public int clientCount() {
        return clients.size();
    }

    /** A copy of the current global parameters. */
    public float[] globalParameters() {
        return global.clone();
    }

    /** Replaces the global parameters (e.g. to resume from a published model). */
    public void setGlobalParameters(float[] parameters) {
        if (parameters.length != global.length) {
            throw new IllegalArgumentException("expected " + global.length + " parameters, got " + parameters.length);
        }
        global = parameters.clone();
    }

    /** The spec shared by every client model. */
    public ModelSpec spec() {
        return clients.get(0).spec();
    }

    /** Runs one FedAvg round with every client and makes the average the new global model. */
    public Round round(int round, TrainingConfig cfg) {
        long start = System.nanoTime();
        float[] base = global;
        List<TrainMetrics> metrics = forEachClient(c -> {
            LocalModel m = clients.get(c);
            m.setParameters(base);
            return m.train(silos.get(c).train(), cfg.withSeed(clientSeed(cfg.seed(), round, c)));
        });
        List<float[]> updates = new ArrayList<>();
        long[] weights = new long[clients.size()];
        double loss = 0;
        double acc = 0;
        long samples = 0;
        for (int c = 0; c < clients.size(); c++) {
            TrainMetrics m = metrics.get(c);
            updates.add(clients.get(c).getParameters());
            weights[c] = m.samples();
            if (m.samples() > 0) {
                loss += m.loss() * m.samples();
                acc += m.accuracy() * m.samples();
                samples += m.samples();
            }
        }
        global = weightedAverage(updates, weights);
        long ms = (System.nanoTime() - start) / 1_000_000;
        return new Round(round, loss / samples, acc / samples, samples, ms);
    }

    /** The global model on every client's test split, combined weighted by test-split size. */
    public EvalMetrics evaluate() {
        float[] model = global;
        List<EvalMetrics> all = forEachClient(c -> {
            LocalModel m = clients.get(c);
            m.setParameters(model);
            return m.evaluate(silos.get(c).test());
        });
        return combine(all);
    }

    /** Sample-weighted mean of evaluation metrics (sets without samples are ignored). */
    public static EvalMetrics combine(List<EvalMetrics> parts) {
        double loss = 0;
        double acc = 0;
        int n = 0;
        for (EvalMetrics e : parts) {
            if (e.samples() > 0) {
                loss += e.loss() * e.samples();
                acc += e.accuracy() * e.samples();
                n += e.samples();
            }
        }
        return n == 0 ? new EvalMetrics(Double.NaN, Double.NaN, 0) : new EvalMetrics(loss / n, acc / n, n);
    }

    /**
     * Coordinate-wise mean of equally long vectors weighted by {@code weights} (e.g. sample counts), accumulated
     * in double precision in list order so the result does not depend on threads.
     */
    public static float[] weightedAverage(List<float[]> vectors, long[] weights) {
        if (vectors.isEmpty() || vectors.size() != weights.length) {
            throw new IllegalArgumentException("need one weight per vector and at least one vector");
        }
        int len = vectors.get(0).length;
        double total = 0;
        for (long w : weights) {
            if (w < 0) {
                throw new IllegalArgumentException("negative weight " + w);
            }
            total += w;
        }
        if (total == 0) {
            throw new IllegalArgumentException("all weights are zero");
        }
        double[] acc = new double[len];
        for (int v = 0; v < vectors.size(); v++) {
            float[] x = vectors.get(v);
            if (x.length != len) {
                throw new IllegalArgumentException("vector " + v + " has " + x.length + " values, expected " + len);
            }
            double w = weights[v];
            if (w == 0) {
                continue;
            }
            for (int i = 0; i < len; i++) {
                acc[i] += w * x[i];
            }
        }
        float[] out = new float[len];
        for (int i = 0; i < len; i++) {
            out[i] = (float) (acc[i] / total);
        }
        return out;
    }

    /** Seed of client {@code client}'s local training in round {@code round} (SplitMix64 of the three). */
    public static long clientSeed(long seed, int round, int client) {
        long z = seed + 0x9E3779B97F4A7C15L * (1 + round) + 0xBF58476D1CE4E5B9L * (1 + client);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private <T> List<T> forEachClient(Function<Integer, T> work) {
        List<Future<T>> futures = new ArrayList<>();
        for (int c = 0; c < clients.size(); c++) {
            int client = c;
            futures.add(pool.submit(() -> work.apply(client)));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) {
            try {
                out.add(f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("client failed: " + e.getCause(), e.getCause());
            }
        }
        return out;
    }

    @Override
    public void close() {
        pool.shutdownNow();
        for (LocalModel m : clients) {
            m.close();
        }
    }
}

package io.fedstream.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import io.fedstream.data.Dataset;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.model.TensorSpec;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A classifier that a sidecar trains on its silo: a DJL block on the PyTorch engine (CPU), with its parameters
 * exposed as one flat float vector in the canonical order of {@link #spec()}.
 *
 * <p>Architectures ({@code C} = number of classes, input = one sample of the feature shape):
 *
 * <ul>
 *   <li>{@link ModelKind#LOGREG}: flatten, linear(C).
 *   <li>{@link ModelKind#MLP}: flatten, linear({@value #MLP_HIDDEN}), ReLU, linear({@value #MLP_HIDDEN}), ReLU,
 *       linear(C).
 *   <li>{@link ModelKind#CNN}: view as {@code 1 x H x W}; conv 3x3 (16, padding 1), ReLU, max-pool 2; conv 3x3
 *       (32, padding 1), ReLU, max-pool 2; flatten, linear(64), ReLU, linear(C). Works for 8x8 (digits) and
 *       28x28 (MNIST) inputs; a feature shape {@code {H, W}}, {@code {1, H, W}} or a flat square {@code {H*W}}
 *       is accepted.
 * </ul>
 *
 * <p>Determinism: two models created with the same kind, shape, classes and seed have bit-identical parameters;
 * training with the same {@link TrainingConfig} (seeded shuffling, one intra-op thread, see {@link DjlRuntime})
 * gives the same result.
 *
 * <p>Threads: every instance has its own DJL {@link Model} and native memory, and autograd is switched per thread
 * ({@link TorchGrad}), so several instances may train concurrently in different threads. One instance is not
 * meant to be shared; its public methods are synchronized so that misuse serialises instead of corrupting.
 */
public final class LocalModel implements AutoCloseable {
    /** Hidden width of both MLP layers. */
    public static final int MLP_HIDDEN = 200;
    private static final int EVAL_BATCH = 512;

    private final ModelKind kind;
    private final long[] featureShape;
    private final int featureSize;
    private final int numClasses;
    private final Model model;
    private final Block block;
    private final List<Parameter> parameters;
    private final ModelSpec spec;
    private final int totalFloats;
    private final ParameterStore store;
    private final Loss loss = Loss.softmaxCrossEntropyLoss();
    private boolean closed;

    private LocalModel(ModelKind kind, long[] featureShape, int numClasses, Model model) {
        this.kind = kind;
        this.featureShape = featureShape.clone();
        this.numClasses = numClasses;
        this.model = model;
        this.block = model.getBlock();
        long fs = 1;
        for (long d : featureShape) {
            fs *= d;
        }
        this.featureSize = Math.toIntExact(fs);
        List<Parameter> params = new ArrayList<>();
        List<TensorSpec> tensors = new ArrayList<>();
        long total = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            params.add(p.getValue());
            long[] shape = p.getValue().getArray().getShape().getShape();
            tensors.add(new TensorSpec(p.getKey(), shape));
            total += p.getValue().getArray().size();
        }
        this.parameters = List.copyOf(params);
        this.spec = new ModelSpec(tensors);
        this.totalFloats = Math.toIntExact(total);
        // copy=false: the store hands out the parameters' own arrays, so updates and setParameters act on them.
        this.store = new ParameterStore(model.getNDManager(), false);
    }

    /**
     * Builds and initialises a model.
     *
     * @param kind architecture
     * @param featureShape shape of one sample, e.g. {@code {28, 28}}
     * @param numClasses number of output classes, at least 2
     * @param seed seed of the initial parameters
     */
    public static LocalModel create(ModelKind kind, long[] featureShape, int numClasses, long seed) {
        if (numClasses < 2) {
            throw new IllegalArgumentException("numClasses must be at least 2, got " + numClasses);
        }
        if (featureShape.length == 0 || Arrays.stream(featureShape).anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("bad feature shape " + Arrays.toString(featureShape));
        }
        DjlRuntime.init();
        Block block = buildBlock(kind, featureShape, numClasses);
        Model model = Model.newInstance("fedstream-" + kind.id(), Device.cpu(), DjlRuntime.ENGINE);
        try {
            model.setBlock(block);
            block.setInitializer(new SeededInitializer(seed), p -> true);
            long[] input = new long[featureShape.length + 1];
            input[0] = 1;
            System.arraycopy(featureShape, 0, input, 1, featureShape.length);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(input));
            return new LocalModel(kind, featureShape, numClasses, model);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    static Block buildBlock(ModelKind kind, long[] featureShape, int numClasses) {
        SequentialBlock net = new SequentialBlock();
        switch (kind) {
            case LOGREG -> net.add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(numClasses).build());
            case MLP -> net.add(Blocks.batchFlattenBlock())
                    .add(Linear.builder().setUnits(MLP_HIDDEN).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(MLP_HIDDEN).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(numClasses).build());
            case CNN -> {
                long[] chw = imageShape(featureShape);
                Shape view = new Shape(-1, chw[0], chw[1], chw[2]);
                net.add(LambdaBlock.singleton(x -> x.reshape(view), "image"))
                        .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                                .setFilters(16).build())
                        .add(Activation.reluBlock())
                        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                        .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                                .setFilters(32).build())
                        .add(Activation.reluBlock())
                        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                        .add(Blocks.batchFlattenBlock())
                        .add(Linear.builder().setUnits(64).build())
                        .add(Activation.reluBlock())
                        .add(Linear.builder().setUnits(numClasses).build());
            }
            default -> throw new IllegalArgumentException("unsupported model kind " + kind);
        }
        return net;
    }

    /** Channels, height, width for the CNN; it needs at least 4x4 so that two 2x2 poolings leave a pixel. */
    static long[] imageShape(long[] featureShape) {
        long[] chw;
        if (featureShape.length == 3) {
            chw = featureShape.clone();
        } else if (featureShape.length == 2) {
            chw = new long[] {1, featureShape[0], featureShape[1]};
        } else if (featureShape.length == 1 && isSquare(featureShape[0])) {
            long side = Math.round(Math.sqrt(featureShape[0]));
            chw = new long[] {1, side, side};
        } else {
            throw new IllegalArgumentException("the CNN needs image-shaped features ({H,W}, {C,H,W} or a square "
                    + "flat size), got " + Arrays.toString(featureShape));
        }
        if (chw[1] < 4 || chw[2] < 4) {
            throw new IllegalArgumentException("the CNN needs images of at least 4x4, got "
                    + Arrays.toString(featureShape));
        }
        return chw;
    }

    private static boolean isSquare(long n) {
        long r = Math.round(Math.sqrt(n));
        return r * r == n;
    }

    public ModelKind kind() {
        return kind;
    }

    public long[] featureShape() {
        return featureShape.clone();
    }

    public int numClasses() {
        return numClasses;
    }

    /** Names and shapes of the parameter tensors in {@code block.getParameters()} order. */
    public ModelSpec spec() {
        return spec;
    }

    /** Length of {@link #getParameters()}. */
    public int parameterCount() {
        return totalFloats;
    }

    /** All parameters flattened tensor after tensor in {@link #spec()} order (row-major within a tensor). */
    public synchronized float[] getParameters() {
        ensureOpen();
        float[] out = new float[totalFloats];
        int off = 0;
        for (Parameter p : parameters) {
            float[] values = p.getArray().toFloatArray();
            System.arraycopy(values, 0, out, off, values.length);
            off += values.length;
        }
        return out;
    }

    /** Replaces all parameters with {@code values} (same layout as {@link #getParameters()}), bit-exactly. */
    public synchronized void setParameters(float[] values) {
        ensureOpen();
        if (values.length != totalFloats) {
            throw new IllegalArgumentException("expected " + totalFloats + " parameters for " + spec.fingerprint()
                    + ", got " + values.length);
        }
        int off = 0;
        try (TorchGrad ignored = TorchGrad.disabled()) {
            for (Parameter p : parameters) {
                NDArray array = p.getArray();
                int n = Math.toIntExact(array.size());
                array.set(FloatBuffer.wrap(values, off, n));
                off += n;
            }
        }
    }

    /**
     * Trains on {@code data} with mini-batch SGD on softmax cross-entropy, shuffling every epoch with
     * {@code cfg.seed()}. An empty dataset leaves the model unchanged and reports 0 samples.
     */
    public synchronized TrainMetrics train(Dataset data, TrainingConfig cfg) {
        ensureOpen();
        checkCompatible(data);
        long start = System.nanoTime();
        int n = data.size();
        if (n == 0) {
            return new TrainMetrics(Double.NaN, Double.NaN, 0, 0, 0);
        }
        Random rng = new Random(cfg.seed());
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        double lossSum = 0;
        long correct = 0;
        long visits = 0;
        int steps = 0;
        float[] full = new float[cfg.batchSize() * featureSize];
        try (NDManager runManager = model.getNDManager().newSubManager()) {
            List<NDArray> velocity = cfg.momentum() > 0f ? zerosLikeParameters(runManager) : null;
            for (int epoch = 0; epoch < cfg.localEpochs(); epoch++) {
                shuffle(order, rng);
                for (int from = 0; from < n; from += cfg.batchSize()) {
                    int b = Math.min(cfg.batchSize(), n - from);
                    float[] x = b == cfg.batchSize() ? full : new float[b * featureSize];
                    data.gatherFeatures(order, from, b, x);
                    long[] y = new long[b];
                    for (int i = 0; i < b; i++) {
                        y[i] = data.label(order[from + i]);
                    }
                    try (NDManager batch = runManager.newSubManager()) {
                        NDArray xs = batch.create(x, batchShape(b));
                        NDArray ys = batch.create(y);
                        try (TorchGrad ignored = TorchGrad.enabled()) {
                            NDArray logits = block.forward(store, new NDList(xs), true).singletonOrThrow();
                            NDArray l = loss.evaluate(new NDList(ys), new NDList(logits));
                            TorchGrad.backward(l);
                            lossSum += l.getFloat() * (double) b;
                            correct += logits.argMax(1).eq(ys).sum().getLong();
                        }
                        sgdStep(cfg, velocity);
                    }
                    visits += b;
                    steps++;
                }
            }
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        return new TrainMetrics(lossSum / visits, (double) correct / visits, n, steps, ms);
    }

    /** Loss and accuracy on {@code data}, without changing the model. */
    public synchronized EvalMetrics evaluate(Dataset data) {
        ensureOpen();
        checkCompatible(data);
        int n = data.size();
        if (n == 0) {
            return new EvalMetrics(Double.NaN, Double.NaN, 0);
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        double lossSum = 0;
        long correct = 0;
        try (NDManager evalManager = model.getNDManager().newSubManager();
                TorchGrad ignored = TorchGrad.disabled()) {
            for (int from = 0; from < n; from += EVAL_BATCH) {
                int b = Math.min(EVAL_BATCH, n - from);
                float[] x = new float[b * featureSize];
                data.gatherFeatures(order, from, b, x);
                long[] y = new long[b];
                for (int i = 0; i < b; i++) {
                    y[i] = data.label(from + i);
                }
                try (NDManager batch = evalManager.newSubManager()) {
                    NDArray ys = batch.create(y);
                    NDArray logits = block.forward(store, new NDList(batch.create(x, batchShape(b))), false)
                            .singletonOrThrow();
                    lossSum += loss.evaluate(new NDList(ys), new NDList(logits)).getFloat() * (double) b;
                    correct += logits.argMax(1).eq(ys).sum().getLong();
                }
            }
        }
        return new EvalMetrics(lossSum / n, (double) correct / n, n);
    }

    private void sgdStep(TrainingConfig cfg, List<NDArray> velocity) {
        // DJL's fused SGD update, which also zeroes the gradient afterwards (PyTorch accumulates otherwise).
        for (int i = 0; i < parameters.size(); i++) {
            NDArray w = parameters.get(i).getArray();
            try (NDArray g = w.getGradient()) {
                NDList inputs = velocity == null ? new NDList(w, g) : new NDList(w, g, velocity.get(i));
                w.getNDArrayInternal().sgdUpdate(inputs, new NDList(w), cfg.learningRate(), 0f, 1f, -1f,
                        cfg.momentum(), true);
            }
        }
    }

    private List<NDArray> zerosLikeParameters(NDManager manager) {
        List<NDArray> out = new ArrayList<>();
        for (Parameter p : parameters) {
            out.add(manager.zeros(p.getArray().getShape()));
        }
        return out;
    }

    private Shape batchShape(int b) {
        long[] s = new long[featureShape.length + 1];
        s[0] = b;
        System.arraycopy(featureShape, 0, s, 1, featureShape.length);
        return new Shape(s);
    }

    private void checkCompatible(Dataset data) {
        if (data.featureSize() != featureSize || data.numClasses() != numClasses) {
            throw new IllegalArgumentException("dataset " + data + " does not fit a model for "
                    + Arrays.toString(featureShape) + " with " + numClasses + " classes");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    private static void shuffle(int[] a, Random rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** Frees the native memory of the model. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            model.close();
        }
    }

    @Override
    public String toString() {
        return "LocalModel[" + kind.id() + ", " + Arrays.toString(featureShape) + " -> " + numClasses + ", "
                + totalFloats + " parameters]";
    }
}

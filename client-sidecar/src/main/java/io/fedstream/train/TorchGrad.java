package io.fedstream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Switches PyTorch autograd on or off for the current thread only, and runs backward passes.
 *
 * <p>Why not DJL's {@code GradientCollector}: in DJL 0.36.0 the PyTorch collector guards itself with a static
 * (JVM-wide) flag and throws "A PtGradientCollector is already collecting" when a second thread opens one, so two
 * models could not train at the same time in one JVM. PyTorch's grad mode is thread-local and its autograd engine
 * runs independent graphs concurrently, so going to the engine's own JNI calls is safe and lets every
 * {@link LocalModel} train in its own thread. Gradients are zeroed by DJL's SGD update (see
 * {@code PtNDArrayEx.sgdUpdate}), which {@link LocalModel} uses for its steps.
 */
final class TorchGrad implements AutoCloseable {
    private final boolean previous;

    private TorchGrad(boolean enabled) {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
    }

    /** Records operations for a backward pass on this thread until closed. */
    static TorchGrad enabled() {
        return new TorchGrad(true);
    }

    /** Builds no autograd graph on this thread until closed (evaluation). */
    static TorchGrad disabled() {
        return new TorchGrad(false);
    }

    /** Accumulates d(loss)/d(parameter) into each parameter's gradient; {@code loss} must be a scalar. */
    static void backward(NDArray loss) {
        try (NDArray seed = loss.onesLike()) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, false, false);
        }
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}

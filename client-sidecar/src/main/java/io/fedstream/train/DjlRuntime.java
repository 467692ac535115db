package io.fedstream.train;

import ai.djl.engine.Engine;

/**
 * Process-wide DJL settings, applied before the PyTorch engine loads (they are read once, at engine start).
 *
 * <ul>
 *   <li>{@code ai.djl.offline=true}: DJL must never try to download natives or models; the natives come from the
 *       {@code pytorch-native-cpu} jar on the classpath.
 *   <li>{@code ai.djl.pytorch.num_threads=1} and {@code ai.djl.pytorch.num_interop_threads=1}: several sidecars
 *       (or several {@link LocalModel}s in one JVM) share few cores; one intra-op thread each avoids
 *       oversubscription, and single-threaded CPU kernels make training reproducible.
 * </ul>
 *
 * Each property is only set when absent, so {@code -D} flags (and the {@code DJL_OFFLINE} environment variable,
 * which DJL itself prefers) still win. Call {@link #init()} before anything touches DJL; {@link LocalModel} does.
 */
public final class DjlRuntime {
    /** The DJL engine every model of the sidecar runs on. */
    public static final String ENGINE = "PyTorch";

    private static volatile boolean initialised;

    private DjlRuntime() {}

    /** Sets the defaults above if not yet set. Idempotent and thread-safe. */
    public static void init() {
        if (initialised) {
            return;
        }
        synchronized (DjlRuntime.class) {
            if (!initialised) {
                setIfAbsent("ai.djl.offline", "true");
                setIfAbsent("ai.djl.pytorch.num_threads", "1");
                setIfAbsent("ai.djl.pytorch.num_interop_threads", "1");
                initialised = true;
            }
        }
    }

    /** The PyTorch engine, loaded (natives extracted on first use) after {@link #init()}. */
    public static Engine engine() {
        init();
        return Engine.getEngine(ENGINE);
    }

    private static void setIfAbsent(String key, String value) {
        String current = System.getProperty(key);
        if (current == null || current.isBlank()) {
            System.setProperty(key, value);
        }
    }
}

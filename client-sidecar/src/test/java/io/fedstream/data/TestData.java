package io.fedstream.data;

import java.util.Random;

/** Small synthetic datasets for tests. */
final class TestData {
    private TestData() {}

    /** {@code perClass} samples of each of {@code classes} classes, in class order, features k/255 (IDX-exact). */
    static Dataset pixels(int classes, int perClass, long[] shape, long seed) {
        Random rng = new Random(seed);
        int fs = 1;
        for (long d : shape) {
            fs *= (int) d;
        }
        int n = classes * perClass;
        float[] f = new float[n * fs];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i / perClass;
            for (int j = 0; j < fs; j++) {
                f[i * fs + j] = rng.nextInt(256) / 255f;
            }
        }
        return new Dataset(f, y, shape, classes);
    }
}

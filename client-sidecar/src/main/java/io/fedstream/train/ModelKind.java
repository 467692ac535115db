package io.fedstream.train;

import java.util.Arrays;
import java.util.Locale;

/** The model architectures a sidecar can train; see {@link LocalModel#create} for their layers. */
public enum ModelKind {
    /** Multinomial logistic regression: flatten, one linear layer. */
    LOGREG,
    /** Multi-layer perceptron: flatten, linear(200), ReLU, linear(200), ReLU, linear(classes). */
    MLP,
    /** Small convolutional network for one-channel square-ish images (8x8 up to 28x28 and beyond). */
    CNN;

    /** Parses {@code logreg}, {@code mlp} or {@code cnn}, case-insensitively. */
    public static ModelKind parse(String s) {
        if (s != null) {
            String k = s.strip().toUpperCase(Locale.ROOT);
            for (ModelKind m : values()) {
                if (m.name().equals(k)) {
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("unknown model kind '" + s + "', expected one of "
                + Arrays.stream(values()).map(ModelKind::id).toList());
    }

    /** The lower-case name used in configuration. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}

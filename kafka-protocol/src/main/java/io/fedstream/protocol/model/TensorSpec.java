package io.fedstream.protocol.model;

import java.util.Arrays;
import java.util.Objects;

/** One named float32 tensor of a model: its name and shape. */
public final class TensorSpec {
    private final String name;
    private final long[] shape;

    public TensorSpec(String name, long[] shape) {
        this.name = Objects.requireNonNull(name, "name");
        this.shape = shape.clone();
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor " + name + " has a non-positive dimension: " + Arrays.toString(shape));
            }
        }
    }

    public String name() {
        return name;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Number of float32 values in this tensor. */
    public long size() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}

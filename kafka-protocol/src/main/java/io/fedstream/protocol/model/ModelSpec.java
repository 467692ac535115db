package io.fedstream.protocol.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The ordered list of named float32 tensors that make up a model. Flattening the tensors in this order gives
 * the canonical parameter vector that is chunked onto the wire. The fingerprint (SHA-256 of names and shapes)
 * must be equal on every update of a federation.
 */
public final class ModelSpec {
    private final List<TensorSpec> tensors;

    public ModelSpec(List<TensorSpec> tensors) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("a model has at least one tensor");
        }
        this.tensors = List.copyOf(tensors);
    }

    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** Total number of float32 parameters. */
    public long totalFloats() {
        long n = 0;
        for (TensorSpec t : tensors) {
            n = Math.addExact(n, t.size());
        }
        return n;
    }

    /** Hex SHA-256 over "name:d0xd1x...;" for every tensor in order. */
    public String fingerprint() {
        StringBuilder canonical = new StringBuilder();
        for (TensorSpec t : tensors) {
            canonical.append(t.name()).append(':');
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                if (i > 0) {
                    canonical.append('x');
                }
                canonical.append(shape[i]);
            }
            canonical.append(';');
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(sha.digest(canonical.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /** A spec of one flat tensor, used for synthetic models in tests and benchmarks. */
    public static ModelSpec flat(String name, long floats) {
        List<TensorSpec> list = new ArrayList<>();
        list.add(new TensorSpec(name, new long[] {floats}));
        return new ModelSpec(list);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSpec m && m.tensors.equals(tensors);
    }

    @Override
    public int hashCode() {
        return tensors.hashCode();
    }

    @Override
    public String toString() {
        return "ModelSpec" + tensors;
    }
}

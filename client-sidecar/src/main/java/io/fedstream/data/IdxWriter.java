package io.fedstream.data;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * Writes unsigned-byte IDX files, gzipped iff the file name ends in {@code .gz}.
 *
 * <p>Features are stored as {@code round(value * 255)}, the inverse of {@link IdxReader}'s scaling: a dataset
 * read from IDX round-trips bit-exactly, other values in {@code [0, 1]} are quantised to 1/255 steps, and values
 * outside {@code [0, 1]} are rejected. See {@link #isExactlyRepresentable(Dataset)}.
 */
public final class IdxWriter {
    private IdxWriter() {}

    /** Writes one IDX file of unsigned bytes with the given dimensions. */
    public static void writeArray(Path file, int[] dims, byte[] data) throws IOException {
        long total = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension " + d);
            }
            total *= d;
        }
        if (dims.length == 0 || dims.length > 255 || total != data.length) {
            throw new IllegalArgumentException("dims do not match " + data.length + " values");
        }
        try (OutputStream raw = DataFiles.openOutput(file); DataOutputStream out = new DataOutputStream(raw)) {
            out.writeInt((IdxReader.TYPE_UBYTE << 8) | dims.length);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
        }
    }

    /** Writes the features as an images file with dimensions {@code {n, featureShape...}}. */
    public static void writeImages(Path file, Dataset data) throws IOException {
        long[] shape = data.featureShape();
        int[] dims = new int[shape.length + 1];
        dims[0] = data.size();
        for (int i = 0; i < shape.length; i++) {
            dims[i + 1] = Math.toIntExact(shape[i]);
        }
        float[] f = data.features();
        byte[] px = new byte[f.length];
        for (int i = 0; i < f.length; i++) {
            float v = f[i];
            if (!(v >= 0f && v <= 1f)) {
                throw new IllegalArgumentException("feature value " + v + " cannot be stored as an IDX pixel: "
                        + "IDX holds values in [0, 1] (x255 as unsigned bytes)");
            }
            px[i] = (byte) Math.round(v * 255f);
        }
        writeArray(file, dims, px);
    }

    /** Writes the labels as a one-dimensional labels file; labels must be below 256. */
    public static void writeLabels(Path file, Dataset data) throws IOException {
        if (data.numClasses() > 256) {
            throw new IllegalArgumentException("IDX labels are unsigned bytes, " + data.numClasses() + " classes");
        }
        byte[] y = new byte[data.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = (byte) data.label(i);
        }
        writeArray(file, new int[] {y.length}, y);
    }

    public static void write(Path images, Path labels, Dataset data) throws IOException {
        writeImages(images, data);
        writeLabels(labels, data);
    }

    /**
     * True iff writing the dataset as IDX and reading it back gives bit-identical features, i.e. every value is
     * {@code k / 255f} for an integer {@code k} in {@code 0..255}.
     */
    public static boolean isExactlyRepresentable(Dataset data) {
        if (data.numClasses() > 256) {
            return false;
        }
        int n = data.size();
        int fs = data.featureSize();
        for (int s = 0; s < n; s++) {
            for (int j = 0; j < fs; j++) {
                float v = data.feature(s, j);
                if (!(v >= 0f && v <= 1f)) {
                    return false;
                }
                float back = Math.round(v * 255f) / 255f;
                if (Float.floatToRawIntBits(back) != Float.floatToRawIntBits(v)) {
                    return false;
                }
            }
        }
        return true;
    }
}

package io.fedstream.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads IDX files (the MNIST format: {@code 0x00 0x00 <type> <ndims>}, then {@code ndims} big-endian int32
 * dimensions, then the values), plain or gzipped (detected from the content). Only the unsigned-byte element
 * type ({@code 0x08}) is supported, which is what MNIST, Fashion-MNIST and {@link IdxWriter} use.
 *
 * <p>Image pixels are scaled from {@code 0..255} to {@code [0, 1]} by dividing by 255.
 */
public final class IdxReader {
    /** IDX element type code of unsigned bytes. */
    static final int TYPE_UBYTE = 0x08;

    private IdxReader() {}

    /** The raw content of an IDX file: its dimensions and its unsigned bytes in row-major order. */
    public record IdxArray(int[] dims, byte[] data) {
        public IdxArray {
            dims = dims.clone();
        }

        @Override
        public int[] dims() {
            return dims.clone();
        }

        /** Value {@code i} as an unsigned byte. */
        public int unsigned(int i) {
            return data[i] & 0xff;
        }
    }

    /** Reads any unsigned-byte IDX file. */
    public static IdxArray readArray(Path file) throws IOException {
        try (InputStream raw = DataFiles.openInput(file); DataInputStream in = new DataInputStream(raw)) {
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                throw new IOException(file + " is not an IDX file: too short");
            }
            if ((magic >>> 16) != 0) {
                throw new IOException(file + " is not an IDX file: bad magic 0x" + Integer.toHexString(magic));
            }
            int type = (magic >>> 8) & 0xff;
            int ndims = magic & 0xff;
            if (type != TYPE_UBYTE) {
                throw new IOException(file + ": IDX element type 0x" + Integer.toHexString(type)
                        + " is not supported, only unsigned byte (0x08)");
            }
            if (ndims < 1) {
                throw new IOException(file + ": IDX file without dimensions");
            }
            int[] dims = new int[ndims];
            long total = 1;
            for (int i = 0; i < ndims; i++) {
                dims[i] = in.readInt();
                if (dims[i] < 0) {
                    throw new IOException(file + ": negative IDX dimension " + dims[i]);
                }
                total *= dims[i];
                if (total > Integer.MAX_VALUE - 8) {
                    throw new IOException(file + ": IDX content too large " + Arrays.toString(dims));
                }
            }
            byte[] data = new byte[(int) total];
            try {
                in.readFully(data);
            } catch (EOFException e) {
                throw new IOException(file + ": truncated, expected " + total + " values for dims "
                        + Arrays.toString(dims), e);
            }
            if (in.read() != -1) {
                throw new IOException(file + ": trailing bytes after " + total + " values");
            }
            return new IdxArray(dims, data);
        }
    }

    /**
     * Reads an images file ({@code n x d1 x d2 ...}) and a labels file ({@code n}) into a dataset whose feature
     * shape is {@code {d1, d2, ...}} and whose pixels are scaled to {@code [0, 1]}.
     *
     * @param numClasses the number of classes; 0 or less infers {@code max label + 1} (at least 2), which is only
     *     right when every class occurs in the file
     */
    public static Dataset read(Path images, Path labels, int numClasses) throws IOException {
        IdxArray img = readArray(images);
        IdxArray lab = readArray(labels);
        int[] id = img.dims();
        int[] ld = lab.dims();
        if (id.length < 2) {
            throw new IOException(images + ": an images file needs at least 2 dimensions, has "
                    + Arrays.toString(id));
        }
        if (ld.length != 1) {
            throw new IOException(labels + ": a labels file has 1 dimension, has " + Arrays.toString(ld));
        }
        if (id[0] != ld[0]) {
            throw new IOException(images + " has " + id[0] + " samples but " + labels + " has " + ld[0]);
        }
        long[] shape = new long[id.length - 1];
        for (int i = 1; i < id.length; i++) {
            shape[i - 1] = id[i];
        }
        byte[] px = img.data();
        float[] features = new float[px.length];
        for (int i = 0; i < px.length; i++) {
            features[i] = (px[i] & 0xff) / 255f;
        }
        int[] y = new int[ld[0]];
        int max = 0;
        for (int i = 0; i < y.length; i++) {
            y[i] = lab.unsigned(i);
            max = Math.max(max, y[i]);
        }
        int classes = numClasses > 0 ? numClasses : Math.max(2, max + 1);
        return new Dataset(features, y, shape, classes);
    }
}

package io.fedstream.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads comma-separated rows {@code f1,f2,...,fk,label}, plain or gzipped (detected from the content). No header
 * is expected; a first line whose first field is not a number is taken as a header and skipped. Blank lines and
 * lines starting with {@code #} are skipped. The label must be an integer (written {@code 3} or {@code 3.0}).
 *
 * <p>Feature values are divided by {@link Options#divisor()}; the reader never guesses a scale, so the caller
 * states it (the built-in digits set uses 16, its maximum pixel value; see {@link DatasetLoader}).
 */
public final class CsvReader {
    private CsvReader() {}

    /**
     * How to interpret a CSV file.
     *
     * @param divisor every feature is divided by this (1 keeps values as written)
     * @param featureShape shape of one sample, or null for a flat {@code {columns - 1}}
     * @param numClasses number of classes, or 0 or less to infer {@code max label + 1} (at least 2)
     */
    public record Options(float divisor, long[] featureShape, int numClasses) {
        public Options {
            if (!(divisor > 0f) || Float.isInfinite(divisor)) {
                throw new IllegalArgumentException("divisor must be positive and finite, got " + divisor);
            }
            featureShape = featureShape == null ? null : featureShape.clone();
        }

        @Override
        public long[] featureShape() {
            return featureShape == null ? null : featureShape.clone();
        }

        /** Values as written, flat samples, classes inferred. */
        public static Options defaults() {
            return new Options(1f, null, 0);
        }

        public Options withDivisor(float d) {
            return new Options(d, featureShape, numClasses);
        }

        public Options withFeatureShape(long... shape) {
            return new Options(divisor, shape, numClasses);
        }

        public Options withNumClasses(int n) {
            return new Options(divisor, featureShape, n);
        }
    }

    public static Dataset read(Path file) throws IOException {
        return read(file, Options.defaults());
    }

    public static Dataset read(Path file, Options options) throws IOException {
        FloatList features = new FloatList();
        IntList labels = new IntList();
        int columns = -1;
        try (InputStream in = DataFiles.openInput(file);
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            int lineNo = 0;
            boolean first = true;
            while ((line = r.readLine()) != null) {
                lineNo++;
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                String[] cells = t.split(",", -1);
                if (first) {
                    first = false;
                    if (!isNumber(cells[0].strip())) {
                        continue;
                    }
                }
                if (columns < 0) {
                    columns = cells.length;
                    if (columns < 2) {
                        throw new IOException(file + ":" + lineNo + ": a row needs at least one feature and a label");
                    }
                } else if (cells.length != columns) {
                    throw new IOException(file + ":" + lineNo + ": " + cells.length + " columns, expected " + columns);
                }
                try {
                    for (int c = 0; c < columns - 1; c++) {
                        features.add(Float.parseFloat(cells[c].strip()) / options.divisor());
                    }
                    double label = Double.parseDouble(cells[columns - 1].strip());
                    if (label != Math.rint(label) || label < 0 || label > Integer.MAX_VALUE) {
                        throw new IOException(file + ":" + lineNo + ": label " + cells[columns - 1]
                                + " is not a non-negative integer");
                    }
                    labels.add((int) label);
                } catch (NumberFormatException e) {
                    throw new IOException(file + ":" + lineNo + ": not a number: " + e.getMessage(), e);
                }
            }
        }
        if (columns < 0) {
            throw new IOException(file + " has no data rows");
        }
        long[] shape = options.featureShape() != null ? options.featureShape() : new long[] {columns - 1};
        long fs = 1;
        for (long d : shape) {
            fs *= d;
        }
        if (fs != columns - 1) {
            throw new IOException(file + " has " + (columns - 1) + " features per row, which is not the shape "
                    + Arrays.toString(shape));
        }
        int[] y = labels.toArray();
        int max = 0;
        for (int l : y) {
            max = Math.max(max, l);
        }
        int classes = options.numClasses() > 0 ? options.numClasses() : Math.max(2, max + 1);
        return new Dataset(features.toArray(), y, shape, classes);
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static final class FloatList {
        private float[] a = new float[1024];
        private int n;

        void add(float v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, Math.multiplyExact(a.length, 2));
            }
            a[n++] = v;
        }

        float[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    private static final class IntList {
        private int[] a = new int[256];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, Math.multiplyExact(a.length, 2));
            }
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}

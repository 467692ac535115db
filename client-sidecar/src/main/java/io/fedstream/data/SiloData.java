package io.fedstream.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The data of one silo: a training split and a test split with the same feature shape and class count.
 *
 * <h2>Silo folder layout</h2>
 *
 * A silo folder holds either IDX or CSV files (each file may be plain or gzipped; {@link #write} gzips):
 *
 * <pre>
 * silo-dir/
 *   silo.properties                     format=idx|csv, featureShape=28,28, numClasses=10 (+ sample counts)
 *   train-images-idx3-ubyte.gz          IDX format: n x featureShape unsigned bytes, pixel = value * 255
 *   train-labels-idx1-ubyte.gz          IDX format: n labels
 *   test-images-idx3-ubyte.gz
 *   test-labels-idx1-ubyte.gz
 * or
 *   train.csv.gz                        CSV format: rows f1,...,fk,label, features as stored in memory
 *   test.csv.gz
 * </pre>
 *
 * The IDX file names are the same whatever the number of feature dimensions (the IDX header carries the
 * dimensions). {@code silo.properties} is always written; on load it is optional: without it the format is
 * detected from the files present, the feature shape comes from the IDX header (CSV: flat), CSV values are taken
 * as written, and the class count is {@code max label + 1} over both splits. A silo's labels rarely cover every
 * class, so write the properties file (or pass {@code numClasses}) for anything but ad-hoc data.
 *
 * <p>A federation's silos live side by side as {@code root/silo-0, root/silo-1, ...}: see {@link #writeAll} and
 * {@link #loadAll}.
 */
public final class SiloData {
    public static final String PROPERTIES = "silo.properties";
    static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    static final String TEST_IMAGES = "test-images-idx3-ubyte";
    static final String TEST_LABELS = "test-labels-idx1-ubyte";
    static final String TRAIN_CSV = "train.csv";
    static final String TEST_CSV = "test.csv";
    static final String SILO_PREFIX = "silo-";

    /** On-disk format of a silo folder. */
    public enum Format {
        IDX,
        CSV;

        static Format parse(String s) {
            return Format.valueOf(s.strip().toUpperCase(Locale.ROOT));
        }
    }

    private final Dataset train;
    private final Dataset test;

    public SiloData(Dataset train, Dataset test) {
        this.train = Objects.requireNonNull(train, "train");
        this.test = Objects.requireNonNull(test, "test");
        if (!Arrays.equals(train.featureShape(), test.featureShape()) || train.numClasses() != test.numClasses()) {
            throw new IllegalArgumentException("train " + train + " and test " + test
                    + " disagree on feature shape or number of classes");
        }
    }

    public Dataset train() {
        return train;
    }

    public Dataset test() {
        return test;
    }

    public long[] featureShape() {
        return train.featureShape();
    }

    public int numClasses() {
        return train.numClasses();
    }

    /** Training plus test samples. */
    public int totalSize() {
        return train.size() + test.size();
    }

    /**
     * Writes this silo into {@code dir} as IDX when that is lossless ({@link IdxWriter#isExactlyRepresentable},
     * e.g. data that came from IDX files), else as CSV.
     */
    public void write(Path dir) throws IOException {
        boolean idx = IdxWriter.isExactlyRepresentable(train) && IdxWriter.isExactlyRepresentable(test);
        write(dir, idx ? Format.IDX : Format.CSV);
    }

    /** Writes this silo into {@code dir} in the given format, replacing files of the other format. */
    public void write(Path dir, Format format) throws IOException {
        Files.createDirectories(dir);
        List<String> idxNames = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);
        List<String> csvNames = List.of(TRAIN_CSV, TEST_CSV);
        if (format == Format.IDX) {
            IdxWriter.write(dir.resolve(TRAIN_IMAGES + ".gz"), dir.resolve(TRAIN_LABELS + ".gz"), train);
            IdxWriter.write(dir.resolve(TEST_IMAGES + ".gz"), dir.resolve(TEST_LABELS + ".gz"), test);
        } else {
            CsvWriter.write(dir.resolve(TRAIN_CSV + ".gz"), train);
            CsvWriter.write(dir.resolve(TEST_CSV + ".gz"), test);
        }
        // Leftovers from an earlier write would make the folder ambiguous or stale: drop plain copies of the
        // files just written and every file of the other format.
        for (String name : format == Format.IDX ? idxNames : csvNames) {
            Files.deleteIfExists(dir.resolve(name));
        }
        for (String name : format == Format.IDX ? csvNames : idxNames) {
            Files.deleteIfExists(dir.resolve(name));
            Files.deleteIfExists(dir.resolve(name + ".gz"));
        }
        Properties p = new Properties();
        p.setProperty("format", format.name().toLowerCase(Locale.ROOT));
        p.setProperty("featureShape", joinShape(train.featureShape()));
        p.setProperty("numClasses", Integer.toString(train.numClasses()));
        p.setProperty("trainSamples", Integer.toString(train.size()));
        p.setProperty("testSamples", Integer.toString(test.size()));
        try (OutputStream out = Files.newOutputStream(dir.resolve(PROPERTIES))) {
            p.store(out, "fedstream silo data");
        }
    }

    /** Loads a silo folder (see the class comment for the layout). */
    public static SiloData load(Path dir) throws IOException {
        return load(dir, 0);
    }

    /**
     * Loads a silo folder.
     *
     * @param numClasses the class count to use, overriding {@code silo.properties}; 0 or less to take it from the
     *     properties file or, failing that, from the labels
     */
    public static SiloData load(Path dir, int numClasses) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("silo folder " + dir + " does not exist");
        }
        Properties p = new Properties();
        Path propsFile = dir.resolve(PROPERTIES);
        if (Files.isRegularFile(propsFile)) {
            try (InputStream in = Files.newInputStream(propsFile)) {
                p.load(in);
            }
        }
        Path trainImages = DataFiles.findPlainOrGz(dir, TRAIN_IMAGES);
        Path trainLabels = DataFiles.findPlainOrGz(dir, TRAIN_LABELS);
        Path testImages = DataFiles.findPlainOrGz(dir, TEST_IMAGES);
        Path testLabels = DataFiles.findPlainOrGz(dir, TEST_LABELS);
        Path trainCsv = DataFiles.findPlainOrGz(dir, TRAIN_CSV);
        Path testCsv = DataFiles.findPlainOrGz(dir, TEST_CSV);
        boolean hasIdx = trainImages != null && trainLabels != null && testImages != null && testLabels != null;
        boolean hasCsv = trainCsv != null && testCsv != null;

        Format format;
        if (p.getProperty("format") != null) {
            format = Format.parse(p.getProperty("format"));
        } else if (hasIdx && !hasCsv) {
            format = Format.IDX;
        } else if (hasCsv && !hasIdx) {
            format = Format.CSV;
        } else if (hasIdx) {
            throw new IOException(dir + " holds both IDX and CSV splits and no " + PROPERTIES + " to choose");
        } else {
            throw new IOException(dir + " is not a silo folder: expected " + TRAIN_IMAGES + "/" + TRAIN_LABELS
                    + "/" + TEST_IMAGES + "/" + TEST_LABELS + " (.gz) or " + TRAIN_CSV + "/" + TEST_CSV + " (.gz)");
        }
        if (format == Format.IDX && !hasIdx) {
            throw new IOException(dir + ": IDX silo lacks one of its four IDX files");
        }
        if (format == Format.CSV && !hasCsv) {
            throw new IOException(dir + ": CSV silo lacks " + TRAIN_CSV + " or " + TEST_CSV);
        }

        int classes = numClasses > 0 ? numClasses : parseInt(p.getProperty("numClasses"), 0);
        long[] shape = p.getProperty("featureShape") == null ? null : parseShape(p.getProperty("featureShape"));

        Dataset train;
        Dataset test;
        if (format == Format.IDX) {
            // Read with a provisional class count and settle it below from both splits together.
            train = IdxReader.read(trainImages, trainLabels, 256);
            test = IdxReader.read(testImages, testLabels, 256);
        } else {
            CsvReader.Options o = CsvReader.Options.defaults().withNumClasses(Integer.MAX_VALUE);
            train = CsvReader.read(trainCsv, o);
            test = CsvReader.read(testCsv, o);
        }
        if (classes <= 0) {
            classes = Math.max(2, Math.max(maxLabel(train), maxLabel(test)) + 1);
        }
        if (shape == null) {
            shape = train.featureShape();
        }
        return new SiloData(settle(train, shape, classes, dir), settle(test, shape, classes, dir));
    }

    /** Writes silos to {@code root/silo-0, root/silo-1, ...}. */
    public static void writeAll(List<SiloData> silos, Path root) throws IOException {
        for (int i = 0; i < silos.size(); i++) {
            silos.get(i).write(siloDir(root, i));
        }
    }

    /** The folder of silo {@code index} under a federation's data root. */
    public static Path siloDir(Path root, int index) {
        return root.resolve(SILO_PREFIX + index);
    }

    /** Loads {@code root/silo-0, root/silo-1, ...} up to the first missing index. */
    public static List<SiloData> loadAll(Path root) throws IOException {
        List<SiloData> out = new ArrayList<>();
        for (int i = 0; Files.isDirectory(siloDir(root, i)); i++) {
            out.add(load(siloDir(root, i)));
        }
        if (out.isEmpty()) {
            try (Stream<Path> s = Files.list(root)) {
                throw new IOException("no " + SILO_PREFIX + "0 folder under " + root + " (has "
                        + s.map(x -> x.getFileName().toString()).toList() + ")");
            }
        }
        return out;
    }

    private static Dataset settle(Dataset d, long[] shape, int classes, Path dir) throws IOException {
        int max = maxLabel(d);
        if (max >= classes) {
            throw new IOException(dir + ": label " + max + " is not below numClasses " + classes);
        }
        try {
            return d.reshape(shape).withNumClasses(classes);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
    }

    private static int maxLabel(Dataset d) {
        int max = -1;
        for (int i = 0; i < d.size(); i++) {
            max = Math.max(max, d.label(i));
        }
        return max;
    }

    static String joinShape(long[] shape) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(shape[i]);
        }
        return sb.toString();
    }

    static long[] parseShape(String s) {
        String[] parts = s.split("[,x ]+");
        long[] shape = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            shape[i] = Long.parseLong(parts[i].strip());
        }
        return shape;
    }

    private static int parseInt(String s, int dflt) {
        return s == null ? dflt : Integer.parseInt(s.strip());
    }

    @Override
    public String toString() {
        return "SiloData[train=" + train.size() + ", test=" + test.size() + ", shape="
                + Arrays.toString(train.featureShape()) + ", classes=" + train.numClasses() + "]";
    }
}

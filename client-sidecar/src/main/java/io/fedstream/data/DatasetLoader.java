package io.fedstream.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Loads a whole (not yet partitioned) dataset, from a path or by built-in name.
 *
 * <p>Built-ins, resolved under a data root (by default the {@code data} folder of the repository, see
 * {@link #defaultDataRoot()}):
 *
 * <ul>
 *   <li>{@code mnist-10k}: {@code <root>/mnist-10k/images-idx3-ubyte.gz} and {@code labels-idx1-ubyte.gz},
 *       10,000 28x28 MNIST digits, pixels scaled to [0, 1] (/255), 10 classes.
 *   <li>{@code digits}: {@code <root>/digits/digits.csv.gz}, 1,797 8x8 digits (64 values 0..16 then the label),
 *       features scaled to [0, 1] by dividing by 16, feature shape {@code {8, 8}}, 10 classes.
 * </ul>
 */
public final class DatasetLoader {
    public static final String MNIST_10K = "mnist-10k";
    public static final String DIGITS = "digits";
    /** System property naming the data root. */
    public static final String DATA_DIR_PROPERTY = "fedstream.data.dir";
    /** Environment variable naming the data root (the system property wins). */
    public static final String DATA_DIR_ENV = "FEDSTREAM_DATA_DIR";

    private DatasetLoader() {}

    /** Names accepted by {@link #builtin}. */
    public static List<String> builtinNames() {
        return List.of(MNIST_10K, DIGITS);
    }

    /** A built-in dataset by name, under {@code dataRoot}. */
    public static Dataset builtin(String name, Path dataRoot) throws IOException {
        switch (name.toLowerCase(Locale.ROOT)) {
            case MNIST_10K: {
                Path dir = dataRoot.resolve(MNIST_10K);
                return IdxReader.read(require(dir, "images-idx3-ubyte"), require(dir, "labels-idx1-ubyte"), 10);
            }
            case DIGITS: {
                Path file = require(dataRoot.resolve(DIGITS), "digits.csv");
                return CsvReader.read(file, new CsvReader.Options(16f, new long[] {8, 8}, 10));
            }
            default:
                throw new IllegalArgumentException("unknown built-in dataset '" + name + "', known: " + builtinNames());
        }
    }

    /** A built-in name resolved under {@code dataRoot}, or else a path given to {@link #load(Path)}. */
    public static Dataset resolve(String nameOrPath, Path dataRoot) throws IOException {
        if (builtinNames().contains(nameOrPath.toLowerCase(Locale.ROOT))) {
            return builtin(nameOrPath, dataRoot);
        }
        return load(Paths.get(nameOrPath));
    }

    /**
     * Loads a dataset from:
     *
     * <ul>
     *   <li>a folder with exactly one {@code *images-idx*} file and one {@code *labels-idx1*} file (plain or .gz);
     *   <li>a folder with exactly one {@code .csv}/{@code .csv.gz} file;
     *   <li>an IDX images file (its labels file is found by replacing {@code images} with {@code labels} and
     *       {@code idx<n>} with {@code idx1} in the name);
     *   <li>a {@code .csv}/{@code .csv.gz} file.
     * </ul>
     *
     * IDX pixels are scaled by /255; CSV values are taken as written with a flat feature shape (use
     * {@link CsvReader} directly, or {@link #builtin} for the digits set, to scale or shape them). The class count
     * is {@code max label + 1}.
     */
    public static Dataset load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> s = Files.list(path)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
            List<Path> images = files.stream().filter(f -> DataFiles.baseName(f).matches(".*images-idx\\d-ubyte"))
                    .toList();
            List<Path> labels = files.stream().filter(f -> DataFiles.baseName(f).matches(".*labels-idx1-ubyte"))
                    .toList();
            List<Path> csvs = files.stream().filter(f -> DataFiles.baseName(f).endsWith(".csv")).toList();
            if (images.size() == 1 && labels.size() == 1) {
                return IdxReader.read(images.get(0), labels.get(0), 0);
            }
            if (images.isEmpty() && labels.isEmpty() && csvs.size() == 1) {
                return CsvReader.read(csvs.get(0));
            }
            throw new IOException(path + ": expected one IDX images/labels pair or one CSV file, found "
                    + files.stream().map(f -> f.getFileName().toString()).toList());
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException(path + " does not exist");
        }
        String base = DataFiles.baseName(path);
        if (base.endsWith(".csv")) {
            return CsvReader.read(path);
        }
        if (base.matches(".*images-idx\\d-ubyte")) {
            String labelsBase = base.replaceFirst("images-idx\\d-ubyte$", "labels-idx1-ubyte");
            Path labels = DataFiles.findPlainOrGz(path.toAbsolutePath().getParent(), labelsBase);
            if (labels == null) {
                throw new IOException("no labels file " + labelsBase + "(.gz) next to " + path);
            }
            return IdxReader.read(path, labels, 0);
        }
        throw new IOException(path + ": not a .csv(.gz) or *images-idx*-ubyte(.gz) file");
    }

    /**
     * The data root: the {@value #DATA_DIR_PROPERTY} system property, else the {@value #DATA_DIR_ENV} environment
     * variable, else the first {@code data} folder holding a built-in dataset found walking up from the working
     * directory (so it works from the repository root and from a module folder), else {@code ./data}.
     */
    public static Path defaultDataRoot() {
        String configured = System.getProperty(DATA_DIR_PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(DATA_DIR_ENV);
        }
        if (configured != null && !configured.isBlank()) {
            return Paths.get(configured);
        }
        for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("data");
            for (String name : builtinNames()) {
                if (Files.isDirectory(candidate.resolve(name))) {
                    return candidate;
                }
            }
        }
        return Paths.get("data");
    }

    private static Path require(Path dir, String name) throws IOException {
        Path p = DataFiles.findPlainOrGz(dir, name);
        if (p == null) {
            throw new IOException("missing " + dir.resolve(name) + "(.gz)");
        }
        return p;
    }
}

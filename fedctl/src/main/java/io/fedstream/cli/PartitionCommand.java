package io.fedstream.cli;

import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.data.Dataset;
import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** {@code fedstream partition}: split a dataset into non-IID silo folders. */
final class PartitionCommand implements Command {
    static final List<Flag> FLAGS = List.of(
            Flag.of("dataset", "mnist-10k", "mnist-10k, digits, or a path to IDX/CSV data"),
            Flag.of("clients", "5", "number of silos"),
            Flag.of("alpha", "0.5", "Dirichlet alpha over labels (smaller = more skewed)"),
            Flag.of("test-fraction", "0.2", "share of each silo kept as its test split"),
            Flag.of("seed", "42", "seed of the split"),
            Flag.of("out", null, "output folder; silo i goes to <out>/silo-<i> (required)"),
            Flag.of("data-dir", "", "folder with the built-in datasets (default: ./data or FEDSTREAM_DATA_DIR)"));

    private static final FlagParser PARSER = new FlagParser(FLAGS);

    @Override
    public String name() {
        return "partition";
    }

    @Override
    public String summary() {
        return "split a dataset into non-IID silos (Dirichlet over labels) with train/test splits";
    }

    @Override
    public String help() {
        return "Usage: fedstream partition --out DIR [flags]\n\nFlags:\n" + PARSER.help();
    }

    @Override
    public int run(String[] args) throws Exception {
        Map<String, String> v = PARSER.parse(args);
        Path out = Path.of(FlagParser.require(v, "out", "silos"));
        Path dataRoot = v.get("data-dir").isEmpty() ? DatasetLoader.defaultDataRoot() : Path.of(v.get("data-dir"));
        DirichletPartitioner partitioner = new DirichletPartitioner(FlagParser.intValue(v, "clients"),
                FlagParser.doubleValue(v, "alpha"), FlagParser.doubleValue(v, "test-fraction"), FlagParser.longValue(v, "seed"));
        Dataset data = DatasetLoader.resolve(v.get("dataset"), dataRoot);
        List<SiloData> silos = partitioner.partition(data);
        SiloData.writeAll(silos, out);
        for (int i = 0; i < silos.size(); i++) {
            SiloData s = silos.get(i);
            System.out.printf("%s: %d train, %d test, labels %s%n", SiloData.siloDir(out, i), s.train().size(),
                    s.test().size(), Arrays.toString(s.train().classCounts()));
        }
        return 0;
    }
}

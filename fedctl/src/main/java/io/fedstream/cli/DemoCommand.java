package io.fedstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.fedstream.avro.RoundSummary;
import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.data.DatasetLoader;
import io.fedstream.job.JobSettings;
import io.fedstream.launch.FederationResult;
import io.fedstream.launch.LocalFederation;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import io.fedstream.train.ModelKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code fedstream demo}: a whole federation on the embedded default, nothing to install. */
final class DemoCommand implements Command {
    static final List<Flag> FLAGS = List.of(
            Flag.of("rounds", "10", "training rounds"),
            Flag.of("clients", "5", "silos, one sidecar each; all are selected every round"),
            Flag.of("alpha", "0.5", "Dirichlet alpha of the non-IID label split (smaller = more skewed)"),
            Flag.of("dataset", "mnist-10k", "mnist-10k, digits, or a path to IDX/CSV data"),
            Flag.of("model", "mlp", "logreg, mlp or cnn"),
            Flag.of("seed", "42", "seed of the split, the initial model, selection and local shuffling"),
            Flag.of("local-epochs", "2", "local epochs per round"),
            Flag.of("batch-size", "16", "local mini-batch size"),
            Flag.of("learning-rate", "0.1", "local SGD learning rate"),
            Flag.of("test-fraction", "0.2", "share of each silo kept as its test split"),
            Flag.of("parallelism", "1", "parallelism of the Flink job"),
            Flag.of("delivery", "at-least-once", "at-least-once or exactly-once"),
            Flag.of("summary-json", "", "write per-round records and the final accuracy to this JSON file"),
            Flag.of("min-accuracy", "", "exit with code 3 if the final eval accuracy is below this"),
            Flag.of("work-dir", "", "where silos and checkpoints go (default: a new temp directory)"),
            Flag.of("data-dir", "", "folder with the built-in datasets (default: ./data or FEDSTREAM_DATA_DIR)"),
            Flag.of("timeout", "20m", "give up if the federation has not finished by then"));

    private static final FlagParser PARSER = new FlagParser(FLAGS);

    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "run a whole federation in-process: Kafka broker, Flink MiniCluster, sidecars";
    }

    @Override
    public String help() {
        return "Usage: fedstream demo [flags]\n\nStarts an in-process Kafka broker (KRaft) and the aggregation job in a Flink MiniCluster,\n"
                + "splits the dataset over non-IID silos, runs one sidecar per silo, prints one line per round\nand a final summary.\n\nFlags:\n"
                + PARSER.help();
    }

    @Override
    public int run(String[] args) throws Exception {
        Map<String, String> v = PARSER.parse(args);
        Path dataRoot = v.get("data-dir").isEmpty() ? DatasetLoader.defaultDataRoot() : Path.of(v.get("data-dir"));
        ModelKind model;
        try {
            model = ModelKind.parse(v.get("model"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--model must be logreg, mlp or cnn, got '" + v.get("model") + "'");
        }
        int rounds = FlagParser.intValue(v, "rounds");
        int clients = FlagParser.intValue(v, "clients");
        Double minAccuracy = v.get("min-accuracy").isEmpty() ? null : FlagParser.doubleValue(v, "min-accuracy");
        LocalFederation.Options.Builder options = LocalFederation.options()
                .dataset(v.get("dataset")).dataRoot(dataRoot)
                .clients(clients).alpha(FlagParser.doubleValue(v, "alpha"))
                .testFraction(FlagParser.doubleValue(v, "test-fraction"))
                .seed(FlagParser.longValue(v, "seed")).model(model).rounds(rounds)
                .localEpochs(FlagParser.intValue(v, "local-epochs")).batchSize(FlagParser.intValue(v, "batch-size"))
                .learningRate(FlagParser.doubleValue(v, "learning-rate"))
                .parallelism(FlagParser.intValue(v, "parallelism"))
                .delivery(JobSettings.deliveryFlag(v.get("delivery")))
                .timeout(FlagParser.durationValue(v, "timeout"));
        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1, got " + rounds);
        }
        // Fail on bad values before creating or starting anything.
        options.bootstrapServers("127.0.0.1:0").workDir(Path.of(".")).build();
        Path workDir = v.get("work-dir").isEmpty() ? Files.createTempDirectory("fedstream-demo-") : Path.of(v.get("work-dir"));
        options.workDir(workDir);

        System.out.printf("fedstream demo: %s over %d silos (alpha %s), model %s, %d rounds; work dir %s%n",
                v.get("dataset"), clients, v.get("alpha"), model.id(), rounds, workDir);
        System.out.println("starting an in-process Kafka broker and the Flink job in a MiniCluster ...");
        FederationResult result;
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            options.bootstrapServers(kafka.bootstrapServers());
            result = new LocalFederation(options.build()).run(r -> printRound(r, rounds));
        }
        if (!result.finished()) {
            System.err.println("error: the federation did not finish within " + v.get("timeout"));
            return 1;
        }
        RoundSummary last = result.rounds().get(result.rounds().size() - 1);
        System.out.printf("done: %d rounds in %.1f s; final eval accuracy %.4f (sample-weighted over %d test samples); final model %s%n",
                result.rounds().size(), result.wallTimeMs() / 1000.0, result.finalAccuracy(), last.getEvalSamples(),
                result.finish().getFinalModelDigest());
        if (!v.get("summary-json").isEmpty()) {
            writeJson(Path.of(v.get("summary-json")), result, v);
            System.out.println("summary written to " + v.get("summary-json"));
        }
        if (minAccuracy != null && !(result.finalAccuracy() >= minAccuracy)) {
            System.err.printf("error: final eval accuracy %.4f is below --min-accuracy %s%n", result.finalAccuracy(), minAccuracy);
            return 3;
        }
        return 0;
    }

    private static void printRound(RoundSummary r, int rounds) {
        System.out.printf("round %2d/%d  participants %d  train loss %.4f  eval accuracy %.4f  round time %d ms%n",
                r.getRound() + 1, rounds, r.getParticipants().size(), r.getTrainLoss(), r.getEvalAccuracy(), r.getRoundTimeMs());
    }

    static void writeJson(Path file, FederationResult result, Map<String, String> flags) throws java.io.IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("federation", result.finish().getFederation());
        root.put("settings", flags);
        List<Map<String, Object>> rounds = new ArrayList<>();
        for (RoundSummary r : result.rounds()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("round", r.getRound());
            m.put("participants", new ArrayList<>(r.getParticipants()));
            m.put("totalSamples", r.getTotalSamples());
            m.put("trainLoss", r.getTrainLoss());
            m.put("trainAccuracy", r.getTrainAccuracy());
            m.put("evalLoss", r.getEvalLoss());
            m.put("evalAccuracy", r.getEvalAccuracy());
            m.put("evalSamples", r.getEvalSamples());
            m.put("roundTimeMs", r.getRoundTimeMs());
            m.put("aggregationTimeMs", r.getAggregationTimeMs());
            m.put("rejections", r.getRejections());
            m.put("modelVersion", r.getModelVersion());
            m.put("modelDigest", r.getModelDigest());
            rounds.add(m);
        }
        root.put("rounds", rounds);
        root.put("finalAccuracy", result.finalAccuracy());
        root.put("finalModelDigest", result.finish().getFinalModelDigest());
        root.put("wallTimeMs", result.wallTimeMs());
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
    }
}

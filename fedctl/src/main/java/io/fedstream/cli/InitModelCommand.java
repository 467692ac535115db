package io.fedstream.cli;

import io.fedstream.avro.ModelManifest;
import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.data.SiloData;
import io.fedstream.protocol.Topics;
import io.fedstream.sidecar.InitialModelPublisher;
import io.fedstream.train.LocalModel;
import io.fedstream.train.ModelKind;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@code fedstream init-model}: publish a federation's seeded initial model (version 0). */
final class InitModelCommand implements Command {
    static final List<Flag> FLAGS = List.of(
            Flag.of("bootstrap-servers", null, "Kafka bootstrap servers (required)"),
            Flag.of("federation", "demo", "federation id"),
            Flag.of("model", "mlp", "logreg, mlp or cnn"),
            Flag.of("data", null, "a silo folder; gives the input shape and the number of classes (required)"),
            Flag.of("seed", "42", "seed of the initial weights; sidecars must use the same --model and --seed"));

    private static final FlagParser PARSER = new FlagParser(FLAGS);

    @Override
    public String name() {
        return "init-model";
    }

    @Override
    public String summary() {
        return "publish the federation's seeded initial model to its models topic";
    }

    @Override
    public String help() {
        return "Usage: fedstream init-model --bootstrap-servers HOST:PORT --data SILO_DIR [flags]\n\nFlags:\n" + PARSER.help();
    }

    @Override
    public int run(String[] args) throws Exception {
        Map<String, String> v = PARSER.parse(args);
        String bootstrap = FlagParser.require(v, "bootstrap-servers", "127.0.0.1:9092");
        SiloData silo = SiloData.load(Path.of(FlagParser.require(v, "data", "silos/silo-0")));
        ModelKind kind = ModelKind.parse(v.get("model"));
        Topics topics = new Topics(v.get("federation"));
        try (LocalModel model = LocalModel.create(kind, silo.featureShape(), silo.numClasses(), FlagParser.longValue(v, "seed"))) {
            ModelManifest m = InitialModelPublisher.publish(bootstrap, topics, model);
            System.out.printf("published %s initial model to %s: %d floats in %d chunks, digest %s%n",
                    kind.id(), topics.models(), m.getTotalFloats(), m.getChunkCount(), m.getDigest());
        }
        return 0;
    }
}

package io.fedstream.faults;

import io.fedstream.avro.RoundSummary;
import io.fedstream.data.DatasetLoader;
import io.fedstream.data.DirichletPartitioner;
import io.fedstream.data.SiloData;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.sidecar.InitialModelPublisher;
import io.fedstream.sidecar.Sidecar;
import io.fedstream.sidecar.SidecarSettings;
import io.fedstream.train.LocalModel;
import io.fedstream.train.ModelKind;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One federation of a fault test: the digits data split into silos ({@code <work>/silos/silo-<i>}), the federation's
 * topics and every client's pair, the seeded initial MLP on the models topic, and the command lines of its job and
 * sidecars ({@code fedstream job}, {@code fedstream sidecar}) as child JVMs.
 */
final class FaultFederation {
    static final String MODEL = "mlp";

    final String bootstrap;
    final Topics topics;
    final Path work;
    final int clients;
    final long seed;

    private FaultFederation(String bootstrap, String federation, Path work, int clients, long seed) {
        this.bootstrap = bootstrap;
        this.topics = new Topics(federation);
        this.work = work;
        this.clients = clients;
        this.seed = seed;
    }

    static Path dataRoot() {
        return Path.of(System.getProperty("user.dir")).getParent().resolve("data");
    }

    /** Splits the data, creates the topics (the federation's and every client's) and publishes the initial model. */
    static FaultFederation prepare(String bootstrap, String federation, Path work, int clients, long seed) throws IOException {
        return prepare(bootstrap, federation, work, clients, seed, true);
    }

    /**
     * As above; without {@code clientTopics} only the federation's topics are created, and each sidecar creates
     * its own pair when it starts (so a job started first must discover them).
     */
    static FaultFederation prepare(String bootstrap, String federation, Path work, int clients, long seed,
                                   boolean clientTopics) throws IOException {
        FaultFederation f = new FaultFederation(bootstrap, federation, work, clients, seed);
        List<SiloData> silos = new DirichletPartitioner(clients, 1.0, 0.2, seed)
                .partition(DatasetLoader.resolve(DatasetLoader.DIGITS, dataRoot()));
        SiloData.writeAll(silos, work.resolve("silos"));
        try (TopicProvisioner p = new TopicProvisioner(bootstrap)) {
            p.ensureFederationTopics(f.topics, 1);
            for (int i = 0; clientTopics && i < clients; i++) {
                p.ensureClientTopics(f.topics, f.clientId(i));
            }
        }
        try (LocalModel m = LocalModel.create(ModelKind.MLP, silos.get(0).featureShape(), silos.get(0).numClasses(), seed)) {
            InitialModelPublisher.publish(bootstrap, f.topics, m);
        }
        return f;
    }

    String federation() {
        return topics.federation();
    }

    String clientId(int i) {
        return "client-" + (i + 1);
    }

    List<String> clientIds() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            out.add(clientId(i));
        }
        return out;
    }

    Path silo(int i) {
        return SiloData.siloDir(work.resolve("silos"), i);
    }

    /** {@code fedstream sidecar} for client {@code i} as a child JVM (not started). */
    ChildJvm sidecarProcess(int i, String... extraFlags) {
        List<String> args = new ArrayList<>(List.of("sidecar",
                "--bootstrap-servers", bootstrap, "--federation", federation(), "--client-id", clientId(i),
                "--data", silo(i).toString(), "--model", MODEL, "--seed", String.valueOf(seed),
                "--checkin-interval", "PT0.5S", "--heartbeat-interval", "PT1S"));
        args.addAll(Arrays.asList(extraFlags));
        return ChildJvm.fedstream(federation() + "-" + clientId(i), "768m", args, work.resolve("logs"));
    }

    /** A sidecar in this JVM for client {@code i} (DJL is loaded here already for the initial model). */
    Sidecar sidecarInProcess(int i) throws IOException {
        return new Sidecar(SidecarSettings.builder().bootstrapServers(bootstrap).federation(federation())
                .clientId(clientId(i)).data(silo(i)).model(ModelKind.MLP).seed(seed)
                .checkinInterval(Duration.ofMillis(500)).heartbeatInterval(Duration.ofSeconds(1)).build());
    }

    /**
     * {@code fedstream job} as a child JVM (not started): every client selected in every round, small local
     * training; {@code flags} (name, value, ...) override or add to these.
     */
    ChildJvm jobProcess(String name, int rounds, String... flags) {
        Map<String, String> f = new TreeMap<>();
        f.put("bootstrap-servers", bootstrap);
        f.put("federation", federation());
        f.put("min-clients", String.valueOf(clients));
        f.put("clients-per-round", String.valueOf(clients));
        f.put("rounds", String.valueOf(rounds));
        f.put("seed", String.valueOf(seed));
        f.put("local-epochs", "1");
        f.put("batch-size", "16");
        f.put("learning-rate", "0.05");
        f.put("checkpoint-interval", "PT1S");
        for (int i = 0; i + 1 < flags.length; i += 2) {
            f.put(flags[i], flags[i + 1]);
        }
        List<String> args = new ArrayList<>(List.of("job"));
        f.forEach((k, v) -> {
            args.add("--" + k);
            args.add(v);
        });
        return ChildJvm.fedstream(federation() + "-" + name, "1g", args, work.resolve("logs"));
    }

    /** One summary per round (the first of each round: a restored job may write a round's summary twice). */
    static Map<Integer, RoundSummary> byRound(List<RoundSummary> summaries) {
        Map<Integer, RoundSummary> out = new TreeMap<>();
        for (RoundSummary s : summaries) {
            out.putIfAbsent(s.getRound(), s);
        }
        return out;
    }
}

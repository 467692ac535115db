package io.fedstream.cli;

import io.fedstream.config.Flag;
import io.fedstream.config.FlagParser;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** {@code fedstream topics}: create a federation's topics and list them. */
final class TopicsCommand implements Command {
    static final List<Flag> FLAGS = List.of(
            Flag.of("bootstrap-servers", null, "Kafka bootstrap servers (required)"),
            Flag.of("federation", "demo", "federation id"),
            Flag.of("clients", "", "comma-separated client ids whose updates/model topics to create"),
            Flag.of("model-partitions", "1", "partitions of the models topic (the job reads them in parallel)"));

    private static final FlagParser PARSER = new FlagParser(FLAGS);

    @Override
    public String name() {
        return "topics";
    }

    @Override
    public String summary() {
        return "create a federation's topics (and its clients') and list them";
    }

    @Override
    public String help() {
        return "Usage: fedstream topics --bootstrap-servers HOST:PORT [flags]\n\nFlags:\n" + PARSER.help();
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public int run(String[] args) {
        Map<String, String> v = PARSER.parse(args);
        Topics topics = new Topics(v.get("federation"));
        List<String> clients = v.get("clients").isBlank() ? List.of() : List.of(v.get("clients").split("\\s*,\\s*"));
        clients.forEach(c -> Topics.requireId("client id", c));
        try (TopicProvisioner p = new TopicProvisioner(FlagParser.require(v, "bootstrap-servers", "127.0.0.1:9092"))) {
            p.ensureFederationTopics(topics, FlagParser.intValue(v, "model-partitions"));
            for (String c : clients) {
                p.ensureClientTopics(topics, c);
            }
            String prefix = "fedstream." + topics.federation() + ".";
            // Newly created topics reach the metadata a moment later; wait until our own are listed.
            TreeSet<String> listed = new TreeSet<>(p.listTopics());
            List<String> ours = new java.util.ArrayList<>(List.of(topics.late()));
            clients.forEach(c -> ours.add(topics.clientModel(c)));
            for (int i = 0; i < 50 && !listed.containsAll(ours); i++) {
                sleep();
                listed.clear();
                listed.addAll(p.listTopics());
            }
            listed.stream().filter(t -> t.startsWith(prefix)).forEach(System.out::println);
        }
        return 0;
    }
}

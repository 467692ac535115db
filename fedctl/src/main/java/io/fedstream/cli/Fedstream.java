package io.fedstream.cli;

import java.util.Arrays;
import java.util.List;

/** The {@code fedstream} command line: operator tools and the embedded launcher. */
public final class Fedstream {
    static final List<Command> COMMANDS = List.of(
            new DemoCommand(), new SidecarCommand(), new JobCommand(), new PartitionCommand(),
            new InitModelCommand(), new TopicsCommand(), new BenchCommand());

    private Fedstream() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            System.out.println(usage());
            return args.length == 0 ? 2 : 0;
        }
        Command command = COMMANDS.stream().filter(c -> c.name().equals(args[0])).findFirst().orElse(null);
        if (command == null) {
            System.err.println("error: unknown command '" + args[0] + "'");
            System.err.println();
            System.err.println(usage());
            return 2;
        }
        if (command instanceof DemoCommand && System.getProperty("fedstream.log.level") == null) {
            // The demo prints its own line per round; the components' INFO lines would repeat them.
            System.setProperty("fedstream.log.level", "WARN");
            if (System.getProperty("fedstream.root.log.level") == null) {
                System.setProperty("fedstream.root.log.level", "ERROR");
            }
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            System.out.println(command.help());
            return 0;
        }
        try {
            return command.run(rest);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("run 'fedstream " + command.name() + " --help' for the flags");
            return 2;
        } catch (Exception e) {
            System.err.println("error: " + command.name() + " failed: " + e);
            return 1;
        }
    }

    static String usage() {
        StringBuilder sb = new StringBuilder("fedstream: federated learning on Kafka and Flink\n\nUsage: fedstream <command> [flags]\n\nCommands:\n");
        for (Command c : COMMANDS) {
            sb.append(String.format("  %-12s %s%n", c.name(), c.summary()));
        }
        sb.append("\nRun 'fedstream <command> --help' for a command's flags.");
        return sb.toString();
    }
}

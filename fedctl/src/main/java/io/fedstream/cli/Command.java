package io.fedstream.cli;

/** One subcommand of {@code fedstream}. */
interface Command {
    String name();

    /** One line for the command list. */
    String summary();

    /** Full --help text. */
    String help();

    /** Runs the command; returns the process exit code. Bad arguments throw IllegalArgumentException. */
    int run(String[] args) throws Exception;
}

package io.fedstream.config;

/** One command-line flag: its name (without dashes), its default (null if required or optional) and its help. */
public record Flag(String name, String defaultValue, String help) {
    public static Flag of(String name, String defaultValue, String help) {
        return new Flag(name, defaultValue, help);
    }
}

package io.fedstream.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses {@code --name value} and {@code --name=value} flags against a fixed list, with defaults and optional
 * environment fallbacks ({@code PREFIX_NAME}, upper case, '-' as '_'; flags win over the environment). Every
 * mistake raises {@link IllegalArgumentException} with a message that says what was wrong and how to fix it.
 */
public final class FlagParser {
    private final List<Flag> flags;
    private final String envPrefix;

    public FlagParser(List<Flag> flags, String envPrefix) {
        this.flags = List.copyOf(flags);
        this.envPrefix = envPrefix;
    }

    public FlagParser(List<Flag> flags) {
        this(flags, null);
    }

    public List<Flag> flags() {
        return flags;
    }

    public String envName(Flag f) {
        return envPrefix + f.name().toUpperCase().replace('-', '_');
    }

    /** The values of every flag that is given or has a default. */
    public Map<String, String> parse(String[] args, Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        for (Flag f : flags) {
            String fromEnv = envPrefix == null ? null : env.get(envName(f));
            if (fromEnv != null && !fromEnv.isBlank()) {
                values.put(f.name(), fromEnv);
            } else if (f.defaultValue() != null) {
                values.put(f.name(), f.defaultValue());
            }
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "': flags look like --name value (see --help)");
            }
            String name = a.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (find(name) == null) {
                throw new IllegalArgumentException("unknown flag --" + name + " (see --help for the list)");
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new IllegalArgumentException("flag --" + name + " needs a value");
                }
                value = args[++i];
            }
            values.put(name, value);
        }
        return values;
    }

    public Map<String, String> parse(String[] args) {
        return parse(args, Map.of());
    }

    private Flag find(String name) {
        for (Flag f : flags) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        return null;
    }

    /** The flag table for --help. */
    public String help() {
        StringBuilder sb = new StringBuilder();
        for (Flag f : flags) {
            String dflt = f.defaultValue() == null || f.defaultValue().isEmpty() ? "" : " (default " + f.defaultValue() + ")";
            sb.append(String.format("  --%-20s %s%s%n", f.name(), f.help(), dflt));
        }
        if (envPrefix != null) {
            sb.append("Every flag can also be set in the environment as ").append(envPrefix).append("<FLAG>, e.g. ")
                    .append(envName(flags.get(0))).append("; flags win.\n");
        }
        return sb.toString();
    }

    public static String require(Map<String, String> v, String name, String example) {
        String s = v.get(name);
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required, e.g. --" + name + " " + example);
        }
        return s.trim();
    }

    public static int intValue(Map<String, String> v, String name) {
        try {
            return Integer.parseInt(v.get(name).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + v.get(name) + "'");
        }
    }

    public static long longValue(Map<String, String> v, String name) {
        try {
            return Long.parseLong(v.get(name).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + v.get(name) + "'");
        }
    }

    public static double doubleValue(Map<String, String> v, String name) {
        try {
            return Double.parseDouble(v.get(name).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number, got '" + v.get(name) + "'");
        }
    }

    public static boolean booleanValue(Map<String, String> v, String name) {
        String s = v.get(name).trim().toLowerCase();
        return switch (s) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new IllegalArgumentException("--" + name + " must be true or false, got '" + v.get(name) + "'");
        };
    }

    /** ISO-8601 (PT10S) or short forms like 10s, 5m, 1h. */
    public static Duration durationValue(Map<String, String> v, String name) {
        String s = v.get(name).trim();
        try {
            if (s.toLowerCase().endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).trim()));
            }
            return Duration.parse(s.toUpperCase().startsWith("P") ? s : "PT" + s);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--" + name + " must be a duration like 5ms, 30s, 5m or PT10M, got '" + s + "'");
        }
    }
}

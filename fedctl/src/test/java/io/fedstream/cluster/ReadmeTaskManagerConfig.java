package io.fedstream.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code config.yaml} entries the README gives a TaskManager for models of many megabytes, read from the
 * README itself, so that the session-cluster test runs a TaskManager exactly as a reader would set one up.
 */
final class ReadmeTaskManagerConfig {
    /** The sentence that introduces the block in the README. */
    static final String INTRODUCTION = "give the TaskManagers the JVM options and the network buffers";

    private ReadmeTaskManagerConfig() {}

    /** The entries of the README's block, in order, from the README above the working directory. */
    static Map<String, String> load() throws IOException {
        return parse(Files.readAllLines(readme()));
    }

    /** The entries of the first {@code yaml} block after {@link #INTRODUCTION}; comments and blank lines skipped. */
    static Map<String, String> parse(List<String> lines) {
        int i = 0;
        while (i < lines.size() && !lines.get(i).contains(INTRODUCTION)) {
            i++;
        }
        while (i < lines.size() && !lines.get(i).trim().equals("```yaml")) {
            i++;
        }
        if (i == lines.size()) {
            throw new IllegalStateException("no yaml block after '" + INTRODUCTION + "' in the README");
        }
        Map<String, String> entries = new LinkedHashMap<>();
        for (i++; i < lines.size() && !lines.get(i).trim().equals("```"); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(": ");
            if (colon < 0) {
                throw new IllegalStateException("not a 'key: value' line in the README's TaskManager block: " + line);
            }
            entries.put(line.substring(0, colon).trim(), line.substring(colon + 2).trim());
        }
        if (entries.isEmpty()) {
            throw new IllegalStateException("the README's TaskManager block has no entries");
        }
        return entries;
    }

    private static Path readme() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("README.md")) && Files.isRegularFile(d.resolve("fedstream"))) {
                return d.resolve("README.md");
            }
        }
        throw new IllegalStateException("no README.md of fedstream above " + Path.of("").toAbsolutePath());
    }
}

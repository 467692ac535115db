package io.fedstream.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds the newest completed checkpoint ({@code <dir>/<job-id>/chk-<n>/_metadata}) under a local checkpoint dir. */
public final class CheckpointLocator {
    private CheckpointLocator() {}

    public static Optional<Path> latest(String checkpointDir) {
        Path root = checkpointDir.startsWith("file:") ? Path.of(URI.create(checkpointDir)) : Path.of(checkpointDir);
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.walk(root, 3)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .map(Path::getParent)
                    .filter(p -> p.getFileName().toString().startsWith("chk-"))
                    .max(Comparator.comparingLong(CheckpointLocator::modified)
                            .thenComparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot search " + root + " for checkpoints", e);
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p.resolve("_metadata")).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    /** The path to restore from for {@code --restore-from}: a given path, or the newest checkpoint for "latest". */
    public static String resolve(JobSettings settings) {
        if (!settings.restoreFrom().equalsIgnoreCase("latest")) {
            return settings.restoreFrom();
        }
        if (settings.checkpointDir().isEmpty()) {
            throw new IllegalArgumentException("--restore-from latest needs --checkpoint-dir to search");
        }
        return latest(settings.checkpointDir()).map(p -> p.toUri().toString()).orElseThrow(() ->
                new IllegalArgumentException("no completed checkpoint under " + settings.checkpointDir()
                        + "; start without --restore-from"));
    }
}

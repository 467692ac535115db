package io.fedstream.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** Opening data files that may or may not be gzipped. */
final class DataFiles {
    private static final int BUFFER = 1 << 16;

    private DataFiles() {}

    /**
     * Opens a file for reading, decompressing it when it starts with the gzip magic bytes. The content decides,
     * not the name, so a file renamed without its {@code .gz} suffix (or the reverse) still reads correctly.
     */
    static InputStream openInput(Path file) throws IOException {
        BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), BUFFER);
        try {
            in.mark(2);
            int b0 = in.read();
            int b1 = in.read();
            in.reset();
            if (b0 == 0x1f && b1 == 0x8b) {
                return new BufferedInputStream(new GZIPInputStream(in, BUFFER), BUFFER);
            }
            return in;
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Opens a file for writing, gzipped iff its name ends in {@code .gz}; parent folders are created. */
    static OutputStream openOutput(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        OutputStream out = Files.newOutputStream(file);
        try {
            if (isGzipName(file)) {
                // Java writes a zero mtime in the gzip header, so equal content gives byte-identical files.
                return new BufferedOutputStream(new GZIPOutputStream(out, BUFFER), BUFFER);
            }
            return new BufferedOutputStream(out, BUFFER);
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    static boolean isGzipName(Path file) {
        return file.getFileName().toString().endsWith(".gz");
    }

    /** The file name without a trailing {@code .gz}. */
    static String baseName(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
    }

    /** {@code dir/name.gz} if it exists, else {@code dir/name} if it exists, else null. */
    static Path findPlainOrGz(Path dir, String name) {
        Path gz = dir.resolve(name + ".gz");
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        Path plain = dir.resolve(name);
        return Files.isRegularFile(plain) ? plain : null;
    }
}

package io.fedstream.data;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Writes a dataset as CSV rows {@code f1,...,fk,label} without a header, gzipped iff the file name ends in
 * {@code .gz}. Features are written as they are in memory (no scaling) in the shortest decimal form that parses
 * back to the same float, so {@link CsvReader} with divisor 1 restores them bit-exactly. The feature shape and
 * class count are not stored in the file; {@link SiloData} keeps them in {@code silo.properties}.
 */
public final class CsvWriter {
    private CsvWriter() {}

    public static void write(Path file, Dataset data) throws IOException {
        int fs = data.featureSize();
        try (OutputStream out = DataFiles.openOutput(file);
                Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16)) {
            StringBuilder row = new StringBuilder(fs * 8);
            for (int s = 0; s < data.size(); s++) {
                row.setLength(0);
                for (int j = 0; j < fs; j++) {
                    appendFloat(row, data.feature(s, j));
                    row.append(',');
                }
                row.append(data.label(s)).append('\n');
                w.write(row.toString());
            }
        }
    }

    static void appendFloat(StringBuilder sb, float v) {
        // Whole numbers without ".0" keep files small (pixel data is mostly 0); -0.0 must keep its sign.
        if (v == (int) v && Float.floatToRawIntBits(v) != Float.floatToRawIntBits(-0f)) {
            sb.append((int) v);
        } else {
            sb.append(Float.toString(v));
        }
    }
}

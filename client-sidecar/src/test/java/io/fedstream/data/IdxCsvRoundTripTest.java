package io.fedstream.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxCsvRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void idxRoundTripGzAndPlain() throws IOException {
        Dataset d = TestData.pixels(10, 7, new long[] {5, 3}, 1);
        assertTrue(IdxWriter.isExactlyRepresentable(d));
        for (String suffix : new String[] {".gz", ""}) {
            Path img = dir.resolve("x-images-idx3-ubyte" + suffix);
            Path lab = dir.resolve("x-labels-idx1-ubyte" + suffix);
            IdxWriter.write(img, lab, d);
            Dataset back = IdxReader.read(img, lab, 10);
            assertTrue(back.contentEquals(d), "round trip " + suffix);
            assertArrayEquals(new int[] {70, 5, 3}, IdxReader.readArray(img).dims());
        }
        // Plain files start with the IDX magic, gzipped ones with the gzip magic.
        byte[] plain = Files.readAllBytes(dir.resolve("x-images-idx3-ubyte"));
        assertArrayEquals(new byte[] {0, 0, 8, 3}, java.util.Arrays.copyOf(plain, 4));
        byte[] gz = Files.readAllBytes(dir.resolve("x-images-idx3-ubyte.gz"));
        assertEquals((byte) 0x1f, gz[0]);
        assertEquals((byte) 0x8b, gz[1]);
    }

    @Test
    void gzipIsDetectedByContentNotName() throws IOException {
        Dataset d = TestData.pixels(3, 4, new long[] {4}, 2);
        Path gz = dir.resolve("a.gz");
        IdxWriter.writeImages(gz, d);
        Path renamed = Files.move(gz, dir.resolve("images-without-suffix"));
        assertEquals(48, IdxReader.readArray(renamed).data().length);
    }

    @Test
    void idxPixelScaling() throws IOException {
        Path img = dir.resolve("i");
        Path lab = dir.resolve("l");
        IdxWriter.writeArray(img, new int[] {2, 2}, new byte[] {0, (byte) 255, (byte) 128, 1});
        IdxWriter.writeArray(lab, new int[] {2}, new byte[] {4, 9});
        Dataset d = IdxReader.read(img, lab, 0);
        assertArrayEquals(new float[] {0f, 1f, 128 / 255f, 1 / 255f}, d.features());
        assertEquals(10, d.numClasses(), "inferred from the largest label");
        assertArrayEquals(new long[] {2}, d.featureShape());
    }

    @Test
    void idxRejectsBadFiles() throws IOException {
        Path bad = dir.resolve("bad");
        Files.write(bad, new byte[] {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
        assertThrows(IOException.class, () -> IdxReader.readArray(bad), "float IDX is not supported");
        Path trunc = dir.resolve("trunc");
        Files.write(trunc, new byte[] {0, 0, 8, 1, 0, 0, 0, 5, 1, 2});
        assertThrows(IOException.class, () -> IdxReader.readArray(trunc));
        Dataset notPixels = new Dataset(new float[] {0.5f, 2f}, new int[] {0, 1}, new long[] {1}, 2);
        assertFalse(IdxWriter.isExactlyRepresentable(notPixels));
        assertThrows(IllegalArgumentException.class, () -> IdxWriter.writeImages(dir.resolve("x"), notPixels));
    }

    @Test
    void csvRoundTripIsBitExact() throws IOException {
        Random rng = new Random(3);
        int n = 50;
        float[] f = new float[n * 6];
        for (int i = 0; i < f.length; i++) {
            f[i] = switch (i % 5) {
                case 0 -> 0f;
                case 1 -> rng.nextInt(17) / 16f;
                case 2 -> (float) rng.nextGaussian() * 1e-7f;
                case 3 -> -0f;
                default -> Float.intBitsToFloat(rng.nextInt() & 0x7f7fffff) * (rng.nextBoolean() ? 1 : -1);
            };
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(4);
        }
        Dataset d = new Dataset(f, y, new long[] {2, 3}, 4);
        for (String name : new String[] {"d.csv.gz", "d.csv"}) {
            Path file = dir.resolve(name);
            CsvWriter.write(file, d);
            Dataset back = CsvReader.read(file, CsvReader.Options.defaults().withFeatureShape(2, 3).withNumClasses(4));
            assertTrue(back.contentEquals(d), name);
        }
    }

    @Test
    void csvOptionsHeaderAndScale() throws IOException {
        Path file = dir.resolve("t.csv");
        Files.writeString(file, "a,b,label\n# comment\n16,8,1.0\n\n0,4,0\n", StandardCharsets.UTF_8);
        Dataset d = CsvReader.read(file, CsvReader.Options.defaults().withDivisor(16f));
        assertEquals(2, d.size());
        assertArrayEquals(new float[] {1f, 0.5f, 0f, 0.25f}, d.features());
        assertArrayEquals(new int[] {1, 0}, d.labels());
        assertEquals(2, d.numClasses());
        assertArrayEquals(new long[] {2}, d.featureShape());

        Path ragged = dir.resolve("r.csv");
        Files.writeString(ragged, "1,2,0\n1,0\n");
        assertThrows(IOException.class, () -> CsvReader.read(ragged));
        Path fractional = dir.resolve("f.csv");
        Files.writeString(fractional, "1,2,0.5\n");
        assertThrows(IOException.class, () -> CsvReader.read(fractional));
    }
}

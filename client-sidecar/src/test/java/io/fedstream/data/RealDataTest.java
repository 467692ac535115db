package io.fedstream.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The datasets checked in under {@code data/} (see data/README.md for the expected figures). */
class RealDataTest {
    private static Path root;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findRoot() {
        root = DatasetLoader.defaultDataRoot();
        assertTrue(Files.isDirectory(root.resolve("mnist-10k")) && Files.isDirectory(root.resolve("digits")),
                "the repository's data folder was not found from " + Path.of("").toAbsolutePath());
    }

    @Test
    void digits() throws IOException {
        Dataset d = DatasetLoader.builtin("digits", root);
        assertEquals(1797, d.size());
        assertArrayEquals(new long[] {8, 8}, d.featureShape());
        assertEquals(10, d.numClasses());
        assertArrayEquals(new int[] {178, 182, 177, 183, 181, 182, 181, 179, 174, 180}, d.classCounts());
        float max = 0;
        float min = 1;
        for (float v : d.features()) {
            max = Math.max(max, v);
            min = Math.min(min, v);
            assertEquals(v * 16, Math.rint(v * 16), 0, "values are sixteenths");
        }
        assertEquals(1f, max);
        assertEquals(0f, min);
        // First row of the file: 0,0,5,13,9,1,0,0,... label 0.
        assertEquals(5 / 16f, d.feature(0, 2));
        assertEquals(13 / 16f, d.feature(0, 3));
        assertEquals(0, d.label(0));

        Dataset raw = DatasetLoader.load(root.resolve("digits/digits.csv.gz"));
        assertEquals(1797, raw.size());
        assertEquals(13f, raw.feature(0, 3), "load(Path) takes CSV values as written");
    }

    @Test
    void mnist10k() throws IOException {
        Dataset d = DatasetLoader.builtin("mnist-10k", root);
        assertEquals(10000, d.size());
        assertArrayEquals(new long[] {28, 28}, d.featureShape());
        assertEquals(10, d.numClasses());
        assertArrayEquals(new int[] {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}, d.classCounts());
        double sum = 0;
        for (float v : d.features()) {
            assertTrue(v >= 0f && v <= 1f);
            sum += v;
        }
        assertEquals(33.44, sum / d.features().length * 255, 0.01, "mean pixel from data/README.md");

        Dataset viaFolder = DatasetLoader.load(root.resolve("mnist-10k"));
        assertTrue(viaFolder.contentEquals(d));
        Dataset viaFile = DatasetLoader.load(root.resolve("mnist-10k/images-idx3-ubyte.gz"));
        assertTrue(viaFile.contentEquals(d));
        assertTrue(DatasetLoader.resolve("MNIST-10K", root).contentEquals(d));
    }

    @Test
    void mnistSilosRoundTripThroughIdx() throws IOException {
        Dataset d = DatasetLoader.builtin("mnist-10k", root);
        List<SiloData> silos = new DirichletPartitioner(5, 0.5, 0.2, 42).partition(d);
        int total = 0;
        for (SiloData s : silos) {
            total += s.totalSize();
        }
        assertEquals(10000, total);
        SiloData.writeAll(silos, tmp);
        assertTrue(Files.exists(tmp.resolve("silo-4/train-images-idx3-ubyte.gz")), "pixel data is written as IDX");
        List<SiloData> back = SiloData.loadAll(tmp);
        for (int i = 0; i < silos.size(); i++) {
            assertTrue(back.get(i).train().contentEquals(silos.get(i).train()));
            assertTrue(back.get(i).test().contentEquals(silos.get(i).test()));
        }
    }

    @Test
    void digitsSilosRoundTripThroughCsv() throws IOException {
        Dataset d = DatasetLoader.builtin("digits", root);
        List<SiloData> silos = new DirichletPartitioner(3, 0.5, 0.2, 1).partition(d);
        SiloData.writeAll(silos, tmp);
        assertTrue(Files.exists(tmp.resolve("silo-0/train.csv.gz")), "sixteenths are not IDX-exact, so CSV");
        List<SiloData> back = SiloData.loadAll(tmp);
        for (int i = 0; i < silos.size(); i++) {
            assertTrue(back.get(i).train().contentEquals(silos.get(i).train()));
            assertArrayEquals(new long[] {8, 8}, back.get(i).featureShape());
        }
    }

    @Test
    void unknownBuiltin() {
        assertThrows(IllegalArgumentException.class, () -> DatasetLoader.builtin("cifar", root));
    }
}

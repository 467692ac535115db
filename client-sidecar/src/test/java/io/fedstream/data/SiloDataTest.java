package io.fedstream.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SiloDataTest {
    @TempDir
    Path dir;

    @Test
    void idxSiloRoundTrip() throws IOException {
        Dataset all = TestData.pixels(10, 6, new long[] {28, 28}, 5);
        // Only classes 0..2 in this silo: the class count must come from silo.properties, not the labels.
        SiloData silo = new SiloData(all.subset(new int[] {0, 7, 13}), all.subset(new int[] {1, 14}));
        Path s = dir.resolve("s");
        silo.write(s);
        assertTrue(Files.exists(s.resolve("train-images-idx3-ubyte.gz")));
        assertTrue(Files.exists(s.resolve("test-labels-idx1-ubyte.gz")));
        assertTrue(Files.exists(s.resolve(SiloData.PROPERTIES)));
        SiloData back = SiloData.load(s);
        assertTrue(back.train().contentEquals(silo.train()));
        assertTrue(back.test().contentEquals(silo.test()));
        assertEquals(10, back.numClasses());
    }

    @Test
    void csvSiloRoundTripForNonPixelData() throws IOException {
        Dataset d = new Dataset(new float[] {0.0625f, 1f, 0.3f, -2f, 7f, 0f}, new int[] {0, 3, 1}, new long[] {2}, 5);
        SiloData silo = new SiloData(d.subset(new int[] {0, 1}), d.subset(new int[] {2}));
        Path s = dir.resolve("c");
        silo.write(s);
        assertTrue(Files.exists(s.resolve("train.csv.gz")));
        assertFalse(Files.exists(s.resolve("train-images-idx3-ubyte.gz")));
        SiloData back = SiloData.load(s);
        assertTrue(back.train().contentEquals(silo.train()));
        assertTrue(back.test().contentEquals(silo.test()));
        assertEquals(5, back.numClasses());
    }

    @Test
    void rewritingInAnotherFormatLeavesNoAmbiguity() throws IOException {
        Dataset d = TestData.pixels(3, 4, new long[] {2, 2}, 9);
        SiloData silo = new SiloData(d.subset(new int[] {0, 4, 8, 9}), d.subset(new int[] {1, 5}));
        Path s = dir.resolve("x");
        silo.write(s, SiloData.Format.CSV);
        silo.write(s, SiloData.Format.IDX);
        assertFalse(Files.exists(s.resolve("train.csv.gz")));
        Files.delete(s.resolve(SiloData.PROPERTIES));
        // Without properties: format from the files, shape from the IDX header, classes from the labels.
        SiloData back = SiloData.load(s);
        assertArrayEquals(new long[] {2, 2}, back.featureShape());
        assertEquals(3, back.numClasses());
        assertTrue(back.train().contentEquals(silo.train()));
        assertEquals(9, SiloData.load(s, 9).numClasses());
    }

    @Test
    void writeAllLoadAll() throws IOException {
        Dataset d = TestData.pixels(4, 30, new long[] {3, 3}, 4);
        List<SiloData> silos = new DirichletPartitioner(3, 1.0, 0.25, 8).partition(d);
        SiloData.writeAll(silos, dir);
        assertTrue(Files.isDirectory(dir.resolve("silo-2")));
        List<SiloData> back = SiloData.loadAll(dir);
        assertEquals(3, back.size());
        for (int i = 0; i < 3; i++) {
            assertTrue(back.get(i).train().contentEquals(silos.get(i).train()));
            assertTrue(back.get(i).test().contentEquals(silos.get(i).test()));
        }
    }

    @Test
    void rejectsNonSiloFolders() throws IOException {
        assertThrows(IOException.class, () -> SiloData.load(dir.resolve("missing")));
        Files.createDirectories(dir.resolve("empty"));
        assertThrows(IOException.class, () -> SiloData.load(dir.resolve("empty")));
        assertThrows(IOException.class, () -> SiloData.loadAll(dir.resolve("empty")));
    }
}

package io.fedstream.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DatasetTest {
    private final Dataset data = new Dataset(new float[] {1, 2, 3, 4, 5, 6}, new int[] {0, 2, 1}, new long[] {2}, 3);

    @Test
    void accessors() {
        assertEquals(3, data.size());
        assertEquals(2, data.featureSize());
        assertArrayEquals(new long[] {2}, data.featureShape());
        assertEquals(4f, data.feature(1, 1));
        assertArrayEquals(new int[] {1, 1, 1}, data.classCounts());
        float[] dst = new float[4];
        data.gatherFeatures(new int[] {2, 0}, 0, 2, dst);
        assertArrayEquals(new float[] {5, 6, 1, 2}, dst);
    }

    @Test
    void subsetConcatReshape() {
        Dataset s = data.subset(new int[] {2, 2, 0});
        assertArrayEquals(new int[] {1, 1, 0}, s.labels());
        assertArrayEquals(new float[] {5, 6, 5, 6, 1, 2}, s.features());
        Dataset c = Dataset.concat(List.of(data, s));
        assertEquals(6, c.size());
        assertEquals(1, c.label(3));
        assertTrue(c.subset(new int[] {0, 1, 2}).contentEquals(data));
        Dataset r = new Dataset(new float[8], new int[] {0, 1}, new long[] {4}, 2).reshape(2, 2);
        assertArrayEquals(new long[] {2, 2}, r.featureShape());
        assertThrows(IllegalArgumentException.class, () -> data.reshape(3));
    }

    @Test
    void validates() {
        assertThrows(IllegalArgumentException.class, () -> new Dataset(new float[5], new int[] {0, 1}, new long[] {2}, 2));
        assertThrows(IllegalArgumentException.class, () -> new Dataset(new float[4], new int[] {0, 2}, new long[] {2}, 2));
        assertThrows(IllegalArgumentException.class, () -> new Dataset(new float[4], new int[] {0, 1}, new long[] {2}, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> data.subset(new int[] {3}));
    }
}

package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ArrayPoolTest {

    @Test
    void aReleasedSumsArraysComeBackAsAnEmptySumThatGivesTheSameResultAsANewOne() {
        ArrayPool pool = new ArrayPool(1 << 20);
        float[] delta = {1.5f, -2.25f, 3e-8f, 7f};
        WeightedSum first = pool.sum(delta.length);
        first.add(delta, 3);
        double[] hi = first.hi;
        double[] lo = first.lo;
        pool.release(first);

        WeightedSum again = pool.sum(delta.length);
        // The same arrays, so nothing new was allocated; they still hold the earlier round's sum, which must not
        // count: the sum is empty, and its first update overwrites them.
        assertSame(hi, again.hi);
        assertSame(lo, again.lo);
        assertEquals(4.5, again.hi[0]);
        assertEquals(0, again.totalWeight);
        assertEquals(0.0, again.mean(0, 1.0));

        again.add(delta, 5);
        WeightedSum fresh = new WeightedSum(delta.length);
        fresh.add(delta, 5);
        assertArrayEquals(fresh.hi, again.hi);
        assertArrayEquals(fresh.lo, again.lo);
        assertEquals(0, pool.bytes());
    }

    @Test
    void arraysAreHandedOutOnlyForTheirOwnLength() {
        ArrayPool pool = new ArrayPool(1 << 20);
        float[] four = new float[4];
        pool.release(four);
        assertEquals(3, pool.floats(3).length);
        assertSame(four, pool.floats(4));
        assertNotSame(four, pool.floats(4));
    }

    @Test
    void keepsNoMoreThanItsCap() {
        // Room for one array of 16 doubles (128 bytes), not two.
        ArrayPool pool = new ArrayPool(200);
        double[] a = new double[16];
        double[] b = new double[16];
        pool.release(a);
        pool.release(b);
        assertEquals(128, pool.bytes());
        assertSame(a, pool.doubles(16));
        assertNotSame(b, pool.doubles(16));
        assertEquals(0, pool.bytes());
    }
}

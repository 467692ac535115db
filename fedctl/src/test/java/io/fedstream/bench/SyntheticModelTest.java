package io.fedstream.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class SyntheticModelTest {

    @Test
    void aDeltaWrittenIntoAnOldArrayEqualsAFreshOne() {
        float[] fresh = SyntheticModel.delta(42, 3, "client-1", 1000, 0.01f);
        float[] old = SyntheticModel.delta(42, 2, "client-1", 1000, 0.01f);
        float[] reused = SyntheticModel.delta(42, 3, "client-1", 1000, 0.01f, old);
        assertSame(old, reused);
        assertArrayEquals(fresh, reused);
        // Another length gets a new array; the given one is left alone.
        float[] other = new float[999];
        float[] got = SyntheticModel.delta(42, 3, "client-1", 1000, 0.01f, other);
        assertNotSame(other, got);
        assertArrayEquals(fresh, got);
        assertArrayEquals(new float[999], other);
    }
}

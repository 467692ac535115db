package io.fedstream.chunk;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/** Model vectors and comparisons shared by the chunk tests. */
final class ChunkTestSupport {
    private ChunkTestSupport() {}

    /**
     * A vector of plausible weights, sprinkled with the float values a byte-level codec is most likely to
     * get wrong: NaN with a payload, both zeros, infinities, subnormals and the extremes.
     */
    static float[] weights(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.05);
        }
        float[] special = {Float.intBitsToFloat(0x7fc0_1234), -0.0f, 0.0f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_NORMAL / 3, Float.MAX_VALUE, -Float.MAX_VALUE};
        for (int i = 0; i < special.length && i < n; i++) {
            // Spread them out so they land in different chunks of big vectors, and always hit index 0 and n-1.
            int at = i == 0 ? 0 : i == 1 ? n - 1 : r.nextInt(n);
            v[at] = special[i];
        }
        return v;
    }

    /** Bit-exact equality (NaN payloads and the sign of zero included), naming the first difference. */
    static void assertBitExact(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            fail("length " + actual.length + ", expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            int e = Float.floatToRawIntBits(expected[i]);
            int a = Float.floatToRawIntBits(actual[i]);
            if (e != a) {
                fail("float " + i + " is " + actual[i] + " (0x" + Integer.toHexString(a) + "), expected "
                        + expected[i] + " (0x" + Integer.toHexString(e) + ")");
            }
        }
    }

    static List<Integer> shuffled(int n, long seed) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        return order;
    }
}

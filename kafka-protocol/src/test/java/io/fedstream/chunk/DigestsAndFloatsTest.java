package io.fedstream.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class DigestsAndFloatsTest {
    @Test
    void sha256MatchesTheStandardTestVector() {
        // FIPS 180-2 example "abc"; other implementations (the Python tooling) must produce the same hex.
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                Digests.sha256Hex("abc".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void bufferDigestCoversOnlyTheRemainingBytesAndLeavesThePosition() {
        ByteBuffer b = ByteBuffer.wrap("xxabcyy".getBytes(StandardCharsets.US_ASCII), 2, 3);
        assertEquals(Digests.sha256Hex("abc".getBytes(StandardCharsets.US_ASCII)), Digests.sha256Hex(b));
        assertEquals(2, b.position(), "hashing must not consume the chunk's buffer");
        assertEquals(5, b.limit());
    }

    @Test
    void compositeIsOrderAndFingerprintSensitive() {
        String ab = Digests.composite("fp", List.of("a", "b"));
        assertNotEquals(ab, Digests.composite("fp", List.of("b", "a")));
        assertNotEquals(ab, Digests.composite("fp2", List.of("a", "b")));
        // The separator keeps chunk boundaries: ["ab"] is not ["a", "b"].
        assertNotEquals(ab, Digests.composite("fp", List.of("ab")));
        assertEquals(ab, Digests.composite("fp", List.of("a", "b")));
        assertEquals(64, ab.length());
    }

    @Test
    void floatsAreLittleEndianIeee754() {
        // 1.0f = 0x3F800000, -2.5f = 0xC0200000; least significant byte first on the wire.
        byte[] bytes = Floats.toBytes(new float[] {9f, 1.0f, -2.5f}, 1, 2);
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0x20, (byte) 0xC0}, bytes);
        float[] back = Floats.fromBytes(ByteBuffer.wrap(bytes));
        assertArrayEquals(new float[] {1.0f, -2.5f}, back);
    }

    @Test
    void readIntoPlacesFloatsAtTheOffset() {
        float[] dst = new float[5];
        Floats.readInto(ByteBuffer.wrap(Floats.toBytes(new float[] {7f, 8f}, 0, 2)), dst, 2);
        assertArrayEquals(new float[] {0f, 0f, 7f, 8f, 0f}, dst);
    }

    @Test
    void partialFloatIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Floats.fromBytes(ByteBuffer.wrap(new byte[7])));
    }
}

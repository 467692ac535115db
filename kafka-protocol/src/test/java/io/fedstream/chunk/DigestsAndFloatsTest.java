package io.fedstream.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void updateChunkDigestIsTheCrc32cOfTheRemainingBytes() {
        // The CRC-32C check value (RFC 3720, and every CRC catalogue): "123456789" -> e3069283.
        assertEquals("crc32c:e3069283", Digests.updateChunkDigest("123456789".getBytes(StandardCharsets.US_ASCII)));
        ByteBuffer b = ByteBuffer.wrap("xx123456789yy".getBytes(StandardCharsets.US_ASCII), 2, 9);
        assertEquals("crc32c:e3069283", Digests.updateChunkDigest(b));
        assertEquals(2, b.position(), "the checksum must not consume the chunk's buffer");
        assertEquals(11, b.limit());
    }

    @Test
    void anUpdateChunkMatchesItsChecksumOrTheSha256OfOlderClientsAndNothingElse() {
        ByteBuffer data = ByteBuffer.wrap(Floats.toBytes(new float[] {1f, -2f, 3.5f}, 0, 3));
        assertTrue(Digests.matchesUpdateChunk(data, Digests.updateChunkDigest(data)));
        assertTrue(Digests.matchesUpdateChunk(data, Digests.sha256Hex(data)));

        assertFalse(Digests.matchesUpdateChunk(oneBitFlipped(data), Digests.updateChunkDigest(data)));
        assertFalse(Digests.matchesUpdateChunk(oneBitFlipped(data), Digests.sha256Hex(data)));
        assertFalse(Digests.matchesUpdateChunk(data, "CRC32C:" + Digests.updateChunkDigest(data).substring(7)));
        assertFalse(Digests.matchesUpdateChunk(data, Digests.sha256Hex(data).substring(1)));
        assertFalse(Digests.matchesUpdateChunk(data, ""));
    }

    @Test
    void aModelChunkMatchesOnlyTheSha256OfItsBytes() {
        ByteBuffer data = ByteBuffer.wrap(Floats.toBytes(new float[] {1f, -2f, 3.5f}, 0, 3));
        assertTrue(Digests.matchesModelChunk(data, Digests.sha256Hex(data)));
        // Models are verified by clients with SHA-256: an update's checksum is no model digest.
        assertFalse(Digests.matchesModelChunk(data, Digests.updateChunkDigest(data)));
        assertFalse(Digests.matchesModelChunk(oneBitFlipped(data), Digests.sha256Hex(data)));
        assertEquals(0, data.position(), "the check must not consume the chunk's buffer");
    }

    /** A copy of the chunk's bytes with one bit of its second value changed. */
    private static ByteBuffer oneBitFlipped(ByteBuffer data) {
        byte[] flipped = Floats.bytesOf(data);
        flipped[5] ^= 1;
        return ByteBuffer.wrap(flipped);
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

    /** Index of the first non-finite value of {@code bits} by the plain definition, or -1. */
    private static int firstNonFiniteByDefinition(int[] bits) {
        for (int i = 0; i < bits.length; i++) {
            if (!Float.isFinite(Float.intBitsToFloat(bits[i]))) {
                return i;
            }
        }
        return -1;
    }

    /** {@code bits} as little-endian float32 bytes, after {@code lead} bytes of padding. */
    private static byte[] wire(int lead, int[] bits) {
        ByteBuffer b = ByteBuffer.allocate(lead + 4 * bits.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < bits.length; i++) {
            b.putInt(lead + 4 * i, bits[i]);
        }
        return b.array();
    }

    @Test
    void firstNonFiniteAgreesWithFloatIsFiniteForEveryExponentAndSign() {
        // Each exponent (0 to 255) with both signs and mantissas from zero (infinities) through quiet and signalling
        // NaN payloads, alone among finite values, at every position of a short vector and behind padding of 0-3
        // bytes (a chunk's values start anywhere in its Kafka record).
        int[] mantissas = {0, 1, 0x3fffff, 0x400000, 0x7fffff};
        for (int exponent = 0; exponent < 256; exponent++) {
            for (int sign = 0; sign < 2; sign++) {
                for (int mantissa : mantissas) {
                    int probe = sign << 31 | exponent << 23 | mantissa;
                    for (int at = 0; at < 5; at++) {
                        int[] bits = new int[5];
                        java.util.Arrays.fill(bits, Float.floatToRawIntBits(-Float.MAX_VALUE));
                        bits[at] = probe;
                        int expected = firstNonFiniteByDefinition(bits);
                        for (int lead = 0; lead < 4; lead++) {
                            assertEquals(expected, Floats.firstNonFinite(wire(lead, bits), lead, bits.length),
                                    Integer.toHexString(probe) + " at " + at + " behind " + lead + " bytes");
                        }
                    }
                }
            }
        }
    }

    @Test
    void firstNonFiniteFindsTheFirstOfSeveralInRandomVectors() {
        java.util.Random random = new java.util.Random(42);
        for (int trial = 0; trial < 2_000; trial++) {
            int[] bits = new int[1 + random.nextInt(300)];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = random.nextInt();
                if (random.nextInt(200) == 0) {
                    bits[i] |= 0x7f800000;
                } else if ((bits[i] & 0x7f800000) == 0x7f800000) {
                    bits[i] ^= 0x00800000;
                }
            }
            assertEquals(firstNonFiniteByDefinition(bits), Floats.firstNonFinite(ByteBuffer.wrap(wire(0, bits))), "trial " + trial);
        }
    }

    @Test
    void firstNonFiniteReadsOnlyTheBufferItIsGiven() {
        int[] bits = {Float.floatToRawIntBits(Float.NaN), Float.floatToRawIntBits(1f), Float.floatToRawIntBits(2f),
                Float.floatToRawIntBits(Float.NEGATIVE_INFINITY), Float.floatToRawIntBits(3f)};
        byte[] bytes = wire(0, bits);
        // Values 1-2 of the array, through a slice, a read-only view (no accessible array) and a direct buffer.
        ByteBuffer middle = ByteBuffer.wrap(bytes, 4, 8).slice();
        assertEquals(-1, Floats.firstNonFinite(middle));
        assertEquals(-1, Floats.firstNonFinite(middle.asReadOnlyBuffer()));
        ByteBuffer fromTwo = ByteBuffer.wrap(bytes, 4, 16);
        assertEquals(2, Floats.firstNonFinite(fromTwo));
        assertEquals(2, Floats.firstNonFinite(fromTwo.asReadOnlyBuffer()));
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        assertEquals(0, Floats.firstNonFinite(direct));
        assertEquals(0, direct.position(), "the check must not consume the buffer");
        assertEquals(-1, Floats.firstNonFinite(bytes, 4, 2));
        assertEquals(-1, Floats.firstNonFinite(bytes, 0, 0));
    }
}

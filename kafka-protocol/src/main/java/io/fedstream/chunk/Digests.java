package io.fedstream.chunk;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Digests of models and updates. A model chunk's digest is the SHA-256 of its bytes; an update chunk's is a
 * CRC32C checksum of its bytes ({@link #updateChunkDigest}); a whole model's (or update's) digest is the SHA-256
 * of the spec fingerprint and the chunk digests in order. Composing from chunk digests lets parallel chunk
 * aggregators each hash their own share while the digest still pins every byte of the model.
 *
 * <p>Why updates get a checksum and not SHA-256: the job checks every byte of every update, K times the model
 * a round, and SHA-256 runs at about 2 GB/s a core even with the CPU's SHA instructions, CRC32C at 40. The
 * check guards against corruption and against a client whose data and digest disagree (a bug); whoever can
 * write to a client's updates topic (with ACLs on, that client alone) chooses both the bytes and their digest,
 * whatever the function. Model digests stay SHA-256: every client trusts them, and replay compares them.
 */
public final class Digests {
    private Digests() {}

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    public static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    public static String sha256Hex(ByteBuffer bytes) {
        MessageDigest md = sha256();
        md.update(bytes.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    /** What starts an update chunk's digest: the checksum function's name. */
    public static final String CRC32C_PREFIX = "crc32c:";

    /** An update chunk's digest: {@code crc32c:} and the CRC32C of its bytes in 8 hex digits. */
    public static String updateChunkDigest(ByteBuffer bytes) {
        return CRC32C_PREFIX + HexFormat.of().toHexDigits(crc32c(bytes));
    }

    /** The CRC32C (Castagnoli) of the buffer's remaining bytes; its position is left as it is. */
    public static int crc32c(ByteBuffer bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.duplicate());
        return (int) crc.getValue();
    }

    public static String updateChunkDigest(byte[] bytes) {
        return updateChunkDigest(ByteBuffer.wrap(bytes));
    }

    /**
     * Whether an update chunk's bytes match its digest: a {@code crc32c:} checksum, or the hex SHA-256 that
     * clients wrote before (so retained updates of older clients still replay).
     */
    public static boolean matchesUpdateChunk(ByteBuffer bytes, String digest) {
        if (digest.startsWith(CRC32C_PREFIX)) {
            return updateChunkDigest(bytes).equals(digest);
        }
        return digest.length() == 64 && matchesModelChunk(bytes, digest);
    }

    /** Whether a model chunk's bytes hash to its digest, the hex SHA-256 that clients verify models by. */
    public static boolean matchesModelChunk(ByteBuffer bytes, String digest) {
        return sha256Hex(bytes).equals(digest);
    }

    /** Digest of a whole model or update from its spec fingerprint and its chunk digests in chunk order. */
    public static String composite(String specFingerprint, List<String> chunkDigests) {
        MessageDigest md = sha256();
        md.update(specFingerprint.getBytes(StandardCharsets.UTF_8));
        for (String d : chunkDigests) {
            md.update((byte) '\n');
            md.update(d.getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest());
    }
}

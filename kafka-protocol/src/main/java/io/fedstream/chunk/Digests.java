package io.fedstream.chunk;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * SHA-256 digests. A chunk's digest covers its bytes; a whole model's (or update's) digest covers the spec
 * fingerprint and the chunk digests in order. Composing from chunk digests lets parallel chunk aggregators
 * each hash their own share while the digest still pins every byte of the model.
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

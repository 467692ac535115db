package io.fedstream.chunk;

import io.fedstream.avro.ModelChunk;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reassembles one model version from its chunks, in any order. Each chunk's floats are copied straight into
 * the result vector, so assembling holds one copy of the model plus the chunk being read. Every chunk is
 * checked against its own digest and the layout; the whole model against the expected model digest. It
 * reassembles a client's update the same way ({@link #forUpdate}), whose chunks carry update chunk digests.
 */
public final class ModelAssembler {
    private final int version;
    private final String specFingerprint;
    private final float[] params;
    /** Learned from the first accepted chunk; -1 until then. */
    private long chunkFloats = -1;
    private final String[] digests;
    /** Chunks carry update chunk digests ({@link Digests#updateChunkDigest}) instead of SHA-256. */
    private final boolean update;
    private int received;

    public ModelAssembler(int version, String specFingerprint, long totalFloats, int chunkCount) {
        this(version, specFingerprint, totalFloats, chunkCount, null);
    }

    /**
     * As above, assembling into {@code into} if it has exactly {@code totalFloats} values (else into a new array):
     * a client that verifies one version after another can keep one model-sized array instead of allocating a new
     * one per version. Its old values are overwritten chunk by chunk; only a complete model is all new.
     */
    public ModelAssembler(int version, String specFingerprint, long totalFloats, int chunkCount, float[] into) {
        this(version, specFingerprint, totalFloats, chunkCount, into, false);
    }

    private ModelAssembler(int version, String specFingerprint, long totalFloats, int chunkCount, float[] into,
                           boolean update) {
        if (totalFloats <= 0 || totalFloats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("cannot assemble a model of " + totalFloats + " floats in one array");
        }
        if (chunkCount <= 0 || chunkCount > totalFloats) {
            throw new IllegalArgumentException("cannot cut " + totalFloats + " floats into " + chunkCount + " chunks");
        }
        this.version = version;
        this.specFingerprint = specFingerprint;
        this.params = into != null && into.length == totalFloats ? into : new float[(int) totalFloats];
        this.digests = new String[chunkCount];
        this.update = update;
    }

    /** Reassembles a client's update of {@code round}: a delta vector whose digest is the update digest. */
    public static ModelAssembler forUpdate(int round, String specFingerprint, long totalFloats, int chunkCount) {
        return new ModelAssembler(round, specFingerprint, totalFloats, chunkCount, null, true);
    }

    public static ModelAssembler forFirst(ModelChunk first) {
        return forFirst(first, null);
    }

    /** As {@link #forFirst(ModelChunk)}, into {@code into} if it fits (see the constructor). */
    public static ModelAssembler forFirst(ModelChunk first, float[] into) {
        return new ModelAssembler(first.getVersion(), first.getSpecFingerprint(), first.getTotalFloats(),
                first.getChunkCount(), into);
    }

    public int version() {
        return version;
    }

    public ChunkVerdict offer(ModelChunk c) {
        if (c.getVersion() != version || !c.getSpecFingerprint().equals(specFingerprint)) {
            return ChunkVerdict.WRONG_MODEL;
        }
        return offer(c.getChunkIndex(), c.getChunkCount(), c.getOffset(), c.getTotalFloats(), c.getData(), c.getChunkDigest());
    }

    /** Offers one chunk given its layout fields, its little-endian float bytes and its claimed digest. */
    public ChunkVerdict offer(int index, int chunkCount, long offset, long totalFloats, ByteBuffer data, String digest) {
        if (chunkCount != digests.length || totalFloats != params.length || index < 0 || index >= chunkCount) {
            return ChunkVerdict.WRONG_SHAPE;
        }
        int floats = data.remaining() / Float.BYTES;
        if (data.remaining() % Float.BYTES != 0 || floats == 0 || offset < 0 || offset + floats > params.length
                || !fitsLayout(index, offset, floats)) {
            return ChunkVerdict.WRONG_SHAPE;
        }
        if (!(update ? Digests.matchesUpdateChunk(data, digest) : Digests.matchesModelChunk(data, digest))) {
            return ChunkVerdict.WRONG_DIGEST;
        }
        if (digests[index] != null) {
            return digests[index].equals(digest) ? ChunkVerdict.DUPLICATE : ChunkVerdict.CONFLICT;
        }
        Floats.readInto(data, params, (int) offset);
        if (chunkCount > 1 && index < chunkCount - 1) {
            chunkFloats = floats;
        } else if (index > 0) {
            chunkFloats = offset / index;
        }
        digests[index] = digest;
        received++;
        return ChunkVerdict.ACCEPTED;
    }

    /**
     * Chunks are equal-sized except the last, which ends at the model's end. The chunk size is not on the wire
     * as such: each chunk implies it, and all chunks of one model must imply the same size.
     */
    private boolean fitsLayout(int index, long offset, int floats) {
        int last = digests.length - 1;
        long implied;
        if (index < last) {
            implied = floats;
            if (offset != (long) index * floats) {
                return false;
            }
        } else if (index == 0) {
            return offset == 0 && floats == params.length;
        } else {
            if (offset % index != 0 || offset + floats != params.length) {
                return false;
            }
            implied = offset / index;
            if (floats > implied) {
                return false;
            }
        }
        if (implied * last >= params.length || implied * digests.length < params.length) {
            return false;
        }
        return chunkFloats < 0 || chunkFloats == implied;
    }

    public boolean isComplete() {
        return received == digests.length;
    }

    public List<Integer> missing() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < digests.length; i++) {
            if (digests[i] == null) {
                out.add(i);
            }
        }
        return out;
    }

    public String digest() throws ModelIntegrityException {
        if (!isComplete()) {
            throw new ModelIntegrityException("model version " + version + " is missing chunks " + missing());
        }
        return Digests.composite(specFingerprint, Arrays.asList(digests));
    }

    /** The model, after checking that it is complete and hashes to {@code expectedDigest}. */
    public float[] assemble(String expectedDigest) throws ModelIntegrityException {
        String actual = digest();
        if (!actual.equals(expectedDigest)) {
            throw new ModelIntegrityException("model version " + version + " has digest " + actual
                    + " but " + expectedDigest + " was expected");
        }
        return params;
    }
}

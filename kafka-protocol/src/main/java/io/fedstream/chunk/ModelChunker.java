package io.fedstream.chunk;

import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.TensorShape;
import io.fedstream.protocol.model.ModelSpec;
import io.fedstream.protocol.model.TensorSpec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a global model into {@link ModelChunk} records one at a time, so a sender never holds more than the
 * model and one chunk's bytes. The manifest is available once every chunk has been produced.
 */
public final class ModelChunker {
    private final String federation;
    private final int version;
    private final ModelSpec spec;
    private final String fingerprint;
    private final float[] params;
    private final ChunkLayout layout;
    private final String[] chunkDigests;

    public ModelChunker(String federation, int version, ModelSpec spec, float[] params, int chunkFloats) {
        if (spec.totalFloats() != params.length) {
            throw new IllegalArgumentException("model has " + params.length + " floats but its spec says " + spec.totalFloats());
        }
        this.federation = federation;
        this.version = version;
        this.spec = spec;
        this.fingerprint = spec.fingerprint();
        this.params = params;
        this.layout = new ChunkLayout(params.length, chunkFloats);
        this.chunkDigests = new String[layout.chunkCount()];
    }

    public ChunkLayout layout() {
        return layout;
    }

    public ModelChunk chunk(int index) {
        int off = (int) layout.offset(index);
        byte[] data = Floats.toBytes(params, off, layout.length(index));
        String digest = Digests.sha256Hex(data);
        chunkDigests[index] = digest;
        return ModelChunk.newBuilder()
                .setFederation(federation).setVersion(version)
                .setChunkIndex(index).setChunkCount(layout.chunkCount())
                .setOffset(off).setTotalFloats(params.length)
                .setSpecFingerprint(fingerprint)
                .setData(ByteBuffer.wrap(data)).setChunkDigest(digest)
                .build();
    }

    /** Every chunk, in order. For big models prefer calling {@link #chunk(int)} while sending. */
    public List<ModelChunk> all() {
        List<ModelChunk> out = new ArrayList<>(layout.chunkCount());
        for (int i = 0; i < layout.chunkCount(); i++) {
            out.add(chunk(i));
        }
        return out;
    }

    /** The model digest; requires every chunk to have been produced. */
    public String digest() {
        for (int i = 0; i < chunkDigests.length; i++) {
            if (chunkDigests[i] == null) {
                throw new IllegalStateException("chunk " + i + " has not been produced yet");
            }
        }
        return Digests.composite(fingerprint, Arrays.asList(chunkDigests));
    }

    public ModelManifest manifest(int producedByRound, long nowMs) {
        return manifest(federation, version, producedByRound, spec, layout, digest(), nowMs);
    }

    public static ModelManifest manifest(String federation, int version, int producedByRound, ModelSpec spec,
                                         ChunkLayout layout, String digest, long nowMs) {
        List<TensorShape> tensors = new ArrayList<>();
        for (TensorSpec t : spec.tensors()) {
            List<Long> shape = new ArrayList<>();
            for (long d : t.shape()) {
                shape.add(d);
            }
            tensors.add(new TensorShape(t.name(), shape));
        }
        return ModelManifest.newBuilder()
                .setFederation(federation).setVersion(version).setProducedByRound(producedByRound)
                .setTensors(tensors).setSpecFingerprint(spec.fingerprint())
                .setTotalFloats(layout.totalFloats()).setChunkCount(layout.chunkCount())
                .setChunkFloats(layout.chunkFloats()).setDigest(digest).setCreatedAtMs(nowMs)
                .build();
    }

    public static ModelSpec specOf(ModelManifest manifest) {
        List<TensorSpec> tensors = new ArrayList<>();
        for (TensorShape t : manifest.getTensors()) {
            tensors.add(new TensorSpec(t.getName(), t.getShape().stream().mapToLong(Long::longValue).toArray()));
        }
        return new ModelSpec(tensors);
    }
}

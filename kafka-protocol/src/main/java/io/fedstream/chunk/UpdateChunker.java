package io.fedstream.chunk;

import io.fedstream.avro.UpdateChunk;
import java.nio.ByteBuffer;
import java.util.Arrays;

/** Cuts a client's update (delta vector) into {@link UpdateChunk} records one at a time. */
public final class UpdateChunker {
    private final String federation;
    private final int round;
    private final String clientId;
    private final long sampleCount;
    private final String baseModelDigest;
    private final String specFingerprint;
    private final float[] delta;
    private final ChunkLayout layout;
    private final String[] chunkDigests;

    public UpdateChunker(String federation, int round, String clientId, long sampleCount, String baseModelDigest,
                         String specFingerprint, float[] delta, int chunkFloats) {
        this.federation = federation;
        this.round = round;
        this.clientId = clientId;
        this.sampleCount = sampleCount;
        this.baseModelDigest = baseModelDigest;
        this.specFingerprint = specFingerprint;
        this.delta = delta;
        this.layout = new ChunkLayout(delta.length, chunkFloats);
        this.chunkDigests = new String[layout.chunkCount()];
    }

    public ChunkLayout layout() {
        return layout;
    }

    public UpdateChunk chunk(int index) {
        int off = (int) layout.offset(index);
        byte[] data = Floats.toBytes(delta, off, layout.length(index));
        String digest = Digests.updateChunkDigest(data);
        chunkDigests[index] = digest;
        return UpdateChunk.newBuilder()
                .setFederation(federation).setRound(round).setClientId(clientId)
                .setChunkIndex(index).setChunkCount(layout.chunkCount()).setOffset(off)
                .setSampleCount(sampleCount).setBaseModelDigest(baseModelDigest)
                .setData(ByteBuffer.wrap(data)).setChunkDigest(digest)
                .build();
    }

    /** The update digest; requires every chunk to have been produced. */
    public String digest() {
        for (int i = 0; i < chunkDigests.length; i++) {
            if (chunkDigests[i] == null) {
                throw new IllegalStateException("update chunk " + i + " has not been produced yet");
            }
        }
        return Digests.composite(specFingerprint, Arrays.asList(chunkDigests));
    }
}

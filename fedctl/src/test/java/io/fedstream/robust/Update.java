package io.fedstream.robust;

import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.UpdateChunker;
import io.fedstream.protocol.serde.WireCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * An update as records (chunks, then the commit), built the way {@link io.fedstream.protocol.client.ClientPublisher}
 * builds it, so a test can spoil exactly one thing and send the result with {@link RawSender}.
 */
final class Update {
    final List<UpdateChunk> chunks = new ArrayList<>();
    UpdateCommit commit;

    static Update of(String federation, int round, String client, long samples, String baseDigest, String spec,
                     float[] delta, int chunkFloats) {
        UpdateChunker chunker = new UpdateChunker(federation, round, client, samples, baseDigest, spec, delta, chunkFloats);
        Update u = new Update();
        for (int i = 0; i < chunker.layout().chunkCount(); i++) {
            u.chunks.add(chunker.chunk(i));
        }
        u.commit = UpdateCommit.newBuilder()
                .setFederation(federation).setRound(round).setClientId(client)
                .setSampleCount(samples).setChunkCount(chunker.layout().chunkCount())
                .setUpdateDigest(chunker.digest()).setBaseModelDigest(baseDigest).setSpecFingerprint(spec)
                .setTrainLoss(0.5).setTrainAccuracy(0.5).setTrainTimeMs(1).setCommittedAtMs(System.currentTimeMillis())
                .build();
        return u;
    }

    Update chunk(int index, UnaryOperator<UpdateChunk.Builder> change) {
        chunks.set(index, change.apply(UpdateChunk.newBuilder(chunks.get(index))).build());
        return this;
    }

    Update everyChunk(UnaryOperator<UpdateChunk.Builder> change) {
        for (int i = 0; i < chunks.size(); i++) {
            chunk(i, change);
        }
        return this;
    }

    Update commit(UnaryOperator<UpdateCommit.Builder> change) {
        commit = change.apply(UpdateCommit.newBuilder(commit)).build();
        return this;
    }

    /** Recomputes the commit's update digest from the chunks as they are now (so only the intended defect remains). */
    Update reseal(String spec) {
        List<String> digests = chunks.stream().map(UpdateChunk::getChunkDigest).toList();
        commit = UpdateCommit.newBuilder(commit).setUpdateDigest(Digests.composite(spec, digests)).build();
        return this;
    }

    List<byte[]> encoded() {
        List<byte[]> out = new ArrayList<>();
        for (UpdateChunk c : chunks) {
            out.add(WireCodec.get().encode(c));
        }
        out.add(WireCodec.get().encode(commit));
        return out;
    }
}

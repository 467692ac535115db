package io.fedstream.validate;

import io.fedstream.avro.Rejected;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.wire.Routed;
import java.nio.ByteBuffer;

/** Builds dead-letter records: the reason, where the record came from, and the record itself. */
public final class Rejects {
    private Rejects() {}

    public static Routed deadLetter(Topics topics, RejectReason reason, String detail, String sourceTopic,
                                    int partition, long offset, String clientId, Integer round, byte[] payload) {
        Rejected r = Rejected.newBuilder()
                .setFederation(topics.federation()).setReason(reason.name()).setDetail(detail)
                .setSourceTopic(sourceTopic).setSourcePartition(partition).setSourceOffset(offset)
                .setClientId(clientId).setRound(round)
                .setPayload(ByteBuffer.wrap(payload == null ? new byte[0] : payload))
                .setRejectedAtMs(System.currentTimeMillis())
                .build();
        return Routed.of(topics.deadLetter(), clientId, WireCodec.get().encode(r));
    }
}

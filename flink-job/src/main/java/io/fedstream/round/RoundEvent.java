package io.fedstream.round;

/**
 * A small record for the round coordinator: its Avro type name and encoded value (check-ins, commits, eval
 * reports, manifests, chunk completions); or a notice from the router: an update chunk it passed on to the
 * aggregators ("ChunkSeen", so the coordinator can check a whole update before accepting its commit) or one it
 * rejected ("Rejected", so the round summary counts it and the client's update is known to be incomplete).
 * Notices travel on the same ordered channel as the commit that follows them. A "ModelChunkStored" notice tells
 * that a chunk of a new model is readable on the models topic, so its manifest may follow.
 */
public class RoundEvent {
    public String type;
    public byte[] value;
    public String source;
    /** For rejection notices: the round the rejected record named, or -1. */
    public int round = -1;
    public String reason;
    /**
     * Notices about update chunks: whose, which chunk, where it sits, how long, its digest and weight. About a
     * stored model chunk: its version (in {@link #round}), chunk and digest.
     */
    public String clientId;
    public int chunk = -1;
    public long offset;
    public int length;
    public String digest;
    public long sampleCount;
    public String baseModelDigest;

    public RoundEvent() {}

    public static RoundEvent of(String type, byte[] value, String source) {
        RoundEvent e = new RoundEvent();
        e.type = type;
        e.value = value;
        e.source = source;
        return e;
    }

    public static RoundEvent rejection(int round, String clientId, String reason, String source) {
        RoundEvent e = new RoundEvent();
        e.type = "Rejected";
        e.round = round;
        e.clientId = clientId;
        e.reason = reason;
        e.source = source;
        return e;
    }

    public static RoundEvent chunkSeen(int round, String clientId, int chunk, long offset, int length, String digest,
                                       long sampleCount, String baseModelDigest, String source) {
        RoundEvent e = new RoundEvent();
        e.type = "ChunkSeen";
        e.round = round;
        e.clientId = clientId;
        e.chunk = chunk;
        e.offset = offset;
        e.length = length;
        e.digest = digest;
        e.sampleCount = sampleCount;
        e.baseModelDigest = baseModelDigest;
        e.source = source;
        return e;
    }

    public static RoundEvent modelChunkStored(int version, int chunk, String digest, String source) {
        RoundEvent e = new RoundEvent();
        e.type = "ModelChunkStored";
        e.round = version;
        e.chunk = chunk;
        e.digest = digest;
        e.source = source;
        return e;
    }
}

package io.fedstream.bench;

import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * Recomputes a round's FedAvg from what is on Kafka, independently of the job: the base model (version r) from
 * the models topic, the decision's participants from the control topic, and each participant's update chunks
 * from its updates topic ({@code read_committed}); then new = base + sum(n_i * delta_i) / sum(n_i) in plain
 * double arithmetic, compared value by value with the published version r+1. Holds the base and one double sum
 * (12 bytes per parameter), whatever the number of clients.
 */
public final class FedAvgReference {
    private FedAvgReference() {}

    /** How the published model compares with the reference. */
    public record Check(int round, long floats, int participants, double maxAbsDiff, long bitExact,
                        boolean publishedDigestVerified) {
        public boolean equalWithin(double tolerance) {
            return maxAbsDiff <= tolerance && publishedDigestVerified;
        }

        public double exactFraction() {
            return floats == 0 ? 0 : (double) bitExact / floats;
        }
    }

    private static final Duration READ_TIMEOUT = Duration.ofMinutes(10);

    public static Check check(String bootstrapServers, Topics topics, int round) {
        return check(bootstrapServers, topics, round, null);
    }

    /**
     * As {@link #check(String, Topics, int)}, reading the models and updates topics only from the first record
     * with a timestamp of at least {@code fromTimestampMs} (null: from the start). A long run passes the start of
     * the round before: the base model was written in it, so every record the check needs is newer, and checking
     * a round no longer re-reads every earlier round.
     */
    public static Check check(String bootstrapServers, Topics topics, int round, Long fromTimestampMs) {
        RoundDecision decision = null;
        for (RoundDecision d : TopicScan.decoded(bootstrapServers, topics.control(), RoundDecision.class, READ_TIMEOUT)) {
            if (d.getRound() == round) {
                decision = d;
            }
        }
        if (decision == null) {
            throw new IllegalStateException("no decision for round " + round + " on " + topics.control());
        }
        List<SpecificRecord> manifests = manifests(bootstrapServers, topics.models(), fromTimestampMs);
        ModelManifest baseManifest = manifest(manifests, round);
        ModelManifest nextManifest = manifest(manifests, round + 1);
        float[] base = model(bootstrapServers, topics, baseManifest, fromTimestampMs);
        double[] sum = new double[base.length];
        long total = 0;
        for (Participant p : decision.getParticipants()) {
            total += p.getSampleCount();
            addUpdate(bootstrapServers, topics, round, p.getClientId(), p.getSampleCount(), sum, fromTimestampMs);
        }
        for (int i = 0; i < base.length; i++) {
            sum[i] = base[i] + sum[i] / total;
        }
        base = null;
        double[] expected = sum;
        // The published model, chunk by chunk: compared as it is read, and its digest checked against the manifest.
        ModelAssembler published = new ModelAssembler(nextManifest.getVersion(), nextManifest.getSpecFingerprint(),
                nextManifest.getTotalFloats(), nextManifest.getChunkCount());
        double[] maxDiff = {0};
        long[] exact = {0};
        TopicScan.read(bootstrapServers, List.of(topics.models()), fromTimestampMs, READ_TIMEOUT, r -> {
            SpecificRecord rec = decode(r.value());
            if (rec instanceof ModelChunk c && c.getVersion() == nextManifest.getVersion()) {
                if (published.offer(c) != ChunkVerdict.ACCEPTED) {
                    return;
                }
                FloatBuffer fb = c.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                int off = (int) c.getOffset();
                for (int i = 0; i < fb.remaining(); i++) {
                    float want = (float) expected[off + i];
                    float got = fb.get(i);
                    maxDiff[0] = Math.max(maxDiff[0], Math.abs((double) got - want));
                    if (Float.floatToRawIntBits(got) == Float.floatToRawIntBits(want)) {
                        exact[0]++;
                    }
                }
            }
        });
        boolean verified;
        try {
            published.assemble(nextManifest.getDigest());
            verified = true;
        } catch (Exception e) {
            verified = false;
        }
        return new Check(round, expected.length, decision.getParticipants().size(), maxDiff[0], exact[0], verified);
    }

    private static void addUpdate(String bootstrapServers, Topics topics, int round, String client, long samples,
                                  double[] sum, Long fromTimestampMs) {
        BitSet seen = new BitSet();
        TopicScan.read(bootstrapServers, List.of(topics.clientUpdates(client)), fromTimestampMs, READ_TIMEOUT, r -> {
            SpecificRecord rec = decode(r.value());
            if (rec instanceof UpdateChunk u && u.getRound() == round && !seen.get(u.getChunkIndex())) {
                seen.set(u.getChunkIndex());
                FloatBuffer fb = u.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                int off = (int) u.getOffset();
                for (int i = 0; i < fb.remaining(); i++) {
                    sum[off + i] += (double) samples * fb.get(i);
                }
            }
        });
        if (seen.isEmpty()) {
            throw new IllegalStateException("no update of " + client + " for round " + round);
        }
    }

    private static ModelManifest manifest(List<SpecificRecord> manifests, int version) {
        for (SpecificRecord r : manifests) {
            if (r instanceof ModelManifest m && m.getVersion() == version) {
                return m;
            }
        }
        throw new IllegalStateException("no manifest of model version " + version);
    }

    /** A whole model version from the models topic, verified against its manifest's digest. */
    static float[] model(String bootstrapServers, Topics topics, ModelManifest m, Long fromTimestampMs) {
        ModelAssembler a = new ModelAssembler(m.getVersion(), m.getSpecFingerprint(), m.getTotalFloats(), m.getChunkCount());
        TopicScan.read(bootstrapServers, List.of(topics.models()), fromTimestampMs, READ_TIMEOUT, r -> {
            if (decode(r.value()) instanceof ModelChunk c && c.getVersion() == m.getVersion()) {
                a.offer(c);
            }
        });
        try {
            return a.assemble(m.getDigest());
        } catch (Exception e) {
            throw new IllegalStateException("model version " + m.getVersion() + " on " + topics.models() + ": " + e.getMessage(), e);
        }
    }

    /** The manifests on a models topic, decoded; chunk records (keyed by their index) are skipped undecoded. */
    private static List<SpecificRecord> manifests(String bootstrapServers, String topic, Long fromTimestampMs) {
        List<SpecificRecord> out = new java.util.ArrayList<>();
        TopicScan.read(bootstrapServers, List.of(topic), fromTimestampMs, READ_TIMEOUT, r -> {
            if (r.key() != null && new String(r.key(), java.nio.charset.StandardCharsets.UTF_8).equals("manifest")) {
                out.add(decode(r.value()));
            }
        });
        return out;
    }

    private static SpecificRecord decode(byte[] value) {
        try {
            return WireCodec.get().decode(value);
        } catch (WireFormatException e) {
            throw new IllegalStateException("undecodable record: " + e.getMessage(), e);
        }
    }
}

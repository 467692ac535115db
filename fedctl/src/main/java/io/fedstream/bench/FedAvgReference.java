package io.fedstream.bench;

import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.protocol.Topics;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
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
        return check(bootstrapServers, topics, round, fromTimestampMs, decisions(bootstrapServers, topics));
    }

    /** The coordinator's decisions on the control topic, in the order they were written. */
    public static List<RoundDecision> decisions(String bootstrapServers, Topics topics) {
        return TopicScan.decoded(bootstrapServers, topics.control(), RoundDecision.class, READ_TIMEOUT);
    }

    /**
     * As {@link #check(String, Topics, int, Long)}, with the control topic's decisions already read: a benchmark
     * that checks every round reads them once, not once a round.
     */
    public static Check check(String bootstrapServers, Topics topics, int round, Long fromTimestampMs,
                              List<RoundDecision> decisions) {
        RoundDecision decision = null;
        for (RoundDecision d : decisions) {
            if (d.getRound() == round) {
                decision = d;
            }
        }
        if (decision == null) {
            throw new IllegalStateException("no decision for round " + round + " on " + topics.control());
        }
        ModelRecords models = models(bootstrapServers, topics.models(), round, fromTimestampMs);
        ModelManifest baseManifest = manifest(models.manifests(), round);
        ModelManifest nextManifest = manifest(models.manifests(), round + 1);
        float[] base = model(topics, baseManifest, models.base());
        models.base().clear();
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
        // The published model, chunk by chunk: compared with the reference, and its digest checked against the manifest.
        ModelAssembler published = new ModelAssembler(nextManifest.getVersion(), nextManifest.getSpecFingerprint(),
                nextManifest.getTotalFloats(), nextManifest.getChunkCount());
        double maxDiff = 0;
        long exact = 0;
        for (ModelChunk c : models.next()) {
            if (published.offer(c) != ChunkVerdict.ACCEPTED) {
                continue;
            }
            FloatBuffer fb = c.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            int off = (int) c.getOffset();
            for (int i = 0; i < fb.remaining(); i++) {
                float want = (float) expected[off + i];
                float got = fb.get(i);
                maxDiff = Math.max(maxDiff, Math.abs((double) got - want));
                if (Float.floatToRawIntBits(got) == Float.floatToRawIntBits(want)) {
                    exact++;
                }
            }
        }
        boolean verified;
        try {
            published.assemble(nextManifest.getDigest());
            verified = true;
        } catch (Exception e) {
            verified = false;
        }
        return new Check(round, expected.length, decision.getParticipants().size(), maxDiff, exact, verified);
    }

    private static void addUpdate(String bootstrapServers, Topics topics, int round, String client, long samples,
                                  double[] sum, Long fromTimestampMs) {
        BitSet seen = new BitSet();
        TopicScan.read(bootstrapServers, List.of(topics.clientUpdates(client)), fromTimestampMs, READ_TIMEOUT, r -> {
            SpecificRecord rec = TopicScan.decode(r);
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

    private static ModelManifest manifest(List<ModelManifest> manifests, int version) {
        for (ModelManifest m : manifests) {
            if (m.getVersion() == version) {
                return m;
            }
        }
        throw new IllegalStateException("no manifest of model version " + version);
    }

    /** A whole model version from its chunks, verified against its manifest's digest. */
    private static float[] model(Topics topics, ModelManifest m, List<ModelChunk> chunks) {
        ModelAssembler a = new ModelAssembler(m.getVersion(), m.getSpecFingerprint(), m.getTotalFloats(), m.getChunkCount());
        chunks.forEach(a::offer);
        try {
            return a.assemble(m.getDigest());
        } catch (Exception e) {
            throw new IllegalStateException("model version " + m.getVersion() + " on " + topics.models() + ": " + e.getMessage(), e);
        }
    }

    /**
     * What a round's check needs from the models topic: every manifest, and the chunks of the round's base and of
     * the model it published, in the order they were read.
     */
    private record ModelRecords(List<ModelManifest> manifests, List<ModelChunk> base, List<ModelChunk> next) { }

    /** The models topic, read once for all that a round's check needs from it. */
    private static ModelRecords models(String bootstrapServers, String topic, int round, Long fromTimestampMs) {
        ModelRecords out = new ModelRecords(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        TopicScan.read(bootstrapServers, List.of(topic), fromTimestampMs, READ_TIMEOUT, r -> {
            SpecificRecord rec = TopicScan.decode(r);
            if (rec instanceof ModelManifest m) {
                out.manifests().add(m);
            } else if (rec instanceof ModelChunk c && c.getVersion() == round) {
                out.base().add(c);
            } else if (rec instanceof ModelChunk c && c.getVersion() == round + 1) {
                out.next().add(c);
            }
        });
        return out;
    }
}

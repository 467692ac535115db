package io.fedstream.robust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.Digests;
import io.fedstream.chunk.Floats;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.protocol.Topics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The "global model unaffected" check, computed independently of the job from what is in Kafka: for every round
 * decision, each participant's accepted update is rebuilt from the records on its updates topic (the commit the
 * job did not reject, and the chunks sent with it, checked against the commit's digest), and the published next
 * model must equal base + the sample-weighted mean of those deltas within 1e-6.
 */
final class Reference {
    private Reference() {}

    /** Every model version on the models topic, each chunk once, checked against its manifest's digest. */
    static Map<Integer, float[]> models(String bootstrap, Topics topics) throws Exception {
        List<Rec> recs = Topic.read(bootstrap, topics.models());
        Map<Integer, ModelAssembler> assemblers = new TreeMap<>();
        Map<Integer, ModelManifest> manifests = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (Rec r : recs) {
            if (r.record() instanceof ModelChunk c) {
                assertTrue(seen.add(c.getVersion() + "/" + c.getChunkIndex()),
                        "chunk " + c.getChunkIndex() + " of version " + c.getVersion() + " published twice");
                ChunkVerdict v = assemblers.computeIfAbsent(c.getVersion(), k -> ModelAssembler.forFirst(c)).offer(c);
                assertFalse(v.isError(), "chunk " + c.getChunkIndex() + " of version " + c.getVersion() + ": " + v);
            } else if (r.record() instanceof ModelManifest m) {
                assertEquals(null, manifests.put(m.getVersion(), m), "manifest of version " + m.getVersion() + " published twice");
            }
        }
        Map<Integer, float[]> out = new TreeMap<>();
        for (var e : assemblers.entrySet()) {
            ModelManifest m = manifests.get(e.getKey());
            assertTrue(m != null, "no manifest for version " + e.getKey());
            out.put(e.getKey(), e.getValue().assemble(m.getDigest()).clone());
        }
        return out;
    }

    /** Sources ("topic/partition@offset") of every record the job rejected, to the dead-letter or the late topic. */
    static Set<String> rejectedSources(String bootstrap, Topics topics) {
        Set<String> out = new HashSet<>();
        for (String t : List.of(topics.deadLetter(), topics.late())) {
            for (Rec r : Topic.read(bootstrap, t)) {
                Rejected x = r.as(Rejected.class);
                out.add(Rec.source(x.getSourceTopic(), x.getSourcePartition(), x.getSourceOffset()));
            }
        }
        return out;
    }

    /** A participant's accepted update of one round: its weight and delta, and where its commit is. */
    record Accepted(String client, long samples, float[] delta, String commitSource, String digest) { }

    static Accepted accepted(String bootstrap, Topics topics, String client, int round, int length, Set<String> rejected,
                             String spec) {
        List<Rec> recs = Topic.read(bootstrap, topics.clientUpdates(client));
        Map<Integer, UpdateChunk> since = new TreeMap<>();
        List<Accepted> found = new ArrayList<>();
        for (Rec r : recs) {
            if (r.record() instanceof UpdateChunk c && c.getRound() == round && c.getClientId().equals(client)) {
                since.put(c.getChunkIndex(), c);
            } else if (r.record() instanceof UpdateCommit c) {
                if (c.getRound() == round && c.getClientId().equals(client) && !rejected.contains(r.source())) {
                    List<String> digests = new ArrayList<>();
                    float[] delta = new float[length];
                    for (UpdateChunk u : since.values()) {
                        byte[] data = Floats.bytesOf(u.getData());
                        digests.add(Digests.updateChunkDigest(data));
                        float[] values = Floats.fromBytes(u.getData());
                        System.arraycopy(values, 0, delta, (int) u.getOffset(), values.length);
                    }
                    assertEquals(c.getChunkCount(), since.size(), "chunks sent with the commit at " + r.source());
                    assertEquals(c.getUpdateDigest(), Digests.composite(spec, digests),
                            "the accepted commit at " + r.source() + " does not match the chunks sent with it");
                    found.add(new Accepted(client, c.getSampleCount(), delta, r.source(), c.getUpdateDigest()));
                }
                since.clear();
            }
        }
        assertFalse(found.isEmpty(), "no accepted update of " + client + " for round " + round);
        Set<String> digests = new LinkedHashSet<>();
        found.forEach(a -> digests.add(a.digest()));
        assertEquals(1, digests.size(), "updates of " + client + " for round " + round + " that were not rejected differ: "
                + found.stream().map(Accepted::commitSource).toList());
        return found.get(0);
    }

    /**
     * Checks every decided round: the published next model is base + the sample-weighted mean of the participants'
     * accepted deltas (within 1e-6), each participant counted once. Returns the decisions by round.
     */
    static Map<Integer, RoundDecision> assertModelsAreFedAvgOfAcceptedUpdates(Harness h, int expectedRounds) throws Exception {
        Map<Integer, float[]> models = models(h.bootstrap, h.topics);
        Set<String> rejected = rejectedSources(h.bootstrap, h.topics);
        Map<Integer, RoundDecision> decisions = new TreeMap<>();
        for (Rec r : Topic.read(h.bootstrap, h.topics.control())) {
            if (r.record() instanceof RoundDecision d) {
                assertEquals(null, decisions.put(d.getRound(), d), "round " + d.getRound() + " decided twice");
            }
        }
        assertEquals(expectedRounds, decisions.size(), "decisions " + decisions.keySet());
        for (RoundDecision d : decisions.values()) {
            int round = d.getRound();
            float[] base = models.get(round);
            float[] published = models.get(round + 1);
            assertTrue(base != null && published != null, "models of round " + round + ": " + models.keySet());
            List<String> ids = d.getParticipants().stream().map(Participant::getClientId).toList();
            assertEquals(new HashSet<>(ids).size(), ids.size(), "round " + round + " counts a participant twice: " + ids);
            double[] weighted = new double[base.length];
            long total = 0;
            for (Participant p : d.getParticipants()) {
                Accepted a = accepted(h.bootstrap, h.topics, p.getClientId(), round, base.length, rejected, h.fingerprint);
                assertEquals(a.samples(), p.getSampleCount(), "weight of " + p.getClientId() + " in round " + round);
                for (int j = 0; j < base.length; j++) {
                    weighted[j] += (double) a.samples() * a.delta()[j];
                }
                total += a.samples();
            }
            assertEquals(total, d.getTotalSamples(), "total samples of round " + round);
            double maxDiff = 0;
            for (int j = 0; j < base.length; j++) {
                double expected = base[j] + weighted[j] / total;
                maxDiff = Math.max(maxDiff, Math.abs(expected - published[j]));
            }
            assertTrue(maxDiff <= 1e-6, "round " + round + " (" + ids + "): published model differs from the reference by " + maxDiff);
        }
        return decisions;
    }

    static List<String> participants(RoundDecision d) {
        return d.getParticipants().stream().map(Participant::getClientId).toList();
    }
}

package io.fedstream.round;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Everything the round coordinator remembers about its federation; kept in Flink keyed state. */
public class FederationState {
    public enum Phase { GATHERING, TRAINING, AGGREGATING, FINAL_EVAL, FINISHED }

    public Phase phase = Phase.GATHERING;
    public int round;
    public Map<String, ClientInfo> clients = new TreeMap<>();

    /** The initial model's manifest, encoded; it carries the tensor names and shapes of every version. */
    public byte[] initialManifest;
    public String specFingerprint;
    public int chunkCount;
    public long totalFloats;
    public int chunkFloats;
    /** Digest of the newest committed model version and of the one before, by version. */
    public Map<Integer, String> modelDigests = new HashMap<>();

    public List<String> selected = new ArrayList<>();
    /** Plan attempt of the current round; a round without quorum at its deadline is re-planned. */
    public int attempt = 1;
    public long deadlineMs;
    /** Clients that were sent the current round's base model. */
    public List<String> modelSentTo = new ArrayList<>();
    /** What the router passed on of each client's update for the current round. */
    public Map<String, UpdateProgress> updates = new TreeMap<>();
    /** Accepted commits in arrival order; with over-selection the first ones make the round. */
    public List<String> commitOrder = new ArrayList<>();
    public long planIssuedAtMs;
    public long decidedAtMs;
    public Map<String, CommitInfo> commits = new TreeMap<>();
    /**
     * Update digest of every participant of the last decided rounds (round, then client), so a replayed commit of
     * an aggregated update is known as a duplicate after its round is over ({@code RoundCoordinator.REMEMBERED_ROUNDS}).
     */
    public Map<Integer, Map<String, String>> aggregatedDigests = new HashMap<>();
    public List<String> nextRecipients = new ArrayList<>();
    public Map<Integer, String> chunkDigests = new HashMap<>();
    public long lastChunkAtMs;
    /** Digests of the chunks of the model being aggregated that are readable on the models topic, by chunk. */
    public Map<Integer, Set<String>> storedChunkDigests = new HashMap<>();

    /**
     * Records that name a round which has not started yet, by that round, in arrival order: update chunks, commits
     * and evaluations of a model not yet made. After a restore from a checkpoint the job reads everything the
     * clients sent since, and later rounds' records can come before the replayed rounds that lead to them.
     */
    public Map<Integer, List<RoundEvent>> held = new TreeMap<>();
    public int heldCount;

    /** Summaries that wait for the clients' evaluations of the model their round produced. */
    public Map<Integer, SummaryDraft> drafts = new HashMap<>();
    public Map<Integer, Integer> rejections = new HashMap<>();
    public Map<Integer, Integer> lateUpdates = new HashMap<>();

    public static class ClientInfo {
        public long trainSamples;
        public long testSamples;
        public String specFingerprint;
        public long lastSeenMs;
        /** Load per core from the last heartbeat. */
        public double load;
    }

    /** The update chunks of one client for the current round, as the router saw them. */
    public static class UpdateProgress {
        public long sampleCount;
        public String baseModelDigest;
        public Map<Integer, String> chunkDigests = new TreeMap<>();
        /** The first problem found with this update (a reason code), or null. */
        public String taint;
        public String taintDetail;
    }

    public static class CommitInfo {
        public long sampleCount;
        public double trainLoss;
        public double trainAccuracy;
        public String updateDigest;
    }

    public static class SummaryDraft {
        public int round;
        public List<String> participants = new ArrayList<>();
        public long totalSamples;
        public double trainLoss;
        public double trainAccuracy;
        public long aggregationTimeMs;
        public long roundTimeMs;
        public int modelVersion;
        public String modelDigest;
        public List<String> evaluators = new ArrayList<>();
        public List<String> stragglers = new ArrayList<>();
        public String closeReason;
        public int attempts = 1;
        public Map<String, EvalInfo> evals = new TreeMap<>();
    }

    public static class EvalInfo {
        public long testSamples;
        public double loss;
        public double accuracy;
    }
}

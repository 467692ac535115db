package io.fedstream.round;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    /** Digest of every committed model version. */
    public Map<Integer, String> modelDigests = new HashMap<>();

    public List<String> selected = new ArrayList<>();
    public long planIssuedAtMs;
    public long decidedAtMs;
    public Map<String, CommitInfo> commits = new TreeMap<>();
    public List<String> nextRecipients = new ArrayList<>();
    public Map<Integer, String> chunkDigests = new HashMap<>();
    public long lastChunkAtMs;

    /** Summaries that wait for the clients' evaluations of the model their round produced. */
    public Map<Integer, SummaryDraft> drafts = new HashMap<>();
    public Map<Integer, Integer> rejections = new HashMap<>();

    public static class ClientInfo {
        public long trainSamples;
        public long testSamples;
        public String specFingerprint;
        public long lastSeenMs;
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
        public Map<String, EvalInfo> evals = new TreeMap<>();
    }

    public static class EvalInfo {
        public long testSamples;
        public double loss;
        public double accuracy;
    }
}

package io.fedstream.aggregate;

/** What the aggregator of one (round, chunk) holds between records. */
public class ChunkState {
    public float[] base;
    public long baseOffset;
    public String specFingerprint;
    public long totalFloats;
    public WeightedSum sum;
    /** Selected clients of the round, from the plan; null until the plan arrives. */
    public String[] selected;
    /** Clients already summed, with the sample count their chunk carried; sorted by client id. */
    public String[] contributors = new String[0];
    public long[] contributorSamples = new long[0];
    /** Updates that arrived before the plan (rare: the plan is sent before clients can see it). */
    public ChunkInput[] early = new ChunkInput[0];
    public byte[] decision;
    /** Recipients waiting for the base chunk to arrive. */
    public String[] distributeTo = new String[0];
    public boolean done;
}

package io.fedstream.aggregate;

/** What the aggregator of one (round, chunk) holds between records. */
public class ChunkState {
    public float[] base;
    /** SHA-256 of the base chunk's data, as checked when it arrived. */
    public String baseDigest;
    public long baseOffset;
    public String specFingerprint;
    public long totalFloats;
    public WeightedSum sum;
    /** Clients selected in any attempt of the round, sorted; null until the first plan arrives. */
    public String[] selected;
    /** The global model the round's updates must be trained on. */
    public String planBaseDigest;
    /** Values in this chunk of the model, from the plan. */
    public int expectedLength;
    /** Clients already summed, with the sample count their chunk carried; sorted by client id. */
    public String[] contributors = new String[0];
    public long[] contributorSamples = new long[0];
    /** Where each contributor's chunk is stored ("topic/partition@offset"), to subtract it again if it is left out. */
    public String[] contributorSources = new String[0];
    /** Updates that arrived before the plan or the base chunk (rare: both are sent before clients can train). */
    public ChunkInput[] early = new ChunkInput[0];
    public byte[] decision;
    /** Recipients waiting for the base chunk to arrive. */
    public String[] distributeTo = new String[0];
    public boolean done;
    /** Update chunks rejected to the dead-letter topic before the chunk was done; reported with its completion. */
    public int rejectedRecords;
}

package io.fedstream.round;

import io.fedstream.avro.RoundDecision;
import io.fedstream.wire.Routed;
import io.fedstream.chunk.ChunkLayout;
import java.util.List;

/** Where the coordinator's decisions go: Kafka records, and orders to every chunk aggregator. */
public interface CoordinatorOutput {
    void send(Routed record);

    /**
     * Tells the aggregators of each chunk of {@code round} which clients were selected (added to the clients of
     * earlier attempts of the round) and which base model their updates must be trained on.
     */
    void plan(int round, ChunkLayout layout, List<String> selected, String baseModelDigest);

    /** Tells the aggregators of each chunk of the decision's round to finish over exactly its participants. */
    void decide(RoundDecision decision);

    /** Asks the aggregators of model {@code version} to send its chunks to these clients' model topics. */
    void distribute(int version, int chunkCount, List<String> recipients);

    /** Asks to be called back through {@link RoundCoordinator#onTimer} at this wall-clock time. */
    void timer(long timestampMs);

    /** Counts a rejected record in the job's metrics. */
    void rejected(String reason, boolean late);
}

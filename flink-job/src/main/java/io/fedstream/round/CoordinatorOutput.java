package io.fedstream.round;

import io.fedstream.avro.RoundDecision;
import io.fedstream.wire.Routed;
import java.util.List;

/** Where the coordinator's decisions go: Kafka records, and orders to every chunk aggregator. */
public interface CoordinatorOutput {
    void send(Routed record);

    /** Tells the aggregators of each chunk of {@code round} which clients were selected. */
    void plan(int round, int chunkCount, List<String> selected);

    /** Tells the aggregators of each chunk of the decision's round to finish over exactly its participants. */
    void decide(RoundDecision decision);

    /** Asks the aggregators of model {@code version} to send its chunks to these clients' model topics. */
    void distribute(int version, int chunkCount, List<String> recipients);
}

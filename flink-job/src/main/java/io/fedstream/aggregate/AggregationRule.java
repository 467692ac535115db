package io.fedstream.aggregate;

import java.io.Serializable;

/**
 * How the updates of one round become the next global model, one chunk at a time. A rule sees the base chunk,
 * the streamed weighted sum of the participants' deltas and the total weight the coordinator decided on.
 * Adding a rule is one new class.
 */
public interface AggregationRule extends Serializable {
    String name();

    /** The new global chunk from the base chunk and the participants' weighted delta sum. */
    float[] apply(float[] base, WeightedSum sum, long decidedTotalWeight);
}

package io.fedstream.launch;

import io.fedstream.avro.Finish;
import io.fedstream.avro.RoundSummary;
import java.util.List;

/** What a local federation run produced: one summary per round and the finish message (null if it timed out). */
public record FederationResult(List<RoundSummary> rounds, Finish finish, long wallTimeMs) {
    public boolean finished() {
        return finish != null;
    }

    public double finalAccuracy() {
        return finish != null ? finish.getFinalEvalAccuracy()
                : rounds.isEmpty() ? Double.NaN : rounds.get(rounds.size() - 1).getEvalAccuracy();
    }
}

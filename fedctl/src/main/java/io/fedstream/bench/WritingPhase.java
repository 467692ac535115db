package io.fedstream.bench;

import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.ModelChunk;
import io.fedstream.protocol.Topics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * When each round's new model was finished and stored, to split the time from the coordinator's decision to the
 * manifest: the aggregators' completion notices carry when each chunk was finished (the job's clock), and the
 * benchmark's models topic stamps each chunk with the broker's append time (this machine's clock too).
 */
final class WritingPhase {
    private WritingPhase() {}

    /** First and last of a round's chunks: finished by the aggregators, and appended on the models topic. */
    record Times(long firstFinishedMs, long lastFinishedMs, long firstStoredMs, long lastStoredMs) {
        private static final Times NONE = new Times(Long.MAX_VALUE, 0, Long.MAX_VALUE, 0);

        Times finished(long ms) {
            return new Times(Math.min(firstFinishedMs, ms), Math.max(lastFinishedMs, ms), firstStoredMs, lastStoredMs);
        }

        Times stored(long ms) {
            return new Times(firstFinishedMs, lastFinishedMs, Math.min(firstStoredMs, ms), Math.max(lastStoredMs, ms));
        }

        boolean complete() {
            return lastFinishedMs > 0 && lastStoredMs > 0;
        }
    }

    /** The times of every round whose chunks were both reported and stored, by round. */
    static Map<Integer, Times> read(String bootstrapServers, Topics topics, Duration timeout) {
        Map<Integer, Times> byRound = new HashMap<>();
        TopicScan.read(bootstrapServers, List.of(topics.control()), timeout, r -> {
            if (TopicScan.decode(r) instanceof ChunkAggregated c) {
                byRound.compute(c.getRound(), (round, t) -> (t == null ? Times.NONE : t).finished(c.getFinishedAtMs()));
            }
        });
        TopicScan.read(bootstrapServers, List.of(topics.models()), timeout, r -> {
            if (TopicScan.decode(r) instanceof ModelChunk mc) {
                // Version v is the output of round v - 1.
                byRound.compute(mc.getVersion() - 1, (round, t) -> (t == null ? Times.NONE : t).stored(r.timestamp()));
            }
        });
        byRound.values().removeIf(t -> !t.complete());
        return byRound;
    }
}

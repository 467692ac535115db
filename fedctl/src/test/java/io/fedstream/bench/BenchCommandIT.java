package io.fedstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.job.AggregationJob;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fedstream bench} end to end with tiny settings: all four sections, the job in a child JVM, the JSON
 * report. The figures are not judged here (2 cores shared with the build); that every section ran, measured
 * something and checked the published models is.
 */
class BenchCommandIT {
    /** Work folders of this class; JUnit deletes it after the last test. */
    @TempDir
    static Path tempRoot;

    @Test
    void allSectionsRunAndWriteTheirFigures() throws Exception {
        Path dir = Files.createTempDirectory(tempRoot, "fedstream-bench-it-");
        Path json = dir.resolve("bench.json");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            code = new Bench(new String[] {
                "--kernel-floats", "600000", "--kernel-iterations", "2", "--kernel-trials", "1",
                "--params", "700000", "--clients", "3", "--rounds", "2",
                "--overhead-clients", "3", "--overhead-rounds", "3", "--overhead-warmup-rounds", "1",
                "--memory-clients", "2,4", "--memory-params", "600000", "--memory-gc-ms", "300",
                "--job-heap", "768m", "--timeout", "4m",
                "--work-dir", dir.toString(), "--json", json.toString()}, out).run();
        }
        String printed = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, printed);
        for (String section : new String[] {"== 1.", "== 2.", "== 3.", "== 4.", "== Targets"}) {
            assertTrue(printed.contains(section), "no " + section + " in:\n" + printed);
        }
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertTrue(root.at("/kernel/kernelGBps").asDouble() > 0, root.toString());
        assertTrue(root.at("/kernel/baselineGBps").asDouble() > 0);
        assertTrue(root.at("/e2e/throughputMBps").asDouble() > 0);
        assertTrue(root.at("/e2e/plainConsumer/throughputMBps").asDouble() > 0);
        // The baseline is the second of two reads of the same records; the first brings them into the page cache.
        assertTrue(root.at("/e2e/plainConsumer/firstReadMBps").asDouble() > 0);
        // It reads with the job's own consumer settings; a read with the consumer defaults is reported beside it.
        JsonNode settings = root.at("/e2e/plainConsumer/settings");
        assertEquals(AggregationJob.consumerSettings().size(), settings.size(), settings.toString());
        AggregationJob.consumerSettings().forEach((k, v) -> assertEquals(v, settings.path(k).asText(null), k));
        assertTrue(root.at("/e2e/plainConsumer/defaultSettingsMBps").asDouble() > 0);
        assertEquals(root.at("/e2e/throughputMBps").asDouble() / root.at("/e2e/plainConsumer/defaultSettingsMBps").asDouble(),
                root.at("/e2e/ratioAgainstDefaultSettings").asDouble(), 1e-9);
        // The plain consumer reads the updates of the measured round (round 1), not those of the warm-up round.
        long update = 700_000L * Float.BYTES;
        long plainBytes = root.at("/e2e/plainConsumer/bytes").asLong();
        assertEquals(1, root.at("/e2e/plainConsumer/fromRound").asInt());
        assertTrue(plainBytes >= 3 * update && plainBytes < 2 * 3 * update, "plain consumer read " + plainBytes + " bytes");
        // Each window splits at the coordinator's decision into two positive parts that add up to it.
        assertEquals(2, root.at("/e2e/perRound").size());
        for (JsonNode round : root.at("/e2e/perRound")) {
            double toDecision = round.get("windowToDecisionSeconds").asDouble();
            double afterDecision = round.get("decisionToManifestSeconds").asDouble();
            assertTrue(toDecision > 0 && afterDecision > 0, round.toString());
            assertEquals(round.get("firstUpdateToManifestSeconds").asDouble(), toDecision + afterDecision, 0.005, round.toString());
            // At-least-once, the manifests' append times end the windows, and they are read after them, not live.
            assertTrue(round.get("manifestReadHereAfterSeconds").isNull(), round.toString());
            // The time after the decision splits at the new model's chunks: finished by the aggregators, then
            // appended on the models topic, then the manifest (written once they are all read back).
            long decided = round.get("decidedAtMs").asLong();
            long firstFinished = round.get("firstChunkFinishedMs").asLong();
            long lastFinished = round.get("lastChunkFinishedMs").asLong();
            long firstStored = round.get("firstChunkStoredMs").asLong();
            long lastStored = round.get("lastChunkStoredMs").asLong();
            long manifest = round.get("manifestMs").asLong();
            assertTrue(decided <= firstFinished && firstFinished <= lastFinished && firstStored <= lastStored
                    && firstFinished <= firstStored && lastFinished <= lastStored
                    // The manifest's time comes back from this JVM's nanosecond clock: a millisecond either way.
                    && lastStored <= manifest + 2, round.toString());
        }
        assertEquals(2, root.at("/e2e/referenceChecks").size());
        for (JsonNode check : root.at("/e2e/referenceChecks")) {
            assertTrue(check.get("equal").asBoolean(), check.toString());
        }
        assertTrue(root.at("/e2e/jobProcess/peakHeapAfterGcBytes").asLong() > 0, "the job ran in a child JVM");
        // Parallelism 2 by default: 128 buffers of 2 MiB, reported by the benchmark and used by the job process.
        assertEquals("128 x 2048 KiB", root.at("/e2e/networkBuffers").asText(), root.at("/e2e").toString());
        assertEquals("128 x 2048 KiB", root.at("/e2e/jobProcess/networkBuffers").asText());
        assertEquals(3, root.at("/overhead/perRoundMs").size());
        assertTrue(root.at("/overhead/p50Ms").asDouble() > 0);
        assertEquals(2, root.at("/memory/runs").size());
        for (JsonNode run : root.at("/memory/runs")) {
            assertTrue(run.get("peakLiveHeapBytes").asLong() > 0, run.toString());
            assertTrue(run.get("fullGcCount").asLong() > 0, run.toString());
        }
        assertEquals(4, root.at("/targets").size());
    }

    @Test
    void badFlagsAreRefusedBeforeAnythingStarts() {
        assertThrows(IllegalArgumentException.class, () -> new Bench(new String[] {"--sections", "kernel,speed"}, System.out));
        assertThrows(IllegalArgumentException.class, () -> new Bench(new String[] {"--memory-clients", "8,x"}, System.out));
        assertThrows(IllegalArgumentException.class, () -> new Bench(new String[] {"--clients", "0"}, System.out));
        assertThrows(IllegalArgumentException.class, () -> new Bench(new String[] {"--job-jvm", "remote"}, System.out));
        assertThrows(IllegalArgumentException.class, () -> new Bench(new String[] {"--job-network-buffers", "huge"}, System.out));
        assertThrows(IllegalArgumentException.class, () -> new Bench(new String[] {"--no-such-flag", "1"}, System.out));
    }
}

package io.fedstream.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.config.Flag;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JobSettingsTest {
    private static JobSettings parse(String... args) {
        return JobSettings.fromArgs(args);
    }

    private static IllegalArgumentException fails(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> JobSettings.fromArgs(args));
    }

    private static void assertMentions(IllegalArgumentException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' does not mention '" + p + "'");
        }
    }

    @Test
    void defaults() {
        JobSettings s = parse("--bootstrap-servers", "broker:9092");
        assertEquals("broker:9092", s.bootstrapServers());
        assertEquals("demo", s.federation());
        assertEquals(2, s.minClients());
        assertEquals(2, s.clientsPerRound());
        assertEquals(10, s.rounds());
        assertEquals(42, s.seed());
        assertEquals(1, s.localEpochs());
        assertEquals(32, s.batchSize());
        assertEquals(0.1, s.learningRate());
        assertEquals(Duration.ofMinutes(10), s.roundTimeout());
        assertEquals(1, s.minClientsPerRound());
        assertEquals(0.0, s.overSelection());
        assertEquals(2, s.selectedPerRound());
        assertEquals(Duration.ofSeconds(30), s.heartbeatTtl());
        assertEquals(0.0, s.maxLoad());
        assertEquals("", s.restoreFrom());
        assertEquals(1, s.parallelism());
        assertEquals(JobSettings.Delivery.AT_LEAST_ONCE, s.delivery());
        assertEquals(Duration.ofSeconds(10), s.checkpointInterval());
        assertEquals(Duration.ofHours(24), s.stateTtl());
        assertEquals(Duration.ofMillis(5), s.bufferTimeout());
        assertEquals("", s.checkpointDir());
        assertEquals("fedstream-demo-job", s.groupId());
        assertEquals("fedstream.demo.control", s.topics().control());

        // The builder has the same defaults as the flags.
        JobSettings b = JobSettings.builder().bootstrapServers("broker:9092").build();
        assertEquals(s.toArgs(), b.toArgs());
    }

    @Test
    void everyDefaultIsTheDocumentedOne() {
        JobSettings s = parse("--bootstrap-servers", "h:1");
        List<String> args = s.toArgs();
        for (Flag f : JobSettings.FLAGS) {
            if (f.defaultValue() == null || f.defaultValue().isEmpty() || f.name().equals("group-id")) {
                continue;
            }
            int at = args.indexOf("--" + f.name());
            assertTrue(at >= 0, "toArgs misses --" + f.name());
            String actual = args.get(at + 1);
            // Compare parsed values, so "PT10M" and "PT10M", "0.1" and "0.1" and "at-least-once" match.
            JobSettings fromDefault = parse("--bootstrap-servers", "h:1", "--" + f.name(), f.defaultValue());
            JobSettings fromActual = parse("--bootstrap-servers", "h:1", "--" + f.name(), actual);
            assertEquals(fromDefault.toArgs(), fromActual.toArgs(), "--" + f.name());
        }
    }

    @Test
    void fromArgsRoundTripsThroughToArgs() {
        JobSettings s = parse("--bootstrap-servers", "k1:9092,k2:9092", "--federation", "mnist_2",
                "--min-clients", "3", "--clients-per-round", "5", "--rounds", "7", "--seed", "-9",
                "--local-epochs", "4", "--batch-size", "64", "--learning-rate", "0.025",
                "--round-timeout", "90s", "--parallelism", "3", "--delivery", "exactly-once",
                "--checkpoint-interval", "PT1.5S", "--state-ttl", "2h", "--buffer-timeout", "20ms",
                "--checkpoint-dir", "file:///tmp/ckpt", "--group-id", "my-group");
        assertEquals("k1:9092,k2:9092", s.bootstrapServers());
        assertEquals("mnist_2", s.federation());
        assertEquals(3, s.minClients());
        assertEquals(5, s.clientsPerRound());
        assertEquals(7, s.rounds());
        assertEquals(-9, s.seed());
        assertEquals(4, s.localEpochs());
        assertEquals(64, s.batchSize());
        assertEquals(0.025, s.learningRate());
        assertEquals(Duration.ofSeconds(90), s.roundTimeout());
        assertEquals(3, s.parallelism());
        assertEquals(JobSettings.Delivery.EXACTLY_ONCE, s.delivery());
        assertEquals(Duration.ofMillis(1500), s.checkpointInterval());
        assertEquals(Duration.ofHours(2), s.stateTtl());
        assertEquals(Duration.ofMillis(20), s.bufferTimeout());
        assertEquals("file:///tmp/ckpt", s.checkpointDir());
        assertEquals("my-group", s.groupId());

        List<String> args = s.toArgs();
        JobSettings again = JobSettings.fromArgs(args.toArray(new String[0]));
        assertEquals(args, again.toArgs());
        assertEquals(s.roundTimeout(), again.roundTimeout());
        assertEquals(s.checkpointInterval(), again.checkpointInterval());
        assertEquals(s.bufferTimeout(), again.bufferTimeout());
        assertEquals(s.delivery(), again.delivery());
        assertEquals(s.groupId(), again.groupId());

        // Defaults (empty checkpoint dir, derived group id) survive the trip too.
        JobSettings d = parse("--bootstrap-servers", "h:1", "--federation", "f1");
        JobSettings d2 = JobSettings.fromArgs(d.toArgs().toArray(new String[0]));
        assertEquals(d.toArgs(), d2.toArgs());
        assertEquals("", d2.checkpointDir());
        assertEquals("fedstream-f1-job", d2.groupId());
    }

    @Test
    void toArgsCoversEveryFlag() {
        List<String> args = parse("--bootstrap-servers", "h:1").toArgs();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < args.size(); i += 2) {
            assertTrue(args.get(i).startsWith("--"), args.get(i));
            names.add(args.get(i).substring(2));
        }
        Set<String> flags = new HashSet<>();
        for (Flag f : JobSettings.FLAGS) {
            flags.add(f.name());
        }
        assertEquals(flags, names);
    }

    @Test
    void unknownFlag() {
        IllegalArgumentException e = fails("--bootstrap-servers", "h:1", "--roundz", "3");
        assertMentions(e, "--roundz", "--help");
    }

    @Test
    void missingValue() {
        IllegalArgumentException e = fails("--bootstrap-servers", "h:1", "--rounds");
        assertMentions(e, "--rounds", "value");
        e = fails("--rounds", "--bootstrap-servers", "h:1");
        assertMentions(e, "--rounds", "value");
    }

    @Test
    void badNumber() {
        assertMentions(fails("--bootstrap-servers", "h:1", "--rounds", "ten"), "--rounds", "whole number", "ten");
        assertMentions(fails("--bootstrap-servers", "h:1", "--seed", "1.5"), "--seed", "whole number");
        assertMentions(fails("--bootstrap-servers", "h:1", "--learning-rate", "fast"), "--learning-rate", "number", "fast");
        assertMentions(fails("--bootstrap-servers", "h:1", "--rounds", "0"), "--rounds", "at least 1");
        assertMentions(fails("--bootstrap-servers", "h:1", "--learning-rate", "-0.1"), "--learning-rate", "positive");
    }

    @Test
    void badDuration() {
        IllegalArgumentException e = fails("--bootstrap-servers", "h:1", "--round-timeout", "ten minutes");
        assertMentions(e, "--round-timeout", "30s", "PT10M", "ten minutes");
        assertMentions(fails("--bootstrap-servers", "h:1", "--state-ttl", "-5m"), "--state-ttl", "positive");
        assertMentions(fails("--bootstrap-servers", "h:1", "--checkpoint-interval", "PT0.001S"), "--checkpoint-interval", "10 ms");
    }

    @Test
    void badDelivery() {
        assertMentions(fails("--bootstrap-servers", "h:1", "--delivery", "maybe"), "--delivery", "at-least-once", "exactly-once");
    }

    @Test
    void badBufferTimeout() {
        assertMentions(fails("--bootstrap-servers", "h:1", "--buffer-timeout", "soon"), "--buffer-timeout", "5ms");
        assertMentions(fails("--bootstrap-servers", "h:1", "--buffer-timeout", "-1ms"), "--buffer-timeout", "0 or more");
    }

    @Test
    void quorumAboveClientsPerRound() {
        IllegalArgumentException e = fails("--bootstrap-servers", "h:1", "--clients-per-round", "3",
                "--min-clients-per-round", "4");
        assertMentions(e, "--min-clients-per-round", "--clients-per-round", "4");
        assertThrows(IllegalArgumentException.class,
                () -> JobSettings.builder().bootstrapServers("h:1").clientsPerRound(2).minClientsPerRound(3).build());
        // 0 means half of the clients per round, rounded up.
        assertEquals(3, parse("--bootstrap-servers", "h:1", "--clients-per-round", "5").minClientsPerRound());
        assertEquals(5, parse("--bootstrap-servers", "h:1", "--clients-per-round", "5", "--min-clients-per-round", "5")
                .minClientsPerRound());
    }

    @Test
    void badOverSelectionAndLoad() {
        assertMentions(fails("--bootstrap-servers", "h:1", "--over-selection", "-0.5"), "--over-selection");
        assertMentions(fails("--bootstrap-servers", "h:1", "--max-load", "-1"), "--max-load");
        assertMentions(fails("--bootstrap-servers", "h:1", "--heartbeat-ttl", "0s"), "--heartbeat-ttl", "positive");
        assertEquals(4, parse("--bootstrap-servers", "h:1", "--clients-per-round", "3", "--over-selection", "0.3")
                .selectedPerRound());
    }

    @Test
    void missingBootstrapServers() {
        IllegalArgumentException e = fails("--federation", "x");
        assertMentions(e, "--bootstrap-servers", "e.g.");
        assertMentions(fails("--bootstrap-servers", "  "), "--bootstrap-servers");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> JobSettings.builder().build()),
                "--bootstrap-servers");
    }

    @Test
    void badFederationId() {
        IllegalArgumentException e = fails("--bootstrap-servers", "h:1", "--federation", "a.b");
        assertMentions(e, "a.b", "letters");
    }

    @Test
    void helpListsEveryFlag() {
        String help = JobSettings.help();
        List<String> missing = new ArrayList<>();
        for (Flag f : JobSettings.FLAGS) {
            if (!help.contains("--" + f.name() + " ") || !help.contains(f.help())) {
                missing.add(f.name());
            }
        }
        assertTrue(missing.isEmpty(), "help misses " + missing + ":\n" + help);
        assertTrue(help.contains("(default PT10M)"), help);
    }
}

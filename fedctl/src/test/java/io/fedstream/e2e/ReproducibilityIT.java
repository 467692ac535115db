package io.fedstream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.launch.FederationResult;
import io.fedstream.launch.LocalFederation;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.embedded.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same seed gives the same federation: same data split, same client selections, and (because local training
 * is seeded and the aggregation sum does not depend on arrival order) the same global model, bit for bit.
 */
class ReproducibilityIT {
    /** Work folders of this class; JUnit deletes it after the last test. */
    @TempDir
    static Path tempRoot;

    private static final int ROUNDS = 3;

    @Test
    void sameSeedSameSelectionsSameModels() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Run a = run(kafka.bootstrapServers(), "repro-a");
            Run b = run(kafka.bootstrapServers(), "repro-b");
            assertTrue(a.result.finished() && b.result.finished());
            assertEquals(a.selections, b.selections, "client selections differ");
            assertEquals(digests(a.result), digests(b.result), "global models differ");
            // With 2 of 3 clients per round, the seeded selection is not the same every round.
            assertNotEquals(1, a.selections.stream().distinct().count(), "selection never changed: " + a.selections);
        }
    }

    private record Run(FederationResult result, List<List<String>> selections) {}

    private static Run run(String bootstrap, String federation) throws Exception {
        Path work = Files.createTempDirectory(tempRoot, "fedstream-repro-");
        Path dataRoot = Path.of(System.getProperty("user.dir")).getParent().resolve("data");
        FederationResult result = new LocalFederation(LocalFederation.options()
                .bootstrapServers(bootstrap).federation(federation).dataset("digits").dataRoot(dataRoot).workDir(work)
                .clients(3).clientsPerRound(2).alpha(0.5).seed(11).rounds(ROUNDS).localEpochs(1).batchSize(16)
                .learningRate(0.05).timeout(Duration.ofMinutes(3)).build()).run(r -> { });
        List<List<String>> selections = TopicReader.read(bootstrap, new Topics(federation).control(), RoundPlan.class)
                .stream().filter(p -> !p.getEvaluateOnly()).map(p -> List.copyOf(p.getSelectedClients())).toList();
        assertEquals(ROUNDS, selections.size());
        return new Run(result, selections);
    }

    private static List<String> digests(FederationResult r) {
        return r.rounds().stream().map(RoundSummary::getModelDigest).toList();
    }
}

package io.fedstream.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fedstream.bench.BenchFederation;
import io.fedstream.bench.FedAvgReference;
import io.fedstream.bench.SyntheticModel;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.robust.WithKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The job runs in the embedded MiniCluster with the network buffers {@link NetworkBuffers} gives it, at the
 * smallest parallelism and at the largest that gets 2 MiB buffers: with too few buffers for its parallelism the
 * job could not start, and a model of several full-size chunks would not come out equal to the reference.
 */
class NetworkBuffersIT extends WithKafka {
    @TempDir
    static Path tempRoot;

    private static final int CHUNKS = 5;
    private static final long FLOATS = (long) ChunkLayout.DEFAULT_CHUNK_FLOATS * (CHUNKS - 1) + 777;
    private static final int CLIENTS = 3;

    @ParameterizedTest
    @ValueSource(ints = {1, NetworkBuffers.MAX_PARALLELISM})
    void aRoundOfFullSizeChunksEqualsTheReference(int parallelism) throws Exception {
        BenchFederation.Config config = BenchFederation.config()
                .bootstrapServers(kafka.bootstrapServers()).federation("it-buffers-p" + parallelism)
                .spec(SyntheticModel.flat(FLOATS)).clients(CLIENTS).rounds(1).parallelism(parallelism)
                .jobMode(BenchFederation.JobMode.IN_PROCESS)
                .workDir(Files.createTempDirectory(tempRoot, "fedstream-buffers-it-"))
                .timeout(Duration.ofMinutes(3))
                .build();
        BenchFederation.Result result = new BenchFederation(config).run();
        assertTrue(result.finished, "parallelism " + parallelism + ": the federation did not finish");
        assertEquals(CLIENTS, result.updatesIn(0));
        FedAvgReference.Check check = FedAvgReference.check(kafka.bootstrapServers(), result.topics, 0);
        assertEquals(CLIENTS, check.participants());
        assertEquals(FLOATS, check.floats());
        assertTrue(check.publishedDigestVerified(), "the published chunks do not hash to the manifest");
        assertTrue(check.maxAbsDiff() <= 1e-6, "max abs diff " + check.maxAbsDiff());
    }
}

package io.fedstream.bench;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.RoundPlan;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.chunk.ModelIntegrityException;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.client.ClientPublisher;
import io.fedstream.protocol.client.UpdateMetrics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sidecar without DJL, for benchmarks and scale tests. It checks in with a given spec fingerprint and sample
 * count, follows its model topic ({@code read_committed}), assembles each planned model version and verifies
 * its digest, sends a trivial {@link EvalReport} for every plan (so round summaries flow), then a deterministic
 * pseudo-random delta ({@link SyntheticModel#delta}) through {@link ClientPublisher#publishUpdate} with the
 * plan's chunk size. It stops at the federation's {@link Finish}.
 *
 * <p>Memory: at most one assembled model and one delta, never both for long: the base is dropped once its
 * digest is verified, before the delta is made. An optional shared {@link Semaphore} bounds how many clients of
 * one JVM hold a model-sized buffer at once (a permit is taken at the first chunk of a model version and given
 * back after the update is sent), so many simulated clients of a huge model fit one heap. Without permits (every
 * client can hold a model at once anyway) a client keeps one model-sized array for the assembled models and its
 * deltas, so that a round does not allocate two 100 MB arrays per client: in the benchmark's JVM, next to the
 * broker, such allocations keep the garbage collector busy while the job's rounds are timed.
 *
 * <p>An optional shared {@link CyclicBarrier} makes the clients of one JVM commit together: each sends its whole
 * update, waits until every other client has too, then commits, so all the round's updates become readable at
 * once, as a plain consumer finds them when it reads a topic that is already full.
 *
 * <p>Timing (all {@link System#nanoTime()} of this JVM): when each round's update started, when its commit
 * started (every record on the broker, none readable yet) and when it had committed, and when a round's plan and
 * its base model were both fully readable here.
 */
public final class SyntheticClient implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SyntheticClient.class);

    /** Everything a synthetic client needs to know. */
    public record Settings(String bootstrapServers, Topics topics, String clientId, String specFingerprint,
                           long trainSamples, long seed, float deltaScale, Duration checkinInterval,
                           Duration heartbeatInterval, Semaphore memoryPermits, CyclicBarrier commitTogether) {
        public Settings {
            Topics.requireId("client id", clientId);
        }
    }

    private static final Duration COMMIT_BARRIER_TIMEOUT = Duration.ofMinutes(10);

    private final Settings settings;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final ClientPublisher publisher;
    private final TopicPartition modelTopic;
    private final Map<Integer, ModelAssembler> assemblers = new TreeMap<>();
    private final Map<Integer, RoundPlan> pending = new TreeMap<>();
    private final Map<Integer, Long> planSeen = new TreeMap<>();
    private final Map<Integer, Long> modelComplete = new TreeMap<>();
    private final Map<Integer, Long> updateStarted = new ConcurrentHashMap<>();
    private final Map<Integer, Long> commitStarted = new ConcurrentHashMap<>();
    private final Map<Integer, Long> committed = new ConcurrentHashMap<>();
    private final Map<Integer, Long> ready = new ConcurrentHashMap<>();
    private volatile boolean stopped;
    private volatile Finish finish;
    private volatile int roundsTrained;
    private volatile int plansHandled;
    private int lastHandledRound = -1;
    private int oldestWantedVersion;
    private boolean planSeenOnce;
    private boolean holdingPermit;
    /** The array kept for assembling models and making deltas, when there are no permits; null until the first. */
    private float[] scratch;

    public SyntheticClient(Settings settings) {
        this.settings = settings;
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Whole model chunks (1 MiB each) per fetch, several at a time.
        c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024));
        c.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024));
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumer = new KafkaConsumer<>(c);
        this.modelTopic = new TopicPartition(settings.topics().clientModel(settings.clientId()), 0);
        Properties overrides = new Properties();
        // Room for a few whole chunks in flight; a 400 MB update is sent in one transaction.
        overrides.put("buffer.memory", String.valueOf(64L * 1024 * 1024));
        overrides.put("transaction.timeout.ms", "600000");
        this.publisher = new ClientPublisher(settings.bootstrapServers(), settings.topics(), settings.clientId(), overrides,
                io.fedstream.chunk.ChunkLayout.DEFAULT_CHUNK_FLOATS);
    }

    public String clientId() {
        return settings.clientId();
    }

    public Finish finish() {
        return finish;
    }

    public boolean finished() {
        return finish != null;
    }

    public int roundsTrained() {
        return roundsTrained;
    }

    public int plansHandled() {
        return plansHandled;
    }

    /** nanoTime just before the update of {@code round} was handed to the producer, if it was sent. */
    public Long updateStartedNanos(int round) {
        return updateStarted.get(round);
    }

    /** nanoTime when every record of the update of {@code round} was on the broker and its commit began. */
    public Long commitStartedNanos(int round) {
        return commitStarted.get(round);
    }

    /** nanoTime when the transaction holding the update of {@code round} had committed. */
    public Long committedNanos(int round) {
        return committed.get(round);
    }

    /** nanoTime when the plan of {@code round} and its whole base model had both been read here. */
    public Long readyNanos(int round) {
        return ready.get(round);
    }

    @Override
    public void run() {
        consumer.assign(List.of(modelTopic));
        consumer.seekToBeginning(List.of(modelTopic));
        long nextSignal = 0;
        try {
            while (!stopped && finish == null) {
                long now = System.currentTimeMillis();
                if (now >= nextSignal) {
                    signal(now);
                    nextSignal = now + (planSeenOnce ? settings.heartbeatInterval() : settings.checkinInterval()).toMillis();
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    accept(r);
                }
                handleReadyPlans();
            }
        } catch (WakeupException e) {
            if (!stopped) {
                throw e;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            releasePermit();
            assemblers.clear();
        }
    }

    private void signal(long now) {
        if (!planSeenOnce) {
            publisher.checkIn(CheckIn.newBuilder()
                    .setFederation(settings.topics().federation()).setClientId(settings.clientId())
                    .setTrainSamples(settings.trainSamples()).setTestSamples(1)
                    .setSpecFingerprint(settings.specFingerprint()).setTimestampMs(now)
                    .setResources(Map.of()).setSidecarVersion("bench")
                    .build());
        } else {
            publisher.heartbeat(Heartbeat.newBuilder()
                    .setFederation(settings.topics().federation()).setClientId(settings.clientId())
                    .setLoad(0).setTimestampMs(now).build());
        }
    }

    private void accept(ConsumerRecord<byte[], byte[]> r) throws InterruptedException {
        SpecificRecord record;
        try {
            record = WireCodec.get().decode(r.value());
        } catch (WireFormatException e) {
            LOG.warn("{}: unreadable record at offset {}: {}", settings.clientId(), r.offset(), e.getMessage());
            return;
        }
        long now = System.nanoTime();
        if (record instanceof RoundPlan plan) {
            planSeenOnce = true;
            RoundPlan known = pending.get(plan.getRound());
            boolean newer = known == null || known.getAttempt() < plan.getAttempt();
            if (plan.getRound() > lastHandledRound && plan.getSelectedClients().contains(settings.clientId()) && newer) {
                pending.put(plan.getRound(), plan);
                planSeen.put(plan.getRound(), now);
            }
        } else if (record instanceof ModelChunk chunk) {
            if (chunk.getVersion() < oldestWantedVersion) {
                return;
            }
            ModelAssembler a = assemblers.get(chunk.getVersion());
            if (a == null) {
                acquirePermit();
                // Never shared by two models: only one assembled at a time, and never while the delta is in use.
                a = ModelAssembler.forFirst(chunk, assemblers.isEmpty() ? scratch : null);
                assemblers.put(chunk.getVersion(), a);
            }
            ChunkVerdict verdict = a.offer(chunk);
            if (verdict.isError()) {
                LOG.warn("{}: chunk {} of model version {} rejected: {}", settings.clientId(), chunk.getChunkIndex(),
                        chunk.getVersion(), verdict);
            } else if (a.isComplete() && !modelComplete.containsKey(chunk.getVersion())) {
                modelComplete.put(chunk.getVersion(), now);
            }
        } else if (record instanceof Finish f) {
            finish = f;
        }
    }

    private void handleReadyPlans() throws InterruptedException {
        while (pending.size() > 1) {
            pending.remove(pending.keySet().iterator().next());
        }
        if (pending.isEmpty()) {
            return;
        }
        RoundPlan plan = pending.values().iterator().next();
        ModelAssembler a = assemblers.get(plan.getBaseModelVersion());
        if (a == null || !a.isComplete()) {
            return;
        }
        pending.remove(plan.getRound());
        ready.put(plan.getRound(), Math.max(planSeen.get(plan.getRound()), modelComplete.get(plan.getBaseModelVersion())));
        float[] base;
        try {
            base = a.assemble(plan.getBaseModelDigest());
        } catch (ModelIntegrityException e) {
            throw new IllegalStateException(settings.clientId() + ": model for round " + plan.getRound()
                    + " failed verification: " + e.getMessage(), e);
        }
        int length = base.length;
        if (settings.memoryPermits() == null) {
            scratch = base;
        }
        // The digest is verified; a synthetic delta does not depend on the weights, so the base can go now.
        base = null;
        assemblers.keySet().removeIf(v -> v <= plan.getBaseModelVersion());
        oldestWantedVersion = plan.getBaseModelVersion() + 1;
        lastHandledRound = plan.getRound();
        publisher.evalReport(EvalReport.newBuilder()
                .setFederation(settings.topics().federation()).setRound(plan.getRound()).setClientId(settings.clientId())
                .setModelVersion(plan.getBaseModelVersion()).setModelDigest(plan.getBaseModelDigest())
                .setTestSamples(1).setLoss(0).setAccuracy(0).setEvalTimeMs(0).build());
        if (!plan.getEvaluateOnly()) {
            float[] delta = SyntheticModel.delta(settings.seed(), plan.getRound(), settings.clientId(), length,
                    settings.deltaScale(), assemblers.isEmpty() ? scratch : null);
            int round = plan.getRound();
            updateStarted.put(round, System.nanoTime());
            publisher.publishUpdate(round, settings.trainSamples(), plan.getBaseModelDigest(),
                    settings.specFingerprint(), delta, new UpdateMetrics(0, 0, 0), plan.getChunkFloats(),
                    () -> commitStarted.put(round, awaitOthers()));
            committed.put(round, System.nanoTime());
            roundsTrained++;
        }
        plansHandled++;
        releasePermit();
    }

    /** Waits at the shared barrier, if any, and returns the nanoTime it opened. */
    private long awaitOthers() {
        if (settings.commitTogether() != null) {
            try {
                settings.commitTogether().await(COMMIT_BARRIER_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(settings.clientId() + ": interrupted while waiting to commit", e);
            } catch (BrokenBarrierException | TimeoutException e) {
                throw new IllegalStateException(settings.clientId() + ": the other clients did not send their updates"
                        + " within " + COMMIT_BARRIER_TIMEOUT, e);
            }
        }
        return System.nanoTime();
    }

    private void acquirePermit() throws InterruptedException {
        if (settings.memoryPermits() != null && !holdingPermit) {
            settings.memoryPermits().acquire();
            holdingPermit = true;
        }
    }

    private void releasePermit() {
        if (holdingPermit) {
            holdingPermit = false;
            settings.memoryPermits().release();
        }
    }

    /** Asks a running client to stop; safe from any thread. */
    public void stop() {
        stopped = true;
        consumer.wakeup();
    }

    @Override
    public void close() {
        consumer.close();
        publisher.close();
    }
}

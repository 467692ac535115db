package io.fedstream.robust;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.RoundPlan;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.chunk.ModelIntegrityException;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.client.ClientPublisher;
import io.fedstream.protocol.client.UpdateMetrics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sidecar without DJL whose every move is scripted by the test. It checks in with the federation's spec
 * fingerprint, heartbeats (on a thread of its own, so a blocked script does not stop it) unless told to pause,
 * follows its model topic (read_committed), assembles each planned model version and verifies its digest, and
 * on each plan naming it runs the script of that round: by default an {@link EvalReport} and a deterministic
 * update through {@link ClientPublisher#publishUpdate}; or silence, slowness, garbage, whatever the test says.
 */
final class ScriptedClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ScriptedClient.class);

    /** What a client does with a plan that names it. Runs on the client's thread; may block. */
    interface Script {
        void onPlan(ScriptedClient client, RoundPlan plan) throws Exception;
    }

    /** Evaluate the model, then (unless the plan is evaluate-only) send the client's deterministic update. */
    static final Script NORMAL = (c, p) -> {
        c.sendEval(p);
        if (!p.getEvaluateOnly()) {
            c.sendUpdate(p);
        }
    };

    /** Do nothing at all with the plan. */
    static final Script SILENT = (c, p) -> { };

    /** Wait, then behave normally. */
    static Script slow(long millis) {
        return (c, p) -> {
            Thread.sleep(millis);
            NORMAL.onPlan(c, p);
        };
    }

    /** Silent for training plans, but evaluates the final model (so the federation can finish quickly). */
    static final Script SILENT_TRAINING = (c, p) -> {
        if (p.getEvaluateOnly()) {
            c.sendEval(p);
        }
    };

    /** An update the client sent: the round, its digest, the base model it named. */
    record Sent(int round, String digest, String baseModelDigest, long sampleCount) { }

    private final String bootstrap;
    private final Topics topics;
    private final String id;
    private final String specFingerprint;
    private final long samples;
    private final long seed;
    private final Duration heartbeatInterval;
    private final Map<Integer, Script> scripts = new ConcurrentHashMap<>();
    private volatile Script defaultScript = NORMAL;

    private final Object publishLock = new Object();
    private ClientPublisher publisher;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<Integer, ModelAssembler> assemblers = new TreeMap<>();
    private final Map<Integer, float[]> models = new ConcurrentHashMap<>();
    private final TreeMap<Integer, RoundPlan> pending = new TreeMap<>();
    private final List<RoundPlan> handled = new CopyOnWriteArrayList<>();
    private final List<Sent> sent = new CopyOnWriteArrayList<>();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private final AtomicInteger heartbeats = new AtomicInteger();
    private int lastHandledRound = -1;
    private volatile boolean planSeen;
    private volatile boolean heartbeating = true;
    private volatile double load;
    private volatile boolean stopped;
    private volatile Finish finish;
    private Thread main;
    private Thread beat;

    ScriptedClient(String bootstrap, Topics topics, String id, String specFingerprint, long samples, long seed,
                   Duration heartbeatInterval) {
        this.bootstrap = bootstrap;
        this.topics = topics;
        this.id = id;
        this.specFingerprint = specFingerprint;
        this.samples = samples;
        this.seed = seed;
        this.heartbeatInterval = heartbeatInterval;
        this.consumer = Topic.consumer(bootstrap);
        this.publisher = newPublisher();
    }

    private ClientPublisher newPublisher() {
        return new ClientPublisher(bootstrap, topics, id, new Properties(), ChunkLayout.DEFAULT_CHUNK_FLOATS);
    }

    String id() {
        return id;
    }

    long samples() {
        return samples;
    }

    Topics topics() {
        return topics;
    }

    String bootstrap() {
        return bootstrap;
    }

    String specFingerprint() {
        return specFingerprint;
    }

    /** The script for plans of {@code round} (any attempt); others use the default script. */
    ScriptedClient script(int round, Script script) {
        scripts.put(round, script);
        return this;
    }

    ScriptedClient defaultScript(Script script) {
        this.defaultScript = script;
        return this;
    }

    void pauseHeartbeats() {
        heartbeating = false;
    }

    /** Heartbeats again, the first one at once. */
    void resumeHeartbeats() {
        heartbeating = true;
        if (beat != null) {
            beat.interrupt();
        }
    }

    void load(double load) {
        this.load = load;
    }

    int heartbeatsSent() {
        return heartbeats.get();
    }

    List<Sent> sent() {
        return List.copyOf(sent);
    }

    List<RoundPlan> handledPlans() {
        return List.copyOf(handled);
    }

    List<Throwable> errors() {
        return List.copyOf(errors);
    }

    Finish finish() {
        return finish;
    }

    /** The model version this client assembled and verified, or null. */
    float[] model(int version) {
        return models.get(version);
    }

    /** The deterministic delta this client trains in {@code round}: values in [-0.01, 0.01). */
    float[] delta(int round, int length) {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + round * 7919L + id.hashCode());
        float[] d = new float[length];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) ((r.nextDouble() - 0.5) * 0.02);
        }
        return d;
    }

    ScriptedClient start() {
        main = new Thread(this::run, "scripted-" + id);
        main.setDaemon(true);
        main.start();
        beat = new Thread(this::beat, "heartbeat-" + id);
        beat.setDaemon(true);
        beat.start();
        return this;
    }

    private void beat() {
        while (!stopped && finish == null) {
            if (heartbeating) {
                long now = System.currentTimeMillis();
                try {
                    synchronized (publishLock) {
                        if (!planSeen) {
                            publisher.checkIn(CheckIn.newBuilder()
                                    .setFederation(topics.federation()).setClientId(id)
                                    .setTrainSamples(samples).setTestSamples(10)
                                    .setSpecFingerprint(specFingerprint).setTimestampMs(now)
                                    .setResources(Map.of("load", load)).setSidecarVersion("scripted")
                                    .build());
                        }
                        publisher.heartbeat(Heartbeat.newBuilder()
                                .setFederation(topics.federation()).setClientId(id)
                                .setLoad(load).setTimestampMs(now).build());
                    }
                    heartbeats.incrementAndGet();
                } catch (RuntimeException e) {
                    if (!stopped) {
                        LOG.warn("{}: heartbeat failed: {}", id, e.toString());
                    }
                }
            }
            try {
                Thread.sleep(heartbeatInterval.toMillis());
            } catch (InterruptedException e) {
                // woken early: resume or stop
            }
        }
    }

    private void run() {
        TopicPartition tp = new TopicPartition(topics.clientModel(id), 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        try {
            while (!stopped && finish == null) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    accept(r);
                }
                handleReadyPlans();
            }
        } catch (WakeupException e) {
            if (!stopped) {
                errors.add(e);
            }
        } catch (InterruptedException e) {
            if (!stopped) {
                errors.add(e);
            }
        } catch (Throwable t) {
            if (!stopped) {
                LOG.error("{}: scripted client failed", id, t);
                errors.add(t);
            }
        } finally {
            consumer.close();
        }
    }

    private void accept(ConsumerRecord<byte[], byte[]> r) {
        SpecificRecord record;
        try {
            record = WireCodec.get().decode(r.value());
        } catch (WireFormatException e) {
            errors.add(new AssertionError(id + ": unreadable record on its model topic at " + r.offset(), e));
            return;
        }
        if (record instanceof RoundPlan plan) {
            planSeen = true;
            RoundPlan known = pending.get(plan.getRound());
            boolean newer = known == null || known.getAttempt() < plan.getAttempt();
            if (plan.getRound() > lastHandledRound && plan.getSelectedClients().contains(id) && newer) {
                pending.put(plan.getRound(), plan);
            }
        } else if (record instanceof ModelChunk chunk) {
            ModelAssembler a = assemblers.computeIfAbsent(chunk.getVersion(), v -> ModelAssembler.forFirst(chunk));
            ChunkVerdict v = a.offer(chunk);
            if (v.isError()) {
                errors.add(new AssertionError(id + ": chunk " + chunk.getChunkIndex() + " of model version "
                        + chunk.getVersion() + " rejected: " + v));
            }
        } else if (record instanceof Finish f) {
            finish = f;
        }
    }

    private void handleReadyPlans() throws Exception {
        while (!pending.isEmpty()) {
            RoundPlan plan = pending.firstEntry().getValue();
            ModelAssembler a = assemblers.get(plan.getBaseModelVersion());
            if (a == null || !a.isComplete()) {
                return;
            }
            pending.remove(plan.getRound());
            float[] base;
            try {
                base = a.assemble(plan.getBaseModelDigest()).clone();
            } catch (ModelIntegrityException e) {
                errors.add(new AssertionError(id + ": model for round " + plan.getRound() + " failed verification", e));
                continue;
            }
            models.put(plan.getBaseModelVersion(), base);
            lastHandledRound = plan.getRound();
            handled.add(plan);
            Script s = scripts.getOrDefault(plan.getRound(), defaultScript);
            s.onPlan(this, plan);
        }
    }

    void sendEval(RoundPlan plan) {
        synchronized (publishLock) {
            publisher.evalReport(EvalReport.newBuilder()
                    .setFederation(topics.federation()).setRound(plan.getRound()).setClientId(id)
                    .setModelVersion(plan.getBaseModelVersion()).setModelDigest(plan.getBaseModelDigest())
                    .setTestSamples(10).setLoss(1.0 / (plan.getRound() + 1)).setAccuracy(0.5).setEvalTimeMs(1)
                    .build());
        }
    }

    /** The client's update for the plan's round, through the production publisher. */
    String sendUpdate(RoundPlan plan) {
        int length = models.get(plan.getBaseModelVersion()).length;
        return sendUpdate(plan.getRound(), plan.getBaseModelDigest(), delta(plan.getRound(), length), plan.getChunkFloats());
    }

    String sendUpdate(int round, String baseModelDigest, float[] delta, int chunkFloats) {
        synchronized (publishLock) {
            String digest = publisher.publishUpdate(round, samples, baseModelDigest, specFingerprint, delta,
                    new UpdateMetrics(0.5, 0.5, 1), chunkFloats);
            sent.add(new Sent(round, digest, baseModelDigest, samples));
            return digest;
        }
    }

    /** Like a sidecar restart: a new producer with the same transactional id fences the old one. */
    void restartPublisher() {
        synchronized (publishLock) {
            publisher.close();
            publisher = newPublisher();
        }
    }

    void stop() {
        stopped = true;
        consumer.wakeup();
        if (beat != null) {
            beat.interrupt();
        }
        if (main != null) {
            main.interrupt();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
        if (main != null) {
            main.join(10_000);
        }
        if (beat != null) {
            beat.join(10_000);
        }
        if (main == null) {
            consumer.close();
        }
        synchronized (publishLock) {
            publisher.close();
        }
    }

    static List<Throwable> errorsOf(List<ScriptedClient> clients) {
        List<Throwable> out = new ArrayList<>();
        for (ScriptedClient c : clients) {
            out.addAll(c.errors());
        }
        return Collections.unmodifiableList(out);
    }
}

package io.fedstream.sidecar;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.RoundPlan;
import io.fedstream.chunk.ChunkVerdict;
import io.fedstream.chunk.ModelAssembler;
import io.fedstream.chunk.ModelIntegrityException;
import io.fedstream.data.SiloData;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.admin.TopicProvisioner;
import io.fedstream.protocol.client.ClientPublisher;
import io.fedstream.protocol.client.UpdateMetrics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import io.fedstream.train.EvalMetrics;
import io.fedstream.train.LocalModel;
import io.fedstream.train.TrainMetrics;
import io.fedstream.train.TrainingConfig;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One silo's training sidecar. It checks in, then follows its model topic: for each plan that selects it, it
 * assembles and verifies the global model, evaluates it on the local test split, trains locally and sends the
 * delta as one transactional update. It stops at the finish message. Its consumer offsets are committed only
 * after a plan is handled, so a restarted sidecar re-reads an unfinished round and rejoins.
 */
public final class Sidecar implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);

    private final SidecarSettings settings;
    private final Topics topics;
    private final SiloData silo;
    private final LocalModel model;
    private final String specFingerprint;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final ClientPublisher publisher;
    private final Map<Integer, ModelAssembler> assemblers = new TreeMap<>();
    private final Map<Integer, RoundPlan> pending = new TreeMap<>();
    private volatile boolean stopped;
    private int lastHandledRound = -1;
    private boolean planSeen;
    private Finish finish;
    private int roundsTrained;

    public Sidecar(SidecarSettings settings) throws IOException {
        this.settings = settings;
        this.topics = settings.topics();
        this.silo = SiloData.load(settings.data());
        this.model = LocalModel.create(settings.model(), silo.featureShape(), silo.numClasses(), settings.seed());
        this.specFingerprint = model.spec().fingerprint();
        if (settings.createTopics()) {
            try (TopicProvisioner p = new TopicProvisioner(settings.bootstrapServers())) {
                p.ensureClientTopics(topics, settings.clientId());
            }
        }
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "fedstream-" + settings.federation() + "-sidecar-" + settings.clientId());
        // Static membership: a sidecar restarted after a crash takes its topic over at once. As a new dynamic member
        // it would get no partition until the dead one's session timed out (45 s by default), and miss rounds.
        c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "sidecar-" + settings.clientId());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumer = new KafkaConsumer<>(c);
        this.publisher = new ClientPublisher(settings.bootstrapServers(), topics, settings.clientId());
    }

    public String specFingerprint() {
        return specFingerprint;
    }

    /** The finish message, once the federation is over; null before. */
    public Finish finish() {
        return finish;
    }

    public int roundsTrained() {
        return roundsTrained;
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(topics.clientModel(settings.clientId())));
        long nextSignal = 0;
        try {
            while (!stopped && finish == null) {
                long now = System.currentTimeMillis();
                if (now >= nextSignal) {
                    retrying(() -> signal(now));
                    nextSignal = now + (planSeen ? settings.heartbeatInterval() : settings.checkinInterval()).toMillis();
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    accept(r);
                }
                handleReadyPlans();
            }
        } catch (WakeupException e) {
            if (!stopped) {
                throw e;
            }
        } finally {
            LOG.info("[{}] sidecar {} stopped after {} trained rounds", settings.federation(), settings.clientId(), roundsTrained);
        }
    }

    private void signal(long now) {
        if (!planSeen) {
            publisher.checkIn(CheckIn.newBuilder()
                    .setFederation(settings.federation()).setClientId(settings.clientId())
                    .setTrainSamples(silo.train().size()).setTestSamples(silo.test().size())
                    .setSpecFingerprint(specFingerprint).setTimestampMs(now)
                    // "load" is what --max-load compares, from the first check-in on (heartbeats carry it later).
                    .setResources(Map.of("cpus", (double) Runtime.getRuntime().availableProcessors(),
                            "freeMemoryMb", Runtime.getRuntime().freeMemory() / 1e6, "load", loadPerCore()))
                    .setSidecarVersion("0.1.0")
                    .build());
        } else {
            publisher.heartbeat(Heartbeat.newBuilder()
                    .setFederation(settings.federation()).setClientId(settings.clientId())
                    .setLoad(loadPerCore()).setTimestampMs(now).build());
        }
    }

    private static double loadPerCore() {
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? 0 : load / Runtime.getRuntime().availableProcessors();
    }

    private void accept(ConsumerRecord<byte[], byte[]> r) {
        SpecificRecord record;
        try {
            record = WireCodec.get().decode(r.value());
        } catch (WireFormatException e) {
            LOG.warn("[{}] skipped an unreadable record on {} at offset {}: {}", settings.federation(), r.topic(), r.offset(), e.getMessage());
            return;
        }
        if (record instanceof RoundPlan plan) {
            planSeen = true;
            boolean newer = !pending.containsKey(plan.getRound()) || pending.get(plan.getRound()).getAttempt() < plan.getAttempt();
            if (plan.getRound() > lastHandledRound && plan.getSelectedClients().contains(settings.clientId()) && newer) {
                pending.put(plan.getRound(), plan);
            }
        } else if (record instanceof ModelChunk chunk) {
            ModelAssembler a = assemblers.computeIfAbsent(chunk.getVersion(), v -> ModelAssembler.forFirst(chunk));
            ChunkVerdict verdict = a.offer(chunk);
            if (verdict.isError()) {
                LOG.warn("[{}] model chunk {} of version {} rejected: {}", settings.federation(), chunk.getChunkIndex(),
                        chunk.getVersion(), verdict);
            }
        } else if (record instanceof Finish f) {
            finish = f;
        }
    }

    private void handleReadyPlans() {
        // Only the newest plan matters: an older one was replaced by a re-plan or closed while this sidecar was away.
        while (pending.size() > 1) {
            pending.remove(pending.keySet().iterator().next());
        }
        while (!pending.isEmpty()) {
            RoundPlan plan = pending.values().iterator().next();
            if (System.currentTimeMillis() > plan.getDeadlineMs() && !plan.getEvaluateOnly()) {
                LOG.info("[{}] {} skips round {}: its deadline passed before the model arrived", settings.federation(),
                        settings.clientId(), plan.getRound());
                pending.remove(plan.getRound());
                lastHandledRound = plan.getRound();
                retrying(() -> consumer.commitSync());
                continue;
            }
            ModelAssembler a = assemblers.get(plan.getBaseModelVersion());
            if (a == null || !a.isComplete()) {
                return;
            }
            pending.remove(plan.getRound());
            float[] base;
            try {
                base = a.assemble(plan.getBaseModelDigest());
            } catch (ModelIntegrityException e) {
                LOG.error("[{}] global model for round {} failed verification, not training on it: {}",
                        settings.federation(), plan.getRound(), e.getMessage());
                assemblers.remove(plan.getBaseModelVersion());
                continue;
            }
            retrying(() -> handle(plan, base));
            lastHandledRound = plan.getRound();
            assemblers.keySet().removeIf(v -> v <= plan.getBaseModelVersion());
            retrying(() -> consumer.commitSync());
        }
    }

    private void handle(RoundPlan plan, float[] base) {
        model.setParameters(base);
        EvalMetrics eval = model.evaluate(silo.test());
        publisher.evalReport(EvalReport.newBuilder()
                .setFederation(settings.federation()).setRound(plan.getRound()).setClientId(settings.clientId())
                .setModelVersion(plan.getBaseModelVersion()).setModelDigest(plan.getBaseModelDigest())
                .setTestSamples(eval.samples()).setLoss(eval.loss()).setAccuracy(eval.accuracy())
                .setEvalTimeMs(0).build());
        if (plan.getEvaluateOnly()) {
            LOG.info("[{}] {} evaluated final model: accuracy {}", settings.federation(), settings.clientId(),
                    String.format("%.4f", eval.accuracy()));
            return;
        }
        var cfg = plan.getConfig();
        TrainingConfig training = TrainingConfig.builder()
                .localEpochs(cfg.getLocalEpochs()).batchSize(cfg.getBatchSize())
                .learningRate((float) cfg.getLearningRate())
                .seed(cfg.getSeed() ^ settings.clientId().hashCode())
                .build();
        TrainMetrics trained = model.train(silo.train(), training);
        // The trained weights become the delta in place: with the base (assembled in place from the chunks) and
        // the engine's own copy, that is all a sidecar holds of a model. The update is then encoded and sent chunk
        // by chunk, so no serialized copy of the whole update exists either.
        float[] delta = model.getParameters();
        for (int i = 0; i < delta.length; i++) {
            delta[i] -= base[i];
        }
        publisher.publishUpdate(plan.getRound(), silo.train().size(), plan.getBaseModelDigest(), specFingerprint, delta,
                new UpdateMetrics(trained.loss(), trained.accuracy(), trained.durationMs()), plan.getChunkFloats());
        roundsTrained++;
        LOG.info("[{}] {} round {}: eval accuracy {} before training, train loss {}", settings.federation(),
                settings.clientId(), plan.getRound(), String.format("%.4f", eval.accuracy()), String.format("%.4f", trained.loss()));
    }

    /**
     * Runs a step that talks to Kafka, retrying while the cluster is unreachable (a broker restart, a leader
     * election). Sending an update again is safe: a transaction either committed whole or not at all, and the job
     * counts a client's update for a round once. A fenced producer (another instance took over) is final.
     */
    private void retrying(Runnable step) {
        long delay = 200;
        for (int attempt = 1; ; attempt++) {
            try {
                step.run();
                return;
            } catch (org.apache.kafka.common.errors.ProducerFencedException
                     | org.apache.kafka.common.errors.InvalidProducerEpochException e) {
                throw e;
            } catch (WakeupException e) {
                throw e;
            } catch (org.apache.kafka.common.KafkaException e) {
                if (stopped || attempt >= 30) {
                    throw e;
                }
                LOG.warn("[{}] {}: Kafka call failed ({}); retrying in {} ms", settings.federation(), settings.clientId(),
                        e.toString(), delay);
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                delay = Math.min(delay * 2, 5_000);
            }
        }
    }

    /** Asks a running sidecar to stop; safe from any thread. */
    public void stop() {
        stopped = true;
        consumer.wakeup();
    }

    @Override
    public void close() {
        consumer.close();
        publisher.close();
        model.close();
    }
}

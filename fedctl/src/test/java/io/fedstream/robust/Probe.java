package io.fedstream.robust;

import io.fedstream.avro.Finish;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.protocol.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Follows what the job writes (control, metrics, models, dead-letter and late topics, read_committed) in a
 * background thread, so a test can wait for a plan, a decision or a summary and look at everything so far.
 */
final class Probe implements AutoCloseable {
    private final Topics topics;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<Rec> records = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile Throwable failure;

    Probe(String bootstrap, Topics topics) {
        this.topics = topics;
        this.consumer = Topic.consumer(bootstrap);
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : List.of(topics.control(), topics.metrics(), topics.models(), topics.deadLetter(), topics.late())) {
            consumer.partitionsFor(t).forEach(p -> parts.add(new TopicPartition(t, p.partition())));
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        thread = new Thread(this::run, "probe-" + topics.federation());
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (!closed) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    Rec rec = Rec.of(r.topic(), r.partition(), r.offset(), r.value() == null ? new byte[0] : r.value());
                    synchronized (records) {
                        records.add(rec);
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Throwable t) {
            failure = t;
        } finally {
            consumer.close();
        }
    }

    List<Rec> on(String topic) {
        synchronized (records) {
            return records.stream().filter(r -> r.topic().equals(topic)).toList();
        }
    }

    <T extends SpecificRecord> List<T> all(String topic, Class<T> type) {
        return on(topic).stream().filter(r -> r.is(type)).map(r -> r.as(type)).toList();
    }

    List<RoundPlan> plans() {
        return all(topics.control(), RoundPlan.class);
    }

    RoundPlan plan(int round, int attempt) {
        return plans().stream().filter(p -> p.getRound() == round && p.getAttempt() == attempt).findFirst().orElse(null);
    }

    List<RoundDecision> decisions() {
        return all(topics.control(), RoundDecision.class);
    }

    RoundDecision decision(int round) {
        return decisions().stream().filter(d -> d.getRound() == round).findFirst().orElse(null);
    }

    List<RoundSummary> summaries() {
        return all(topics.metrics(), RoundSummary.class);
    }

    RoundSummary summary(int round) {
        return summaries().stream().filter(s -> s.getRound() == round).findFirst().orElse(null);
    }

    List<ModelManifest> manifests() {
        return all(topics.models(), ModelManifest.class);
    }

    Finish finish() {
        List<Finish> f = all(topics.metrics(), Finish.class);
        return f.isEmpty() ? null : f.get(0);
    }

    /** Dead-letter records with where they are. */
    List<Rec> deadLetters() {
        return on(topics.deadLetter());
    }

    List<Rec> lates() {
        return on(topics.late());
    }

    static Rejected rejected(Rec r) {
        return r.as(Rejected.class);
    }

    void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (failure != null) {
                throw new AssertionError("probe failed while waiting for " + what, failure);
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + "\n" + describe());
            }
            Thread.sleep(50);
        }
    }

    Finish awaitFinish(Duration timeout) throws InterruptedException {
        await("the federation's finish message", timeout, () -> finish() != null);
        return finish();
    }

    /** What happened so far, for failure messages. */
    String describe() {
        StringBuilder b = new StringBuilder();
        for (RoundPlan p : plans()) {
            b.append("  plan round ").append(p.getRound()).append(" attempt ").append(p.getAttempt())
                    .append(p.getEvaluateOnly() ? " (evaluate only)" : "").append(": ").append(p.getSelectedClients()).append('\n');
        }
        for (RoundDecision d : decisions()) {
            b.append("  decision round ").append(d.getRound()).append(' ').append(d.getReason()).append(": ")
                    .append(d.getParticipants().stream().map(x -> x.getClientId()).toList()).append('\n');
        }
        for (RoundSummary s : summaries()) {
            b.append("  summary round ").append(s.getRound()).append(' ').append(s.getCloseReason())
                    .append(" participants ").append(s.getParticipants()).append(" stragglers ").append(s.getStragglers())
                    .append(" rejections ").append(s.getRejections()).append(" late ").append(s.getLateUpdates())
                    .append(" attempts ").append(s.getAttempts()).append('\n');
        }
        b.append("  dead letters: ").append(deadLetters().stream().map(r -> rejected(r).getReason() + "@" + rejected(r).getSourceTopic()
                + "/" + rejected(r).getSourcePartition() + "@" + rejected(r).getSourceOffset()).collect(Collectors.joining(", "))).append('\n');
        b.append("  late: ").append(lates().stream().map(r -> rejected(r).getReason() + "@" + rejected(r).getSourceTopic()
                + "/" + rejected(r).getSourcePartition() + "@" + rejected(r).getSourceOffset()).collect(Collectors.joining(", "))).append('\n');
        b.append("  finished: ").append(finish() != null);
        return b.toString();
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        consumer.wakeup();
        thread.join(10_000);
    }
}

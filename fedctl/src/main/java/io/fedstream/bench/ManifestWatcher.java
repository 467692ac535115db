package io.fedstream.bench;

import io.fedstream.avro.ModelManifest;
import io.fedstream.chunk.Floats;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteBufferDeserializer;

/**
 * Reads a federation's models topic ({@code read_committed}) and notes when each model version's manifest was
 * read here and, if the topic stamps records with the broker's append time, when the broker appended it.
 * It reads only the partition that the manifests' key puts them in, and skips the chunks there by their key,
 * unread: the other partitions hold chunks only.
 * <p>
 * A live watcher follows the topic from {@link #start()}, as a client would: what it notes is when a reader
 * here could see each manifest, which is what a round's end is when the append time does not tell it (an
 * exactly-once job's manifest is readable only once its transaction commits). Otherwise the broker's append
 * time is the end, and the watcher reads only when asked to {@link #catchUp}, which the benchmark does after
 * each round's window: even that one partition carries half of every new model, and fetching it would load the
 * machine while a round is timed.
 */
final class ManifestWatcher implements Runnable, AutoCloseable {
    private static final byte[] MANIFEST_KEY = Topics.MANIFEST_KEY.getBytes(StandardCharsets.UTF_8);

    private final KafkaConsumer<byte[], ByteBuffer> consumer;
    private final String topic;
    private final Map<Integer, Long> seenNanos = new ConcurrentHashMap<>();
    private final Map<Integer, Long> appendedNanos = new ConcurrentHashMap<>();
    private final Map<Integer, ModelManifest> manifests = new ConcurrentHashMap<>();
    private final boolean live;
    private volatile boolean stopped;
    private final Thread thread;

    /** {@code live}: follows the topic from {@link #start()}; otherwise reads it only in {@link #catchUp}. */
    ManifestWatcher(String bootstrapServers, Topics topics, boolean live) {
        // Large fetches: the watcher reads past every 1 MiB model chunk to reach the manifests, and must not lag.
        // Values stay views of the fetched bytes: copying every chunk would load the machine while a round is timed.
        this.consumer = new KafkaConsumer<>(TopicScan.properties(bootstrapServers, Map.of(
                "max.partition.fetch.bytes", String.valueOf(32 * 1024 * 1024),
                "fetch.max.bytes", String.valueOf(64 * 1024 * 1024))),
                new ByteArrayDeserializer(), new ByteBufferDeserializer());
        this.topic = topics.models();
        this.live = live;
        this.thread = new Thread(this, "bench-manifest-watcher-" + topics.federation());
        this.thread.setDaemon(true);
    }

    ManifestWatcher start() {
        if (live) {
            thread.start();
        }
        return this;
    }

    /**
     * Until the manifest of {@code version} is here or {@code timeout} has passed: a live watcher waits for its
     * thread, any other reads the topic in the calling thread. True if the manifest is here.
     */
    boolean catchUp(int version, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!live) {
            assign();
        }
        while (manifests.get(version) == null && System.nanoTime() < deadline) {
            if (live) {
                Thread.sleep(20);
            } else {
                pollOnce();
            }
        }
        return manifests.get(version) != null;
    }

    /** True if this watcher follows the topic as it is written (see the class comment). */
    boolean live() {
        return live;
    }

    /** nanoTime when the manifest of {@code version} was first read, or null. */
    Long seenNanos(int version) {
        return seenNanos.get(version);
    }

    /**
     * When the broker appended the manifest of {@code version}, on this JVM's nanoTime scale (to the
     * millisecond), or null if not seen yet or the topic keeps the producer's timestamps.
     */
    Long appendedNanos(int version) {
        return appendedNanos.get(version);
    }

    ModelManifest manifest(int version) {
        return manifests.get(version);
    }

    @Override
    public void run() {
        try {
            assign();
            while (!stopped) {
                pollOnce();
            }
        } catch (WakeupException e) {
            if (!stopped) {
                throw e;
            }
        }
    }

    private void assign() {
        if (!consumer.assignment().isEmpty()) {
            return;
        }
        List<TopicPartition> parts = List.of(manifestPartition(topic,
                consumer.partitionsFor(topic, Duration.ofSeconds(30)).size()));
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    private void pollOnce() {
        for (ConsumerRecord<byte[], ByteBuffer> r : consumer.poll(Duration.ofMillis(100))) {
            if (!Arrays.equals(MANIFEST_KEY, r.key())) {
                continue;
            }
            long now = System.nanoTime();
            try {
                if (WireCodec.get().decode(Floats.bytesOf(r.value())) instanceof ModelManifest m) {
                    seenNanos.putIfAbsent(m.getVersion(), now);
                    if (r.timestampType() == TimestampType.LOG_APPEND_TIME) {
                        long ago = Math.max(0, System.currentTimeMillis() - r.timestamp());
                        appendedNanos.putIfAbsent(m.getVersion(), now - ago * 1_000_000);
                    }
                    manifests.putIfAbsent(m.getVersion(), m);
                }
            } catch (WireFormatException e) {
                // Not ours to judge; the job rejects it.
            }
        }
    }

    /**
     * The partition of {@code topic} that every manifest goes to: the one a Kafka producer's default partitioner
     * picks for their key, as the job's producer and the initial model's publisher use it.
     */
    static TopicPartition manifestPartition(String topic, int partitions) {
        return new TopicPartition(topic, BuiltInPartitioner.partitionForKey(MANIFEST_KEY, partitions));
    }

    @Override
    public void close() throws InterruptedException {
        stopped = true;
        consumer.wakeup();
        thread.join(10_000);
        consumer.close();
    }
}

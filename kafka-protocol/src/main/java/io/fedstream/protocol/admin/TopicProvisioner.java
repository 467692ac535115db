package io.fedstream.protocol.admin;

import io.fedstream.protocol.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates a federation's topics through the AdminClient. Every topic keeps its records forever by default
 * (retention -1), so any retained round can be replayed; operators may shorten it per topic.
 */
public final class TopicProvisioner implements AutoCloseable {
    /** Retention of every fedstream topic: keep everything, for replay and audit. */
    static final Map<String, String> KEEP_ALL = Map.of(
            TopicConfig.RETENTION_MS_CONFIG, "-1",
            TopicConfig.RETENTION_BYTES_CONFIG, "-1");

    private final Admin admin;

    public TopicProvisioner(String bootstrapServers) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        this.admin = Admin.create(p);
    }

    /**
     * The federation-wide topics. The models topic gets {@code modelPartitions} partitions so the job reads
     * big models in parallel; the others need per-topic order and have one partition.
     */
    public void ensureFederationTopics(Topics topics, int modelPartitions) {
        List<NewTopic> list = new ArrayList<>();
        list.add(topic(topics.checkin(), 1));
        list.add(topic(topics.control(), 1));
        list.add(topic(topics.models(), modelPartitions));
        list.add(topic(topics.metrics(), 1));
        list.add(topic(topics.deadLetter(), 1));
        list.add(topic(topics.late(), 1));
        create(list);
    }

    /** A client's own pair: updates (one partition, so chunks precede their commit) and model. */
    public void ensureClientTopics(Topics topics, String clientId) {
        create(List.of(topic(topics.clientUpdates(clientId), 1), topic(topics.clientModel(clientId), 1)));
    }

    public Set<String> listTopics() {
        try {
            return admin.listTopics().names().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while listing topics", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot list topics: " + e.getCause().getMessage(), e.getCause());
        }
    }

    private static NewTopic topic(String name, int partitions) {
        return new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(KEEP_ALL);
    }

    private void create(List<NewTopic> list) {
        var result = admin.createTopics(list);
        for (var e : result.values().entrySet()) {
            try {
                e.getValue().get();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating " + e.getKey(), ie);
            } catch (ExecutionException ee) {
                if (!(ee.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException("cannot create topic " + e.getKey() + ": " + ee.getCause().getMessage(), ee.getCause());
                }
            }
        }
    }

    @Override
    public void close() {
        admin.close();
    }
}

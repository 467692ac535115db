package io.fedstream.protocol;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Topic names of one federation. Every topic is namespaced by the federation id, so many federations share
 * one Kafka cluster. A client writes only to its own updates topic and reads only its own model topic.
 */
public final class Topics {
    /** Ids become part of topic names; dots separate name parts, so ids may not contain them. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,100}");
    private static final String PREFIX = "fedstream.";
    /**
     * Key of every manifest on the models topic, where chunks are keyed by their index: with one key, all
     * manifests go to one partition, in the order they were written.
     */
    public static final String MANIFEST_KEY = "manifest";

    private final String federation;

    public Topics(String federation) {
        this.federation = requireId("federation", federation);
    }

    public static String requireId(String what, String id) {
        Objects.requireNonNull(id, what);
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException(what + " '" + id + "' is not valid: use 1-100 characters of "
                    + "letters, digits, '_' or '-' (it becomes part of Kafka topic names)");
        }
        return id;
    }

    public String federation() {
        return federation;
    }

    private String base() {
        return PREFIX + federation + ".";
    }

    public String checkin() {
        return base() + "checkin";
    }

    public String control() {
        return base() + "control";
    }

    public String models() {
        return base() + "models";
    }

    public String metrics() {
        return base() + "metrics";
    }

    public String deadLetter() {
        return base() + "deadletter";
    }

    /** Updates that came too late for their round, or were trained on an older global model. */
    public String late() {
        return base() + "late";
    }

    public String clientUpdates(String clientId) {
        return base() + "client." + requireId("client id", clientId) + ".updates";
    }

    public String clientModel(String clientId) {
        return base() + "client." + requireId("client id", clientId) + ".model";
    }

    /** Matches every client's updates topic of this federation. */
    public Pattern clientUpdatesPattern() {
        return Pattern.compile(Pattern.quote(base() + "client.") + "[A-Za-z0-9_-]+" + Pattern.quote(".updates"));
    }

    /** Everything the aggregation job reads: check-ins, control, models and every client's updates. */
    public Pattern jobInputPattern() {
        String b = Pattern.quote(base());
        return Pattern.compile(b + "(checkin|control|models|client\\.[A-Za-z0-9_-]+\\.updates)");
    }

    /** The client id encoded in a client topic name, or null if the topic is not a client topic. */
    public String clientOf(String topic) {
        String p = base() + "client.";
        if (!topic.startsWith(p)) {
            return null;
        }
        String rest = topic.substring(p.length());
        int dot = rest.indexOf('.');
        return dot <= 0 ? null : rest.substring(0, dot);
    }
}

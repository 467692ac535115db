package io.fedstream.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TopicsTest {
    private final Topics fed = new Topics("mnist-demo");
    private final Topics other = new Topics("cifar_2");

    private static List<String> allTopics(Topics t, String client) {
        return List.of(t.checkin(), t.control(), t.models(), t.metrics(), t.deadLetter(),
                t.clientUpdates(client), t.clientModel(client));
    }

    @Test
    void everyTopicIsNamespacedByItsFederation() {
        for (String topic : allTopics(fed, "alice")) {
            assertTrue(topic.startsWith("fedstream.mnist-demo."), topic);
        }
        assertEquals("fedstream.mnist-demo.client.alice.updates", fed.clientUpdates("alice"));
        assertEquals("fedstream.mnist-demo.client.alice.model", fed.clientModel("alice"));
        assertEquals("mnist-demo", fed.federation());
    }

    @Test
    void topicNamesNeverCollide() {
        // Within a federation (two clients included) and across federations, every name is distinct.
        List<String> names = new java.util.ArrayList<>();
        for (Topics t : List.of(fed, other)) {
            names.addAll(allTopics(t, "alice"));
            names.add(t.clientUpdates("bob"));
            names.add(t.clientModel("bob"));
        }
        assertEquals(names.size(), new HashSet<>(names).size(), names.toString());
    }

    @Test
    void topicNamesAreLegalKafkaNames() {
        // Kafka allows [a-zA-Z0-9._-] and at most 249 characters; the longest ids must still fit.
        String longest = "x".repeat(100);
        Topics t = new Topics(longest);
        for (String topic : allTopics(t, longest)) {
            assertTrue(topic.matches("[a-zA-Z0-9._-]+"), topic);
            assertTrue(topic.length() <= 249, topic.length() + ": " + topic);
        }
    }

    static List<String> invalidIds() {
        return List.of("a.b", "a b", " a", "", "fed/1", "naïve", "a*", "x".repeat(101));
    }

    @ParameterizedTest
    @MethodSource("invalidIds")
    void invalidIdsAreRejectedWithAHelpfulMessage(String id) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Topics(id));
        assertTrue(e.getMessage().contains("'" + id + "'"), "message should quote the id: " + e.getMessage());
        assertTrue(e.getMessage().contains("letters, digits"), "message should say what is allowed: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("federation"), e.getMessage());

        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> fed.clientUpdates(id));
        assertTrue(c.getMessage().startsWith("client id"), c.getMessage());
        assertThrows(IllegalArgumentException.class, () -> fed.clientModel(id));
    }

    @Test
    void nullIdsAreRejected() {
        assertThrows(NullPointerException.class, () -> new Topics(null));
        assertThrows(NullPointerException.class, () -> fed.clientUpdates(null));
    }

    @Test
    void validIdsAreAccepted() {
        for (String id : List.of("a", "A-9_z", "x".repeat(100), "2024-01-01")) {
            assertEquals(id, Topics.requireId("id", id));
        }
    }

    @Test
    void jobInputPatternMatchesExactlyWhatTheJobReads() {
        Pattern p = fed.jobInputPattern();
        for (String yes : List.of(fed.checkin(), fed.control(), fed.models(), fed.clientUpdates("alice"),
                fed.clientUpdates("B-2_x"))) {
            assertTrue(p.matcher(yes).matches(), "should read " + yes);
        }
        for (String no : List.of(
                fed.clientModel("alice"), // the job writes models to clients; reading them back would loop
                fed.metrics(), fed.deadLetter(),
                other.checkin(), other.models(), other.clientUpdates("alice"),
                "fedstream.mnist-demo.client..updates",
                "fedstream.mnist-demo.client.a.b.updates",
                "fedstream.mnist-demo.checkin.extra",
                "xfedstream.mnist-demo.checkin",
                "fedstream.mnist-demoX.checkin",
                "fedstream.mnist-demo.client.alice.updates2")) {
            assertFalse(p.matcher(no).matches(), "should not read " + no);
        }
    }

    @Test
    void federationIdIsQuotedInPatterns() {
        // "a-b" must not act as a character range, nor "." of a neighbour's prefix as a wildcard.
        Topics t = new Topics("a-b");
        assertTrue(t.jobInputPattern().matcher("fedstream.a-b.models").matches());
        assertFalse(t.jobInputPattern().matcher("fedstream.a_b.models").matches());
        assertTrue(t.clientUpdatesPattern().matcher(t.clientUpdates("c")).matches());
        assertFalse(t.clientUpdatesPattern().matcher(t.clientModel("c")).matches());
        assertFalse(t.clientUpdatesPattern().matcher("fedstreamXa-bXclientXcXupdates").matches());
    }

    @Test
    void clientOfRecoversTheClientId() {
        assertEquals("alice", fed.clientOf(fed.clientUpdates("alice")));
        assertEquals("alice", fed.clientOf(fed.clientModel("alice")));
        assertEquals("B-2_x", fed.clientOf(fed.clientUpdates("B-2_x")));
        assertNull(fed.clientOf(fed.checkin()));
        assertNull(fed.clientOf(fed.models()));
        // Another federation's client topic does not belong to this one.
        assertNull(fed.clientOf(other.clientUpdates("alice")));
        assertNull(fed.clientOf("fedstream.mnist-demo.client..updates"));
        assertNull(fed.clientOf("fedstream.mnist-demo.client.alice"));
    }
}

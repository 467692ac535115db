package io.fedstream.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

/**
 * The child JVMs a test started: {@link #close()} kills every one still running (in reverse order), and
 * {@link #report(Throwable)} prints the end of each one's log when the test fails.
 */
final class ProcessGroup implements AutoCloseable {
    private final List<ChildJvm> children = new ArrayList<>();
    private final List<KafkaBrokerProcess> brokers = new ArrayList<>();

    ChildJvm add(ChildJvm child) {
        children.add(child);
        return child;
    }

    KafkaBrokerProcess add(KafkaBrokerProcess broker) {
        brokers.add(broker);
        return broker;
    }

    /** Throws if one of {@code required} is no longer running (it crashed or exited on its own). */
    static void requireAlive(ChildJvm... required) {
        for (ChildJvm c : required) {
            Integer exit = c.exitCode();
            if (exit != null) {
                throw new AssertionError(c.name() + " exited with code " + exit + "\n" + c.tail(60));
            }
        }
    }

    /** Asserts that every sidecar ended on its own within a minute (at the federation's Finish) with exit code 0. */
    static void assertStoppedAtFinish(ChildJvm... sidecars) throws InterruptedException {
        for (ChildJvm s : sidecars) {
            assertTrue(s.awaitExit(60_000), s.name() + " did not stop at the Finish record");
            assertEquals(0, s.exitCode(), s.name() + " exit code");
        }
    }

    /** Prints the tail of every process's log (call it from the test's catch block, then rethrow). */
    void report(Throwable failure) {
        StringBuilder sb = new StringBuilder("\n===== test failed: " + failure + "\n");
        for (ChildJvm c : children) {
            sb.append("===== ").append(c).append(", log ").append(c.log()).append(" (tail)\n").append(c.tail(80)).append('\n');
        }
        for (KafkaBrokerProcess b : brokers) {
            sb.append("===== ").append(b).append(" (tail)\n").append(b.tail(60)).append('\n');
        }
        System.out.println(sb);
    }

    @Override
    public void close() {
        for (int i = children.size() - 1; i >= 0; i--) {
            children.get(i).close();
        }
    }
}

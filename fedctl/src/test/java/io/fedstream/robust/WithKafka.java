package io.fedstream.robust;

import io.fedstream.protocol.embedded.EmbeddedKafka;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * One in-process KRaft broker per test class; every scenario uses its own federation (topic namespace) on it.
 * Public for the test classes of other packages that need one broker for several scenarios too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class WithKafka {
    protected EmbeddedKafka kafka;

    @BeforeAll
    protected void startKafka() {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    protected void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }
}

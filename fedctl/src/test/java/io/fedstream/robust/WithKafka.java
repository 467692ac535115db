package io.fedstream.robust;

import io.fedstream.protocol.embedded.EmbeddedKafka;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** One in-process KRaft broker per test class; every scenario uses its own federation (topic namespace) on it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class WithKafka {
    protected EmbeddedKafka kafka;

    @BeforeAll
    void startKafka() {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }
}

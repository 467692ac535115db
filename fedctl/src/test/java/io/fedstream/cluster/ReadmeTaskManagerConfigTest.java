package io.fedstream.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReadmeTaskManagerConfigTest {

    @Test
    void readsTheEntriesOfTheBlockAfterItsIntroduction() {
        Map<String, String> entries = ReadmeTaskManagerConfig.parse(List.of(
                "```yaml",
                "not.this: 1",
                "```",
                "For large models, " + ReadmeTaskManagerConfig.INTRODUCTION + ", in config.yaml:",
                "",
                "```yaml",
                "# a comment",
                "env.java.opts.taskmanager: -XX:+UseParallelGC -Xss2m",
                "",
                "taskmanager.memory.segment-size: 2mb",
                "```",
                "later.key: 3"));
        assertEquals(Map.of("env.java.opts.taskmanager", "-XX:+UseParallelGC -Xss2m",
                "taskmanager.memory.segment-size", "2mb"), entries);
    }

    @Test
    void aMissingOrMalformedBlockIsAnError() {
        assertThrows(IllegalStateException.class, () -> ReadmeTaskManagerConfig.parse(List.of("no block here")));
        assertThrows(IllegalStateException.class, () -> ReadmeTaskManagerConfig.parse(List.of(
                ReadmeTaskManagerConfig.INTRODUCTION, "```yaml", "just words", "```")));
        assertThrows(IllegalStateException.class, () -> ReadmeTaskManagerConfig.parse(List.of(
                ReadmeTaskManagerConfig.INTRODUCTION, "```yaml", "# only a comment", "```")));
    }

    @Test
    void theReadmeGivesTheCollectorAndTheNetworkBuffers() throws Exception {
        Map<String, String> readme = ReadmeTaskManagerConfig.load();
        assertTrue(readme.getOrDefault(FlinkSessionCluster.TASK_MANAGER_JAVA_OPTS, "").contains("-XX:+UseParallelGC"), readme.toString());
        assertEquals("2mb", readme.get("taskmanager.memory.segment-size"), readme.toString());
        assertEquals("256mb", readme.get("taskmanager.memory.network.min"), readme.toString());
        assertEquals("256mb", readme.get("taskmanager.memory.network.max"), readme.toString());
    }
}

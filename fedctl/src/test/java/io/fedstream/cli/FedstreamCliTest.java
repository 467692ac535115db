package io.fedstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CLI mistakes print what was wrong and how to fix it, with exit code 2; help lists every command and flag. */
class FedstreamCliTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream originalOut;
    private PrintStream originalErr;

    @BeforeEach
    void capture() {
        originalOut = System.out;
        originalErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(originalOut);
        System.setErr(originalErr);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpListsEveryCommand() {
        assertEquals(0, Fedstream.run(new String[] {"--help"}));
        for (Command c : Fedstream.COMMANDS) {
            assertTrue(out().contains(c.name()), "help misses " + c.name());
        }
    }

    @Test
    void noArgumentsPrintsUsageAndFails() {
        assertEquals(2, Fedstream.run(new String[0]));
        assertTrue(out().contains("Usage: fedstream <command>"));
    }

    @Test
    void unknownCommandIsNamed() {
        assertEquals(2, Fedstream.run(new String[] {"deploy"}));
        assertTrue(err().contains("unknown command 'deploy'"), err());
    }

    @Test
    void commandHelpListsItsFlags() {
        assertEquals(0, Fedstream.run(new String[] {"demo", "--help"}));
        for (var f : DemoCommand.FLAGS) {
            assertTrue(out().contains("--" + f.name()), "demo help misses --" + f.name());
        }
        out.reset();
        assertEquals(0, Fedstream.run(new String[] {"job", "--help"}));
        for (var f : io.fedstream.job.JobSettings.FLAGS) {
            assertTrue(out().contains("--" + f.name()), "job help misses --" + f.name());
        }
        out.reset();
        assertEquals(0, Fedstream.run(new String[] {"sidecar", "--help"}));
        for (var f : io.fedstream.sidecar.SidecarSettings.FLAGS) {
            assertTrue(out().contains("--" + f.name()), "sidecar help misses --" + f.name());
        }
    }

    @Test
    void unknownFlagSaysWhereToLook() {
        assertEquals(2, Fedstream.run(new String[] {"demo", "--roundz", "3"}));
        assertTrue(err().contains("unknown flag --roundz"), err());
        assertTrue(err().contains("fedstream demo --help"), err());
    }

    @Test
    void badValueNamesTheFlag() {
        assertEquals(2, Fedstream.run(new String[] {"demo", "--rounds", "many"}));
        assertTrue(err().contains("--rounds must be a whole number, got 'many'"), err());
        err.reset();
        assertEquals(2, Fedstream.run(new String[] {"demo", "--model", "transformer"}));
        assertTrue(err().contains("--model must be logreg, mlp or cnn"), err());
        err.reset();
        assertEquals(2, Fedstream.run(new String[] {"demo", "--alpha", "0"}));
        assertTrue(err().contains("--alpha must be positive"), err());
    }

    @Test
    void missingRequiredFlagShowsAnExample() {
        assertEquals(2, Fedstream.run(new String[] {"sidecar", "--client-id", "a"}));
        assertTrue(err().contains("--bootstrap-servers is required, e.g. --bootstrap-servers 127.0.0.1:9092"), err());
        err.reset();
        assertEquals(2, Fedstream.run(new String[] {"job", "--bootstrap-servers", "127.0.0.1:9092", "--delivery", "maybe"}));
        assertTrue(err().contains("--delivery must be at-least-once or exactly-once, got 'maybe'"), err());
    }

    @Test
    void invalidClientIdIsExplained() {
        assertEquals(2, Fedstream.run(new String[] {"sidecar", "--bootstrap-servers", "127.0.0.1:9", "--client-id", "a.b",
                "--data", "x"}));
        assertTrue(err().contains("client id 'a.b' is not valid"), err());
    }

    @Test
    void partitionWritesSiloFolders(@TempDir Path dir) throws Exception {
        Path dataRoot = Path.of(System.getProperty("user.dir")).getParent().resolve("data");
        assertEquals(0, Fedstream.run(new String[] {"partition", "--dataset", "digits", "--clients", "3", "--alpha", "0.5",
                "--out", dir.toString(), "--data-dir", dataRoot.toString()}));
        for (int i = 0; i < 3; i++) {
            Path silo = io.fedstream.data.SiloData.siloDir(dir, i);
            assertTrue(Files.isDirectory(silo), "missing " + silo);
            assertTrue(io.fedstream.data.SiloData.load(silo).train().size() > 0);
        }
    }
}

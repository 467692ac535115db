package io.fedstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.Test;

/**
 * The schema history kept under {@code io/fedstream/avro/history}: every old version listed in the index must
 * still be readable by the current generated class, since old sidecars keep writing it.
 */
class SchemaHistoryTest {
    private static final String DIR = "/io/fedstream/avro/history/";

    private static List<String> index() throws IOException {
        try (InputStream in = SchemaHistoryTest.class.getResourceAsStream(DIR + "index.txt")) {
            assertNotNull(in, "history index is not packaged");
            List<String> names = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    names.add(line.trim());
                }
            }
            return names;
        }
    }

    private static Schema history(String name) throws IOException {
        try (InputStream in = SchemaHistoryTest.class.getResourceAsStream(DIR + name)) {
            assertNotNull(in, name + " is listed in the index but not packaged");
            return new Schema.Parser().parse(in);
        }
    }

    private static Schema currentOf(Schema old) throws ClassNotFoundException {
        return SpecificData.get().getSchema(Class.forName(old.getFullName()));
    }

    @Test
    void everyListedOldSchemaIsReadableByItsCurrentClass() throws Exception {
        List<String> names = index();
        assertFalse(names.isEmpty());
        for (String name : names) {
            Schema old = history(name);
            Schema current = currentOf(old);
            SchemaCompatibility.SchemaPairCompatibility compat =
                    SchemaCompatibility.checkReaderWriterCompatibility(current, old);
            assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE, compat.getType(),
                    name + ": " + compat.getDescription());
            // An entry equal to the current schema would be a mistake (nothing to resolve) and, with readers
            // looking schemas up by fingerprint, a sign that the "old" version was never actually frozen.
            assertNotEquals(SchemaNormalization.parsingFingerprint64(current),
                    SchemaNormalization.parsingFingerprint64(old), name + " is identical to the current schema");
        }
    }

    @Test
    void v1CheckInBytesResolveToCurrentCheckInWithDefaults() throws Exception {
        Schema v1 = history("CheckIn-v1.avsc");
        GenericData.Record r = new GenericData.Record(v1);
        r.put("federation", "fed");
        r.put("clientId", "old-sidecar");
        r.put("trainSamples", 60L);
        r.put("testSamples", 10L);
        r.put("specFingerprint", "abc");
        r.put("timestampMs", 42L);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericData.Record>(v1).write(r, enc);
        enc.flush();

        CheckIn c = new SpecificDatumReader<CheckIn>(v1, CheckIn.getClassSchema())
                .read(null, DecoderFactory.get().binaryDecoder(out.toByteArray(), null));
        assertEquals("old-sidecar", c.getClientId());
        assertEquals(60L, c.getTrainSamples());
        assertEquals(10L, c.getTestSamples());
        assertEquals(42L, c.getTimestampMs());
        assertTrue(c.getResources().isEmpty());
        assertEquals("", c.getSidecarVersion());
    }
}

package io.fedstream.protocol.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.TensorShape;
import io.fedstream.avro.UpdateChunk;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WireCodecTest {
    private static final WireCodec CODEC = WireCodec.get();
    private static final int HEADER = 10;

    static Stream<Arguments> records() {
        return SampleRecords.all().entrySet().stream().map(e -> Arguments.of(e.getKey().getSimpleName(), e.getValue()));
    }

    @Test
    void samplesCoverEveryRecordType() {
        // Guards the parameterized tests below: a record type added to WireCodec without a sample here would
        // otherwise silently go untested.
        assertEquals(Set.copyOf(WireCodec.RECORD_TYPES), SampleRecords.all().keySet());
        for (var e : SampleRecords.all().entrySet()) {
            assertEquals(e.getKey(), e.getValue().getClass());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("records")
    void roundTripsEveryRecordType(String name, SpecificRecord record) throws Exception {
        byte[] bytes = CODEC.encode(record);
        SpecificRecord back = CODEC.decode(bytes);
        assertEquals(record.getClass(), back.getClass());
        assertEquals(record, back);
        // Typed decode must agree with the untyped one.
        assertEquals(record, CODEC.decode(bytes, record.getClass()));
        // Encoding must not consume the record's ByteBuffers: a second encode gives the same bytes.
        assertArrayEquals(bytes, CODEC.encode(record), "encoding is not repeatable for " + name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("records")
    void decodingWithSharedBytesGivesTheSameRecord(String name, SpecificRecord record) throws Exception {
        byte[] bytes = CODEC.encode(record);
        assertEquals(record, CODEC.decodeSharingBytes(bytes));
        assertEquals(CODEC.decode(bytes), CODEC.decodeSharingBytes(bytes));
    }

    @Test
    void anEncodedValueIsItsOwnAndOutlivesTheNextEncodeOnTheSameThread() throws Exception {
        // Avro encodes into one buffer per thread; each value returned must be a copy of it.
        SpecificRecord chunk = SampleRecords.all().get(ModelChunk.class);
        SpecificRecord heartbeat = SampleRecords.all().get(Heartbeat.class);
        byte[] first = CODEC.encode(chunk);
        byte[] copyOfFirst = first.clone();
        byte[] second = CODEC.encode(heartbeat);
        assertArrayEquals(copyOfFirst, first);
        assertEquals(chunk, CODEC.decode(first));
        assertEquals(heartbeat, CODEC.decode(second));
        assertNotSame(first, CODEC.encode(chunk));
    }

    @Test
    void sharedChunkDataIsAViewOfTheEncodedRecordNotACopy() throws Exception {
        byte[] payload = new byte[4 * 1000];
        new Random(3).nextBytes(payload);
        UpdateChunk u = (UpdateChunk) SampleRecords.all().get(UpdateChunk.class);
        u.setData(ByteBuffer.wrap(payload));
        byte[] bytes = CODEC.encode(u);
        UpdateChunk back = (UpdateChunk) CODEC.decodeSharingBytes(bytes);
        assertSame(bytes, back.getData().array());
        assertArrayEquals(payload, bytes(back.getData()));
        // The fields after the data (the digest) and before it come through as well.
        assertEquals(u.getChunkDigest(), back.getChunkDigest());
        assertEquals(u.getBaseModelDigest(), back.getBaseModelDigest());
        // A plain decode copies: the view is the only difference.
        assertNotSame(bytes, CODEC.decode(bytes, UpdateChunk.class).getData().array());
        assertEquals(CODEC.decode(bytes), back);

        ModelChunk m = (ModelChunk) SampleRecords.all().get(ModelChunk.class);
        m.setData(ByteBuffer.wrap(payload));
        byte[] model = CODEC.encode(m);
        ModelChunk mBack = (ModelChunk) CODEC.decodeSharingBytes(model);
        assertSame(model, mBack.getData().array());
        assertEquals(m, mBack);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("records")
    void headerIsSingleObjectMagicPlusWriterFingerprint(String name, SpecificRecord record) throws Exception {
        byte[] bytes = CODEC.encode(record);
        assertEquals((byte) 0xC3, bytes[0]);
        assertEquals((byte) 0x01, bytes[1]);
        long expected = SchemaNormalization.parsingFingerprint64(SpecificData.get().getSchema(record.getClass()));
        long onWire = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(expected, onWire, "fingerprint bytes of " + name);
        assertEquals(expected, WireCodec.fingerprintOf(bytes));
    }

    @Test
    void fingerprintsOfAllTypesAreDistinct() {
        // Fingerprints are the only type tag on the wire; two equal ones would make decoding ambiguous.
        Set<Long> seen = new HashSet<>();
        for (Class<? extends SpecificRecord> type : WireCodec.RECORD_TYPES) {
            assertTrue(seen.add(SchemaNormalization.parsingFingerprint64(SpecificData.get().getSchema(type))), type.getName());
        }
    }

    @Test
    void typedDecodeOfAnotherTypeIsCorrupt() {
        byte[] heartbeat = CODEC.encode(SampleRecords.all().get(Heartbeat.class));
        WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(heartbeat, CheckIn.class));
        assertEquals(WireFormatException.CORRUPT, e.reason());
        assertTrue(e.getMessage().contains("CheckIn") && e.getMessage().contains("Heartbeat"), e.getMessage());
    }

    @Test
    void encodingANonWireRecordIsRejected() {
        // TensorShape is a generated SpecificRecord, but only nested inside ModelManifest, never on a topic.
        TensorShape nested = new TensorShape("w", List.of(3L));
        assertThrows(IllegalArgumentException.class, () -> CODEC.encode(nested));
    }

    static Stream<Arguments> notAvro() {
        byte[] json = "{\"federation\":\"mnist-demo\"}".getBytes(StandardCharsets.UTF_8);
        byte[] valid = WireCodec.get().encode(SampleRecords.all().get(Heartbeat.class));
        byte[] wrongSecondMagic = valid.clone();
        wrongSecondMagic[1] = 0x02;
        byte[] wrongFirstMagic = valid.clone();
        wrongFirstMagic[0] = (byte) 0xC2;
        return Stream.of(
                Arguments.of("null", null),
                Arguments.of("empty", new byte[0]),
                Arguments.of("json", json),
                Arguments.of("magic only", new byte[] {(byte) 0xC3, 0x01}),
                Arguments.of("header cut inside fingerprint", Arrays.copyOf(valid, HEADER - 1)),
                Arguments.of("wrong second magic byte", wrongSecondMagic),
                Arguments.of("wrong first magic byte", wrongFirstMagic));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("notAvro")
    void valuesWithoutHeaderAreNotAvro(String name, byte[] value) {
        WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(value));
        assertEquals(WireFormatException.NOT_AVRO, e.reason(), name);
        assertEquals(WireFormatException.NOT_AVRO,
                assertThrows(WireFormatException.class, () -> WireCodec.fingerprintOf(value)).reason());
    }

    @Test
    void validHeaderWithUnknownFingerprintIsUnknownSchema() {
        byte[] bytes = CODEC.encode(SampleRecords.all().get(Heartbeat.class));
        long unknown = 0x0123_4567_89AB_CDEFL;
        ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(unknown);
        WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(bytes));
        assertEquals(WireFormatException.UNKNOWN_SCHEMA, e.reason());
        assertTrue(e.getMessage().contains(Long.toHexString(unknown)), "message should name the fingerprint: " + e.getMessage());
    }

    @Test
    void recordOfAnUnregisteredSchemaVersionIsUnknownSchema() throws Exception {
        // A hypothetical future CheckIn (one more field) written by a newer sidecar: same record name, but its
        // fingerprint is neither current nor in the history, so the codec must say so rather than guess.
        Schema future = checkInWithExtraField();
        GenericData.Record r = new GenericData.Record(future);
        r.put("federation", "f");
        r.put("clientId", "c");
        r.put("trainSamples", 1L);
        r.put("testSamples", 1L);
        r.put("specFingerprint", "x");
        r.put("timestampMs", 1L);
        r.put("resources", Map.of());
        r.put("sidecarVersion", "9");
        r.put("gpu", "h100");
        byte[] bytes = bytes(new BinaryMessageEncoder<GenericData.Record>(GenericData.get(), future).encode(r));
        WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(bytes));
        assertEquals(WireFormatException.UNKNOWN_SCHEMA, e.reason());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("records")
    void everyTruncationOfTheBodyIsAWireFormatError(String name, SpecificRecord record) {
        byte[] full = CODEC.encode(record);
        // Every body byte counts: any prefix, from an empty body up to one byte short, cannot be a full record.
        for (int len = HEADER; len < full.length; len++) {
            byte[] cut = Arrays.copyOf(full, len);
            int l = len;
            WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(cut),
                    () -> name + " cut to " + l + " of " + full.length + " bytes decoded");
            assertEquals(WireFormatException.CORRUPT, e.reason(), name + " cut to " + len);
            e = assertThrows(WireFormatException.class, () -> CODEC.decodeSharingBytes(cut),
                    () -> name + " cut to " + l + " of " + full.length + " bytes decoded sharing its bytes");
            assertEquals(WireFormatException.CORRUPT, e.reason(), name + " cut to " + len + ", sharing");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("records")
    void garbageBodiesNeverEscapeAsOtherExceptions(String name, SpecificRecord record) {
        // A job reading untrusted client topics must turn any bad value into a dead-letter reason, never crash.
        // Random bodies (and random single-byte corruptions of a valid body) behind a valid header either
        // decode to something or fail with WireFormatException.
        byte[] valid = CODEC.encode(record);
        Random random = new Random(name.hashCode());
        for (int i = 0; i < 2_000; i++) {
            byte[] value;
            if (i % 2 == 0) {
                value = Arrays.copyOf(valid, HEADER + random.nextInt(64));
                for (int j = HEADER; j < value.length; j++) {
                    value[j] = (byte) random.nextInt();
                }
            } else {
                value = valid.clone();
                value[HEADER + random.nextInt(valid.length - HEADER)] = (byte) random.nextInt();
            }
            SpecificRecord copied = null;
            try {
                copied = CODEC.decode(value);
            } catch (WireFormatException e) {
                assertEquals(WireFormatException.CORRUPT, e.reason());
            } catch (RuntimeException | Error e) {
                fail(name + ": value " + Arrays.toString(value) + " escaped as " + e, e);
            }
            // Sharing the bytes decodes exactly what a plain decode does, and fails where it fails.
            try {
                assertEquals(copied, CODEC.decodeSharingBytes(value), name + ": value " + Arrays.toString(value));
            } catch (WireFormatException e) {
                assertEquals(null, copied, name + ": only the sharing decode failed on " + Arrays.toString(value));
                assertEquals(WireFormatException.CORRUPT, e.reason());
            } catch (RuntimeException | Error e) {
                fail(name + ": value " + Arrays.toString(value) + " escaped the sharing decode as " + e, e);
            }
        }
    }

    @Test
    void hugeLengthPrefixIsCorruptNotOutOfMemory() throws Exception {
        // 20 bytes claiming a 1.5 GB federation string: Avro alone would allocate the 1.5 GB before noticing
        // the bytes are not there, so one malicious client record could take down a task manager.
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(body, null);
        enc.writeLong(1_500_000_000L);
        enc.writeFixed("mnist".getBytes(StandardCharsets.UTF_8));
        enc.flush();
        byte[] value = withHeader(Heartbeat.getClassSchema(), body.toByteArray());
        WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(value));
        assertEquals(WireFormatException.CORRUPT, e.reason());
    }

    @Test
    void hugeBlockCountWithSmallByteSizeIsCorrupt() throws Exception {
        // Array blocks may carry a byte size next to a negative item count. A reader that trusted the small
        // byte size would still pre-size the array from the count: 2^30 participants from a 30-byte value.
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(body, null);
        enc.writeString("mnist-demo");
        enc.writeInt(3); // round
        enc.writeInt(2); // baseModelVersion
        enc.writeInt(1); // chunkCount
        enc.writeLong(-(1L << 30)); // participants: a block of 2^30 items ...
        enc.writeLong(4); // ... said to take 4 bytes
        enc.writeFixed(new byte[] {2, 'a', 0, 0});
        enc.flush();
        byte[] value = withHeader(io.fedstream.avro.RoundDecision.getClassSchema(), body.toByteArray());
        WireFormatException e = assertThrows(WireFormatException.class, () -> CODEC.decode(value));
        assertEquals(WireFormatException.CORRUPT, e.reason());
    }

    @Test
    void v1CheckInDecodesToCurrentClassWithDefaults() throws Exception {
        Schema v1 = historySchema("CheckIn-v1.avsc");
        assertEquals(CheckIn.getClassSchema().getFullName(), v1.getFullName());

        GenericData.Record old = new GenericData.Record(v1);
        old.put("federation", "mnist-demo");
        old.put("clientId", "legacy-sidecar");
        old.put("trainSamples", 5_400L);
        old.put("testSamples", 900L);
        old.put("specFingerprint", SampleRecords.FP);
        old.put("timestampMs", SampleRecords.T0);
        byte[] bytes = bytes(new BinaryMessageEncoder<GenericData.Record>(GenericData.get(), v1).encode(old));

        assertEquals(SchemaNormalization.parsingFingerprint64(v1), WireCodec.fingerprintOf(bytes),
                "the v1 writer must stamp its own fingerprint, or this test is not testing evolution");
        CheckIn decoded = CODEC.decode(bytes, CheckIn.class);
        assertEquals("mnist-demo", decoded.getFederation());
        assertEquals("legacy-sidecar", decoded.getClientId());
        assertEquals(5_400L, decoded.getTrainSamples());
        assertEquals(900L, decoded.getTestSamples());
        assertEquals(SampleRecords.FP, decoded.getSpecFingerprint());
        assertEquals(SampleRecords.T0, decoded.getTimestampMs());
        assertTrue(decoded.getResources().isEmpty(), "resources default: " + decoded.getResources());
        assertEquals("", decoded.getSidecarVersion());

        // The decoded v1 record re-encodes as a current record (that is what the job would forward).
        byte[] reencoded = CODEC.encode(decoded);
        assertEquals(SchemaNormalization.parsingFingerprint64(CheckIn.getClassSchema()), WireCodec.fingerprintOf(reencoded));
        assertEquals(decoded, CODEC.decode(reencoded));
    }

    @Test
    void v1ChunkAggregatedDecodesWithNoRejections() throws Exception {
        // Written by a job before chunk aggregators reported their rejections: a restored job reads such records
        // back from the control topic.
        Schema v1 = historySchema("ChunkAggregated-v1.avsc");
        GenericData.Record old = new GenericData.Record(v1);
        old.put("federation", "mnist-demo");
        old.put("round", 3);
        old.put("version", 4);
        old.put("chunkIndex", 1);
        old.put("chunkCount", 2);
        old.put("chunkDigest", SampleRecords.FP);
        old.put("contributors", 5);
        old.put("finishedAtMs", SampleRecords.T0);
        byte[] bytes = bytes(new BinaryMessageEncoder<GenericData.Record>(GenericData.get(), v1).encode(old));
        assertEquals(SchemaNormalization.parsingFingerprint64(v1), WireCodec.fingerprintOf(bytes));
        assertNotEquals(SchemaNormalization.parsingFingerprint64(io.fedstream.avro.ChunkAggregated.getClassSchema()),
                WireCodec.fingerprintOf(bytes));

        io.fedstream.avro.ChunkAggregated decoded = CODEC.decode(bytes, io.fedstream.avro.ChunkAggregated.class);
        assertEquals(4, decoded.getVersion());
        assertEquals(5, decoded.getContributors());
        assertEquals(0, decoded.getRejectedRecords());
    }

    @Test
    void v1FingerprintDiffersFromCurrent() throws Exception {
        // Lookup is by fingerprint, so without the history entry a v1 record would be UNKNOWN_SCHEMA. That only
        // holds if the fingerprints differ; if a schema change ever left them equal, v1 bytes would be read
        // with the v2 schema and misdecoded instead.
        long v1 = SchemaNormalization.parsingFingerprint64(historySchema("CheckIn-v1.avsc"));
        long current = SchemaNormalization.parsingFingerprint64(CheckIn.getClassSchema());
        assertNotEquals(current, v1);
    }

    @Test
    void everyHistorySchemaIsListedAndReadableByItsCurrentClass() throws Exception {
        List<String> listed = new ArrayList<>();
        try (InputStream in = WireCodec.class.getResourceAsStream("/io/fedstream/avro/history/index.txt")) {
            assertTrue(in != null, "history index missing from the classpath");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    listed.add(line.trim());
                }
            }
        }
        assertTrue(listed.contains("CheckIn-v1.avsc"), "index: " + listed);
        for (String name : listed) {
            Schema old = historySchema(name);
            Class<?> current = WireCodec.RECORD_TYPES.stream()
                    .filter(t -> SpecificData.get().getSchema(t).getFullName().equals(old.getFullName()))
                    .findFirst().orElseThrow(() -> new AssertionError(name + " is not an old version of a wire type"));
            var compat = org.apache.avro.SchemaCompatibility.checkReaderWriterCompatibility(
                    SpecificData.get().getSchema(current), old);
            assertEquals(org.apache.avro.SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE, compat.getType(),
                    name + ": " + compat.getDescription());
        }
    }

    @Test
    void decodingIsSafeFromManyThreads() throws Exception {
        // One WireCodec instance is shared by every operator thread of a task manager.
        List<byte[]> values = new ArrayList<>();
        List<SpecificRecord> expected = new ArrayList<>();
        for (SpecificRecord r : SampleRecords.all().values()) {
            values.add(CODEC.encode(r));
            expected.add(r);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                tasks.add(() -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 5_000; i++) {
                        int k = random.nextInt(values.size());
                        SpecificRecord back = CODEC.decode(values.get(k));
                        if (!expected.get(k).equals(back)) {
                            throw new AssertionError("thread " + seed + " decoded " + back);
                        }
                        if (!Arrays.equals(values.get(k), CODEC.encode(expected.get(k)))) {
                            throw new AssertionError("thread " + seed + " encoded differently");
                        }
                    }
                    return null;
                });
            }
            for (Future<Void> f : pool.invokeAll(tasks)) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void chunkPayloadsSurviveByteForByte() throws Exception {
        // Bytes fields carry the model; check a payload with every byte value, including ones that look like
        // the C3 01 magic, comes back identical.
        byte[] payload = new byte[4 * 256];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) i;
        }
        ModelChunk c = ((ModelChunk) SampleRecords.all().get(ModelChunk.class));
        c.setData(ByteBuffer.wrap(payload));
        ModelChunk back = CODEC.decode(CODEC.encode(c), ModelChunk.class);
        byte[] got = new byte[back.getData().remaining()];
        back.getData().duplicate().get(got);
        assertArrayEquals(payload, got);

        Rejected rej = (Rejected) SampleRecords.all().get(Rejected.class);
        rej.setClientId(null);
        rej.setRound(null);
        Rejected rejBack = CODEC.decode(CODEC.encode(rej), Rejected.class);
        assertEquals(null, rejBack.getClientId());
        assertEquals(null, rejBack.getRound());
        assertInstanceOf(UpdateChunk.class, CODEC.decode(CODEC.encode(SampleRecords.all().get(UpdateChunk.class))));
    }

    static Schema historySchema(String file) throws IOException {
        try (InputStream in = WireCodec.class.getResourceAsStream("/io/fedstream/avro/history/" + file)) {
            if (in == null) {
                throw new AssertionError("history schema " + file + " is not on the classpath");
            }
            return new Schema.Parser().parse(in);
        }
    }

    static byte[] withHeader(Schema writer, byte[] body) {
        ByteBuffer out = ByteBuffer.allocate(HEADER + body.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put((byte) 0xC3).put((byte) 0x01).putLong(SchemaNormalization.parsingFingerprint64(writer)).put(body);
        return out.array();
    }

    static byte[] bytes(ByteBuffer buf) {
        byte[] out = new byte[buf.remaining()];
        buf.duplicate().get(out);
        return out;
    }

    /** The current CheckIn plus one field: a "v3" written by a newer sidecar that this build has never seen. */
    static Schema checkInWithExtraField() {
        String json = CheckIn.getClassSchema().toString();
        int fieldsEnd = json.lastIndexOf(']');
        String extra = ",{\"name\":\"gpu\",\"type\":\"string\",\"default\":\"\"}";
        Schema s = new Schema.Parser().parse(json.substring(0, fieldsEnd) + extra + json.substring(fieldsEnd));
        if (s.getField("gpu") == null) {
            throw new AssertionError("test schema construction failed: " + s);
        }
        return s;
    }
}

package io.fedstream.protocol.serde;

import io.fedstream.avro.CheckIn;
import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelChunk;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Rejected;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.UpdateChunk;
import io.fedstream.avro.UpdateCommit;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes every fedstream record with Avro single-object encoding: two magic bytes (0xC3 0x01), the 8-byte
 * CRC-64-AVRO fingerprint of the writer's schema, then the Avro binary body. A reader looks the fingerprint up
 * and decodes with the matching schema, resolving older writer schemas (kept under
 * {@code io/fedstream/avro/history}) to the current classes.
 */
public final class WireCodec {
    /** Every record class that may appear on a fedstream topic. */
    public static final List<Class<? extends SpecificRecord>> RECORD_TYPES = List.of(
            CheckIn.class, Heartbeat.class, RoundPlan.class, ModelManifest.class, ModelChunk.class,
            UpdateChunk.class, UpdateCommit.class, EvalReport.class, RoundDecision.class, ChunkAggregated.class,
            RoundSummary.class, Finish.class, Rejected.class);

    private static final byte MAGIC_0 = (byte) 0xC3;
    private static final byte MAGIC_1 = (byte) 0x01;
    private static final int HEADER = 10;

    private static final WireCodec INSTANCE = new WireCodec();

    private final Map<Class<?>, BinaryMessageEncoder<SpecificRecord>> encoders = new HashMap<>();
    /** Writer fingerprint -> decoder producing the current class for that record name. */
    private final Map<Long, BinaryMessageDecoder<SpecificRecord>> decoders = new HashMap<>();
    private final Map<Long, String> writerNames = new HashMap<>();
    /** Writer fingerprint -> writer schema, to bound-check a body before Avro allocates what it claims. */
    private final Map<Long, Schema> writerSchemas = new HashMap<>();

    private WireCodec() {
        Map<String, BinaryMessageDecoder<SpecificRecord>> byName = new HashMap<>();
        for (Class<? extends SpecificRecord> type : RECORD_TYPES) {
            Schema schema = SpecificData.get().getSchema(type);
            // Not copied by Avro: encode() copies the thread's buffer into the array it returns before anything else
            // can encode on that thread, and a model chunk is then copied once instead of twice.
            encoders.put(type, new BinaryMessageEncoder<>(SpecificData.get(), schema, false));
            BinaryMessageDecoder<SpecificRecord> decoder = new BinaryMessageDecoder<>(SpecificData.get(), schema);
            byName.put(schema.getFullName(), decoder);
            register(schema, decoder);
        }
        for (Schema older : historySchemas()) {
            BinaryMessageDecoder<SpecificRecord> decoder = byName.get(older.getFullName());
            if (decoder == null) {
                throw new IllegalStateException("history schema for unknown record " + older.getFullName());
            }
            decoder.addSchema(older);
            register(older, decoder);
        }
    }

    private void register(Schema schema, BinaryMessageDecoder<SpecificRecord> decoder) {
        long fp = SchemaNormalization.parsingFingerprint64(schema);
        decoders.put(fp, decoder);
        writerNames.put(fp, schema.getFullName());
        writerSchemas.put(fp, schema);
    }

    private static List<Schema> historySchemas() {
        String dir = "/io/fedstream/avro/history/";
        try (InputStream index = WireCodec.class.getResourceAsStream(dir + "index.txt")) {
            if (index == null) {
                return List.of();
            }
            List<String> names = new BufferedReader(new InputStreamReader(index, StandardCharsets.UTF_8)).lines()
                    .map(String::trim).filter(s -> !s.isEmpty()).toList();
            java.util.ArrayList<Schema> schemas = new java.util.ArrayList<>();
            for (String name : names) {
                try (InputStream in = WireCodec.class.getResourceAsStream(dir + name)) {
                    if (in == null) {
                        throw new IllegalStateException("missing history schema " + name);
                    }
                    schemas.add(new Schema.Parser().parse(in));
                }
            }
            return schemas;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read schema history", e);
        }
    }

    public static WireCodec get() {
        return INSTANCE;
    }

    public byte[] encode(SpecificRecord record) {
        BinaryMessageEncoder<SpecificRecord> encoder = encoders.get(record.getClass());
        if (encoder == null) {
            throw new IllegalArgumentException("not a fedstream record type: " + record.getClass().getName());
        }
        try {
            ByteBuffer buf = encoder.encode(record);
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("encoding to memory cannot fail", e);
        }
    }

    /** The writer schema fingerprint of an encoded value, or throws if the value has no single-object header. */
    public static long fingerprintOf(byte[] value) throws WireFormatException {
        if (value == null || value.length < HEADER || value[0] != MAGIC_0 || value[1] != MAGIC_1) {
            throw new WireFormatException(WireFormatException.NOT_AVRO,
                    "value is not an Avro single-object record (no C3 01 header)");
        }
        return ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    public SpecificRecord decode(byte[] value) throws WireFormatException {
        long fp = fingerprintOf(value);
        BinaryMessageDecoder<SpecificRecord> decoder = decoderOf(fp);
        BodyBounds.check(writerSchemas.get(fp), value, HEADER);
        return decode(decoder, fp, value);
    }

    /**
     * As {@link #decode(byte[])}, except that the record's largest top-level {@code bytes} field (a chunk's data)
     * is a view of {@code value}, not a copy: a buffer over the same array. The job reads every model and update
     * chunk, about 1 MiB each, and would otherwise copy each one once more. The caller must not change
     * {@code value} while the record is in use.
     */
    public SpecificRecord decodeSharingBytes(byte[] value) throws WireFormatException {
        long fp = fingerprintOf(value);
        BinaryMessageDecoder<SpecificRecord> decoder = decoderOf(fp);
        BodyBounds.BytesField big = BodyBounds.check(writerSchemas.get(fp), value, HEADER);
        if (big == null) {
            return decode(decoder, fp, value);
        }
        // Avro decodes the record with that field empty (a zero length prefix in its place), which copies only
        // the small fields, and the field then gets the bytes where they lie.
        int after = big.dataStart() + big.length();
        byte[] rest = new byte[big.prefixStart() + 1 + value.length - after];
        System.arraycopy(value, 0, rest, 0, big.prefixStart());
        rest[big.prefixStart()] = 0;
        System.arraycopy(value, after, rest, big.prefixStart() + 1, value.length - after);
        SpecificRecord r = decode(decoder, fp, rest);
        Schema.Field f = readerField(r.getSchema(), big.name());
        if (f == null) {
            // The reader's schema no longer has the field: there is nothing to fill in.
            return r;
        }
        if (f.schema().getType() != Schema.Type.BYTES) {
            // Resolved to another type (Avro promotes bytes to string, or the reader has a union): only Avro can.
            return decode(decoder, fp, value);
        }
        r.put(f.pos(), ByteBuffer.wrap(value, big.dataStart(), big.length()).slice());
        return r;
    }

    /** The reader's field that a writer's field of this name resolves to: same name, or the name as an alias. */
    private static Schema.Field readerField(Schema reader, String writerName) {
        Schema.Field f = reader.getField(writerName);
        if (f != null) {
            return f;
        }
        return reader.getFields().stream().filter(x -> x.aliases().contains(writerName)).findFirst().orElse(null);
    }

    private BinaryMessageDecoder<SpecificRecord> decoderOf(long fp) throws WireFormatException {
        BinaryMessageDecoder<SpecificRecord> decoder = decoders.get(fp);
        if (decoder == null) {
            throw new WireFormatException(WireFormatException.UNKNOWN_SCHEMA,
                    "unknown writer schema fingerprint " + Long.toHexString(fp));
        }
        return decoder;
    }

    private SpecificRecord decode(BinaryMessageDecoder<SpecificRecord> decoder, long fp, byte[] value)
            throws WireFormatException {
        try {
            return decoder.decode(value);
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException
                 | UnsupportedOperationException e) {
            // Avro reports an absurd string/bytes length prefix (garbage body) as UnsupportedOperationException.
            throw new WireFormatException(WireFormatException.CORRUPT,
                    "body does not match schema " + writerNames.get(fp) + ": " + e.getMessage());
        }
    }

    /** Decodes and checks the type; a record of another type is reported like a corrupt one. */
    public <T extends SpecificRecord> T decode(byte[] value, Class<T> type) throws WireFormatException {
        SpecificRecord r = decode(value);
        if (!type.isInstance(r)) {
            throw new WireFormatException(WireFormatException.CORRUPT,
                    "expected " + type.getSimpleName() + " but got " + r.getClass().getSimpleName());
        }
        return type.cast(r);
    }
}

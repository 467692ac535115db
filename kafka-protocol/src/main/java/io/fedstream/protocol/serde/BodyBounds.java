package io.fedstream.protocol.serde;

import org.apache.avro.Schema;

/**
 * Walks an Avro binary body with its writer schema, allocating nothing, to check that every string/bytes
 * length and every array/map item count fits in the bytes actually received. Avro's decoder allocates
 * a string, byte buffer or array as large as the length prefix says before reading it, so a 20-byte
 * garbage value claiming a 2 GB string would otherwise end in OutOfMemoryError, not in a dead-letter record.
 */
final class BodyBounds {
    private final byte[] b;
    private int pos;
    private BytesField largest;

    /**
     * Where the value of a record's top-level {@code bytes} field lies in the encoded record: its length prefix
     * starts at {@code prefixStart}, its {@code length} bytes at {@code dataStart}.
     */
    record BytesField(String name, int prefixStart, int dataStart, int length) { }

    private BodyBounds(byte[] b, int pos) {
        this.b = b;
        this.pos = pos;
    }

    /** Checks the body; returns the record's largest top-level bytes field, or null if it has none. */
    static BytesField check(Schema writer, byte[] value, int bodyOffset) throws WireFormatException {
        BodyBounds walker = new BodyBounds(value, bodyOffset);
        try {
            walker.walkTop(writer);
        } catch (OutOfBounds e) {
            throw new WireFormatException(WireFormatException.CORRUPT,
                    "body does not match schema " + writer.getFullName() + ": " + e.getMessage());
        }
        return walker.largest;
    }

    private void walkTop(Schema s) throws OutOfBounds {
        if (s.getType() != Schema.Type.RECORD) {
            walk(s);
            return;
        }
        for (Schema.Field f : s.getFields()) {
            if (f.schema().getType() != Schema.Type.BYTES) {
                walk(f.schema());
                continue;
            }
            int prefixStart = pos;
            long n = length();
            int dataStart = pos;
            skip(n);
            // Avro reads a bytes length as an int, of at most 5 bytes; a longer (padded) prefix is left to Avro to
            // reject, as it does when it decodes the value whole.
            if (dataStart - prefixStart <= 5 && (largest == null || n > largest.length())) {
                largest = new BytesField(f.name(), prefixStart, dataStart, (int) n);
            }
        }
    }

    private void walk(Schema s) throws OutOfBounds {
        switch (s.getType()) {
            case NULL -> { }
            case BOOLEAN -> skip(1);
            case INT, LONG, ENUM -> varLong();
            case FLOAT -> skip(4);
            case DOUBLE -> skip(8);
            case FIXED -> skip(s.getFixedSize());
            case STRING, BYTES -> skipSized();
            case RECORD -> {
                for (Schema.Field f : s.getFields()) {
                    walk(f.schema());
                }
            }
            case UNION -> {
                long i = varLong();
                if (i < 0 || i >= s.getTypes().size()) {
                    throw new OutOfBounds("union branch " + i + " at byte " + pos);
                }
                walk(s.getTypes().get((int) i));
            }
            case ARRAY, MAP -> {
                for (long count = varLong(); count != 0; count = varLong()) {
                    if (count < 0) {
                        // A negative count is followed by the block's byte size; the items are walked anyway,
                        // because the reader sizes its collection from the count, not from the byte size.
                        count = -count;
                        if (count < 0 || varLong() < 0) {
                            throw new OutOfBounds("bad block header at byte " + pos);
                        }
                    }
                    // Every item of a fedstream array or map takes at least one byte, so a count larger than
                    // the bytes left is a lie (and would make the reader allocate that many slots).
                    if (count > b.length - pos) {
                        throw new OutOfBounds(count + " items claimed with " + (b.length - pos) + " bytes left");
                    }
                    for (long i = 0; i < count; i++) {
                        if (s.getType() == Schema.Type.MAP) {
                            skipSized();
                            walk(s.getValueType());
                        } else {
                            walk(s.getElementType());
                        }
                    }
                }
            }
        }
    }

    private void skipSized() throws OutOfBounds {
        skip(length());
    }

    /** A string's or bytes' length prefix. */
    private long length() throws OutOfBounds {
        long n = varLong();
        if (n < 0) {
            throw new OutOfBounds("negative length " + n + " at byte " + pos);
        }
        return n;
    }

    private void skip(long n) throws OutOfBounds {
        if (n > b.length - pos) {
            throw new OutOfBounds("length " + n + " at byte " + pos + " runs past the end (" + b.length + " bytes)");
        }
        pos += (int) n;
    }

    /** Zig-zag varint, as Avro writes int and long. */
    private long varLong() throws OutOfBounds {
        long raw = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= b.length) {
                throw new OutOfBounds("value ends inside a number");
            }
            int x = b[pos++] & 0xff;
            raw |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw new OutOfBounds("number longer than 10 bytes at byte " + pos);
    }

    /** Cheap internal signal; turned into a WireFormatException by {@link #check}. */
    private static final class OutOfBounds extends Exception {
        OutOfBounds(String message) {
            super(message, null, false, false);
        }
    }
}

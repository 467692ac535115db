package io.fedstream.protocol.serde;

/** A record value that cannot be decoded; {@link #reason()} is the dead-letter reason code. */
public final class WireFormatException extends Exception {
    public static final String NOT_AVRO = "NOT_AVRO";
    public static final String UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA";
    public static final String CORRUPT = "CORRUPT";

    private final String reason;

    public WireFormatException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}

package io.fedstream.round;

/**
 * A small record for the round coordinator: its Avro type name and encoded value (check-ins, commits, eval
 * reports, manifests, chunk completions), or a rejection notice so the round summary can count it.
 */
public class RoundEvent {
    public String type;
    public byte[] value;
    public String source;
    /** For rejection notices: the round the rejected record named, or -1. */
    public int round = -1;
    public String reason;

    public RoundEvent() {}

    public static RoundEvent of(String type, byte[] value, String source) {
        RoundEvent e = new RoundEvent();
        e.type = type;
        e.value = value;
        e.source = source;
        return e;
    }

    public static RoundEvent rejection(int round, String reason, String source) {
        RoundEvent e = new RoundEvent();
        e.type = "Rejected";
        e.round = round;
        e.reason = reason;
        e.source = source;
        return e;
    }
}

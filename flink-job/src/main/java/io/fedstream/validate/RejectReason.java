package io.fedstream.validate;

/** Reason codes of the dead-letter topic. */
public enum RejectReason {
    NOT_AVRO,
    UNKNOWN_SCHEMA,
    CORRUPT,
    WRONG_TOPIC,
    WRONG_FEDERATION,
    CLIENT_TOPIC_MISMATCH,
    DIGEST_MISMATCH,
    NON_FINITE,
    BAD_SAMPLE_COUNT,
    WRONG_LENGTH,
    SPEC_MISMATCH,
    UNKNOWN_CLIENT,
    NOT_SELECTED,
    LATE_UPDATE,
    STALE_UPDATE,
    FUTURE_ROUND,
    CONFLICT,
    INCOMPLETE_UPDATE
}

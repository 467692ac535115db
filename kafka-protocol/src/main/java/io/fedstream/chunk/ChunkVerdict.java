package io.fedstream.chunk;

/** What an assembler made of one offered chunk. */
public enum ChunkVerdict {
    ACCEPTED,
    /** The same chunk again, byte for byte: ignored, never counted twice. */
    DUPLICATE,
    /** A chunk index seen before with different bytes. */
    CONFLICT,
    /** The chunk's bytes do not hash to its digest. */
    WRONG_DIGEST,
    /** Length, offset, chunk count or total do not fit the model's layout. */
    WRONG_SHAPE,
    /** Another model version or spec than the one being assembled. */
    WRONG_MODEL;

    public boolean isError() {
        return this != ACCEPTED && this != DUPLICATE;
    }
}

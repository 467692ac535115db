package io.fedstream.chunk;

/** A reassembled model is incomplete or does not match its digest. */
public final class ModelIntegrityException extends Exception {
    public ModelIntegrityException(String message) {
        super(message);
    }
}

package dev.merapi.error;

/** Which side of the proxy an error came from; decides the status that {@code failToProxy} picks by default. */
public enum ErrorSource {
    /** The origin, or the connection to it: mapped to 502 (504 for timeouts). */
    UPSTREAM,
    /** The client, or the connection from it: mapped to 400, or to no response when the client is gone. */
    DOWNSTREAM,
    /** Merapi or user code: mapped to 500. */
    INTERNAL
}

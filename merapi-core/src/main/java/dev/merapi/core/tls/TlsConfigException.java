package dev.merapi.core.tls;

import java.io.Serial;

/**
 * TLS settings or certificate files that cannot be used: an unreadable or malformed PEM file, a key that does not
 * match its certificate, an expired or not-yet-valid certificate, a protocol or cipher suite refused without the
 * legacy switch. Thrown at start (so nothing listens) or by a reload (so the old certificates stay in use). The
 * message names the file and the reason; it never holds key material.
 */
public final class TlsConfigException extends IllegalArgumentException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** A refusal with its reason. */
    public TlsConfigException(String message) {
        super(message);
    }

    /** A refusal with its reason and the failure underneath. */
    public TlsConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}

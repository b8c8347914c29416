package dev.merapi.proxy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The WebSocket opening handshake's key and its answer (RFC 6455 §4.1, §4.2.2), for a WebSocket over HTTP/2 (RFC 8441)
 * that Merapi carries to an HTTP/1.1 origin: the HTTP/2 client sends no key, so Merapi makes one and checks the
 * origin's {@code Sec-WebSocket-Accept} against it, as a WebSocket client would. SHA-1 here is the protocol's fixed
 * transform, not a security hash. Stateless; any thread.
 */
final class WebSocketKeys {
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final SecureRandom RANDOM = new SecureRandom();

    private WebSocketKeys() {
    }

    /** A new {@code Sec-WebSocket-Key}: 16 random bytes in base64. */
    static String newKey() {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        return Base64.getEncoder().encodeToString(nonce);
    }

    /** The {@code Sec-WebSocket-Accept} an origin must answer {@code key} with. */
    static String acceptFor(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
    }
}

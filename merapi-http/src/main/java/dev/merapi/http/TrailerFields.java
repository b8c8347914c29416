package dev.merapi.http;

import java.util.Locale;
import java.util.Set;

/**
 * Which fields may travel in a trailer section. A sender must not put there what frames, routes, authenticates or
 * describes how to process the message (RFC 9110 §6.5.1), nor connection-specific fields (RFC 9113 §8.2.2); a proxy
 * drops such fields from the trailers it forwards, so that no recipient can mistake them for the head's.
 *
 * <p>Stateless; safe on any thread.
 */
public final class TrailerFields {
    private static final Set<String> FORBIDDEN = Set.of("content-length", "transfer-encoding", "host", "connection",
            "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "content-encoding", "content-type",
            "content-range", "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate");

    private TrailerFields() {
    }

    /** Whether a field named {@code name} (any case) must not be forwarded in a trailer section. */
    public static boolean isForbidden(String name) {
        return FORBIDDEN.contains(name.toLowerCase(Locale.ROOT)) || name.startsWith(":");
    }

    /** A copy of {@code trailers} without the fields that must not be forwarded; the names keep their case. */
    public static Headers forwardable(Headers trailers) {
        Headers out = new Headers(trailers.size());
        for (int i = 0; i < trailers.size(); i++) {
            if (!isForbidden(trailers.name(i))) {
                out.add(trailers.name(i), trailers.value(i));
            }
        }
        return out;
    }
}

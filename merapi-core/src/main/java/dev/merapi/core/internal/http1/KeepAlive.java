package dev.merapi.core.internal.http1;

import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;

/**
 * Decides from a received HTTP/1 head whether its sender lets the connection carry another message after this one.
 *
 * <p>The rule (RFC 9112 section 9.3) is the same for requests and responses: a {@code close} connection option ends
 * the connection whatever else the field holds; otherwise HTTP/1.1 keeps it, and HTTP/1.0 keeps it only with a
 * {@code keep-alive} option. Stateless; any thread.
 */
public final class KeepAlive {
    private KeepAlive() {
    }

    /** Whether the client that sent {@code request} keeps the connection open after the response. */
    public static boolean of(RequestHeader request) {
        return of(request.version(), request.headers());
    }

    /** Whether the origin that sent {@code response} keeps the connection open after it. */
    public static boolean of(ResponseHeader response) {
        return of(response.version(), response.headers());
    }

    /** Whether a message of {@code version} with {@code headers} keeps its connection open after it. */
    public static boolean of(HttpVersion version, Headers headers) {
        if (headers.containsToken(HeaderNames.CONNECTION, "close")) {
            return false;
        }
        return version == HttpVersion.HTTP_1_1 || headers.containsToken(HeaderNames.CONNECTION, "keep-alive");
    }
}

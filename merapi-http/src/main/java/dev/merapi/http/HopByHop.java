package dev.merapi.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Removes hop-by-hop headers (RFC 9110 §7.6.1), including every header named in {@code Connection}. */
public final class HopByHop {
    private static final String[] FIXED = {
        HeaderNames.CONNECTION, HeaderNames.KEEP_ALIVE, HeaderNames.PROXY_CONNECTION, HeaderNames.TE,
        HeaderNames.TRAILER, HeaderNames.TRANSFER_ENCODING, HeaderNames.UPGRADE,
    };

    /** The fields RFC 9113 §8.2.2 calls connection-specific, which an HTTP/2 message must not carry; lowercase. */
    private static final Set<String> HTTP2_CONNECTION_SPECIFIC = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "upgrade", "http2-settings");

    private HopByHop() {
    }

    /**
     * Whether {@code lowercaseName} is a connection-specific field that an HTTP/2 message must not carry (RFC 9113
     * §8.2.2: Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, HTTP2-Settings). {@code TE} is
     * not among them: it is allowed with the value {@code trailers}, which the caller checks.
     */
    public static boolean isHttp2ConnectionSpecific(String lowercaseName) {
        return HTTP2_CONNECTION_SPECIFIC.contains(lowercaseName);
    }

    /** Strips the hop-by-hop headers from {@code headers} in place. */
    public static void strip(Headers headers) {
        List<String> named = null;
        int i = 0;
        while ((i = headers.indexOf(HeaderNames.CONNECTION, i)) >= 0) {
            if (named == null) {
                named = new ArrayList<>(2);
            }
            Tokens.forEachListElement(headers.value(i), named::add);
            i++;
        }
        if (named != null) {
            for (String name : named) {
                // a client must not be able to strip the fields that route and frame the request
                if (!name.equalsIgnoreCase(HeaderNames.HOST) && !name.equalsIgnoreCase(HeaderNames.CONTENT_LENGTH)) {
                    headers.remove(name);
                }
            }
        }
        for (String name : FIXED) {
            headers.remove(name);
        }
    }
}

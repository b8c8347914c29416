package dev.merapi.http;

import java.util.ArrayList;
import java.util.List;

/** Removes hop-by-hop headers (RFC 9110 §7.6.1), including every header named in {@code Connection}. */
public final class HopByHop {
    private static final String[] FIXED = {
        HeaderNames.CONNECTION, HeaderNames.KEEP_ALIVE, HeaderNames.PROXY_CONNECTION, HeaderNames.TE,
        HeaderNames.TRAILER, HeaderNames.TRANSFER_ENCODING, HeaderNames.UPGRADE,
    };

    private HopByHop() {
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

package dev.merapi.http;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Header names that arrive often, in the spellings clients and origins use, so the parser can hand out a
 * shared {@code String} instead of decoding a new one: about 56 bytes saved per field. Matching is exact
 * (case included), since Merapi keeps the case it received.
 */
final class KnownNames {
    private static final String[] NAMES = {
        "Host", "host", "User-Agent", "user-agent", "Accept", "accept", "Accept-Encoding", "accept-encoding",
        "Accept-Language", "accept-language", "Accept-Ranges", "Connection", "connection", "Content-Length",
        "content-length", "Content-Type", "content-type", "Content-Encoding", "content-encoding", "Date", "date",
        "Server", "server", "Cache-Control", "cache-control", "Cookie", "cookie", "Set-Cookie", "set-cookie",
        "Authorization", "authorization", "Referer", "referer", "Origin", "origin", "X-Forwarded-For",
        "x-forwarded-for", "X-Forwarded-Proto", "x-forwarded-proto", "X-Real-IP", "X-Request-Id", "x-request-id",
        "Transfer-Encoding", "transfer-encoding", "Keep-Alive", "keep-alive", "Last-Modified", "last-modified",
        "ETag", "etag", "Expires", "expires", "Vary", "vary", "Location", "location", "Upgrade", "upgrade",
        "If-None-Match", "if-none-match", "If-Modified-Since", "if-modified-since", "Pragma", "Range", "range",
        "Via", "via", "Age", "age", "Expect", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest",
        "Upgrade-Insecure-Requests", "Access-Control-Allow-Origin", "Strict-Transport-Security", "Priority",
    };
    /** Candidates by length; a length holds a handful at most. */
    private static final byte[][][] BYTES = new byte[32][][];
    private static final String[][] STRINGS = new String[32][];

    static {
        for (String n : NAMES) {
            int len = n.length();
            byte[][] b = BYTES[len];
            String[] s = STRINGS[len];
            int k = b == null ? 0 : b.length;
            byte[][] nb = new byte[k + 1][];
            String[] ns = new String[k + 1];
            if (k > 0) {
                System.arraycopy(b, 0, nb, 0, k);
                System.arraycopy(s, 0, ns, 0, k);
            }
            nb[k] = n.getBytes(StandardCharsets.US_ASCII);
            ns[k] = n;
            BYTES[len] = nb;
            STRINGS[len] = ns;
        }
    }

    private KnownNames() {
    }

    /** The shared name for the {@code len} bytes at {@code from}, decoding a new string only for unknown names. */
    static String name(ByteBuf buf, int from, int len) {
        if (len < BYTES.length) {
            byte[][] candidates = BYTES[len];
            if (candidates != null) {
                outer:
                for (int c = 0; c < candidates.length; c++) {
                    byte[] b = candidates[c];
                    for (int i = 0; i < len; i++) {
                        if (buf.getByte(from + i) != b[i]) {
                            continue outer;
                        }
                    }
                    return STRINGS[len][c];
                }
            }
        }
        return buf.toString(from, len, StandardCharsets.US_ASCII);
    }
}

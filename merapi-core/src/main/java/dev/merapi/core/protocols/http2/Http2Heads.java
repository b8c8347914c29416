package dev.merapi.core.protocols.http2;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.HopByHop;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Translates heads between HTTP/2 header lists and Merapi's {@link RequestHeader}/{@link ResponseHeader}, as RFC 9113
 * §8 says: {@code :authority} becomes {@code Host}, {@code cookie} fields are joined with {@code "; "}, a request with a
 * connection-specific field or a {@code TE} other than {@code trailers} is malformed (400), and a response loses its
 * connection-specific fields and has its names lowercased. Netty's HPACK decoder has already refused uppercase names
 * and pseudo-headers out of place (a stream error).
 *
 * <p>Stateless; any thread.
 */
final class Http2Heads {
    private static final String EXPECT = "expect";

    private Http2Heads() {
    }

    /**
     * The request head of a HEADERS frame.
     *
     * @param endStream whether the HEADERS frame ended the stream (no body)
     * @throws ProxyError 400 (rule {@code bad-h2-request}), or 405 for CONNECT or TRACE that {@code http1} does not
     *     allow, when the request must not reach the application
     */
    static RequestHeader request(Http2Headers in, boolean endStream, Http1Options http1) {
        @Nullable String method = string(in.method());
        @Nullable String path = string(in.path());
        @Nullable String authority = string(in.authority());
        if (method == null) {
            throw bad("no :method");
        }
        if ("CONNECT".equals(method) && !http1.allowConnect()) {
            throw ProxyError.rejected(new ErrorType.HttpStatus(405), ErrorSource.DOWNSTREAM, "connect-disabled",
                    "CONNECT is not enabled on this listener");
        }
        if ("TRACE".equals(method) && !http1.allowTrace()) {
            throw ProxyError.rejected(new ErrorType.HttpStatus(405), ErrorSource.DOWNSTREAM, "trace-disabled",
                    "TRACE is not enabled on this listener");
        }
        String target;
        if ("CONNECT".equals(method)) {
            if (authority == null || path != null) {
                throw bad("CONNECT needs :authority and no :path");
            }
            target = authority;
        } else {
            if (path == null || path.isEmpty() || in.scheme() == null) {
                throw bad("no :path or :scheme");
            }
            target = path;
        }
        Headers fields = new Headers(in.size());
        @Nullable StringBuilder cookie = null;
        @Nullable String host = null;
        for (Map.Entry<CharSequence, CharSequence> e : in) {
            CharSequence name = e.getKey();
            if (name.length() > 0 && name.charAt(0) == ':') {
                continue;
            }
            if (fields.size() >= http1.limits().maxHeaderCount()) {
                throw ProxyError.rejected(new ErrorType.HttpStatus(431), ErrorSource.DOWNSTREAM, "too-many-headers",
                        "more than " + http1.limits().maxHeaderCount() + " header fields");
            }
            String n = name.toString();
            String v = e.getValue().toString();
            if (HopByHop.isHttp2ConnectionSpecific(n)) {
                throw bad("connection-specific field " + n);
            }
            if (n.equals("te") && !v.equalsIgnoreCase("trailers")) {
                throw bad("TE other than trailers");
            }
            if (n.equals("cookie")) {
                cookie = cookie == null ? new StringBuilder(v) : cookie.append("; ").append(v);
                continue;
            }
            if (n.equals("host")) {
                if (host != null) {
                    throw bad("more than one host field");
                }
                host = v;
                continue;
            }
            add(fields, n, v);
        }
        if (authority != null && host != null && !authority.equalsIgnoreCase(host)) {
            throw bad(":authority and host differ");
        }
        @Nullable String hostValue = authority != null ? authority : host;
        if (hostValue == null) {
            throw bad("no :authority or host");
        }
        // Host first, as an HTTP/1.1 client writes it
        Headers headers = new Headers(fields.size() + 2);
        add(headers, HeaderNames.HOST, hostValue);
        for (int i = 0; i < fields.size(); i++) {
            headers.add(fields.name(i), fields.value(i));
        }
        if (cookie != null) {
            add(headers, "cookie", cookie.toString());
        }
        RequestHeader head;
        try {
            head = RequestHeader.of(method, target, HttpVersion.HTTP_2, headers);
        } catch (ProxyError e) {
            throw bad("invalid :method or :path");
        }
        head.setBodyLength(bodyLength(headers, endStream));
        return head;
    }

    private static long bodyLength(Headers headers, boolean endStream) {
        int at = headers.indexOf(HeaderNames.CONTENT_LENGTH, 0);
        if (at < 0) {
            return endStream ? BodyLength.NONE : BodyLength.CHUNKED;
        }
        if (headers.count(HeaderNames.CONTENT_LENGTH) > 1) {
            throw bad("more than one content-length");
        }
        long length = parseLength(headers.value(at));
        if (length < 0 || (endStream && length > 0)) {
            throw bad("invalid content-length");
        }
        return endStream ? BodyLength.NONE : length;
    }

    /** Removes a {@code 100-continue} expectation; whether there was one. */
    static boolean takeExpectContinue(RequestHeader head) {
        int at = head.headers().indexOf(EXPECT, 0);
        if (at < 0) {
            return false;
        }
        boolean cont = head.headers().value(at).equalsIgnoreCase("100-continue");
        head.headers().remove(EXPECT);
        return cont;
    }

    /** Request trailers: no pseudo-header, no connection-specific field. */
    static Headers trailers(Http2Headers in) {
        Headers out = new Headers(in.size());
        for (Map.Entry<CharSequence, CharSequence> e : in) {
            String n = e.getKey().toString();
            if (n.startsWith(":") || HopByHop.isHttp2ConnectionSpecific(n)) {
                throw bad("pseudo-header or connection-specific field in trailers");
            }
            add(out, n, e.getValue().toString());
        }
        return out;
    }

    /** The HTTP/2 header list of a response head: {@code :status}, then its fields lowercased, hop-by-hop ones left out. */
    static Http2Headers response(ResponseHeader head) {
        Headers h = head.headers();
        DefaultHttp2Headers out = new DefaultHttp2Headers(false, h.size() + 1);
        out.status(AsciiString.of(Integer.toString(head.status())));
        copy(h, out);
        return out;
    }

    /** The HTTP/2 header list of response trailers. */
    static Http2Headers trailers(Headers h) {
        DefaultHttp2Headers out = new DefaultHttp2Headers(false, h.size());
        copy(h, out);
        return out;
    }

    private static void copy(Headers h, DefaultHttp2Headers out) {
        @Nullable Set<String> named = null; // fields the Connection header names are hop-by-hop too
        for (int i = h.indexOf(HeaderNames.CONNECTION, 0); i >= 0; i = h.indexOf(HeaderNames.CONNECTION, i + 1)) {
            for (String token : h.value(i).split(",")) {
                if (named == null) {
                    named = new java.util.HashSet<>();
                }
                named.add(token.trim().toLowerCase(Locale.ROOT));
            }
        }
        for (int i = 0; i < h.size(); i++) {
            String name = h.name(i).toLowerCase(Locale.ROOT);
            if (HopByHop.isHttp2ConnectionSpecific(name) || name.equals("te") || (named != null && named.contains(name))) {
                continue;
            }
            out.add(AsciiString.of(name), h.value(i));
        }
    }

    private static void add(Headers headers, String name, String value) {
        try {
            headers.add(name, value);
        } catch (ProxyError e) {
            throw bad("invalid field " + name);
        }
    }

    private static ProxyError bad(String detail) {
        return ProxyError.rejected(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM, "bad-h2-request", detail);
    }

    private static @Nullable String string(@Nullable CharSequence s) {
        return s == null ? null : s.toString();
    }

    private static long parseLength(String v) {
        boolean digits = !v.isEmpty() && v.length() <= 17 && v.chars().allMatch(c -> c >= '0' && c <= '9');
        return digits ? Long.parseLong(v) : -1;
    }
}

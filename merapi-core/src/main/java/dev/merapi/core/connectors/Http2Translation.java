package dev.merapi.core.connectors;

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
import dev.merapi.http.TrailerFields;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Translates between Merapi's HTTP/1-shaped heads and HTTP/2 header lists, as RFC 9113 §8.2 and §8.3 say: the
 * request's {@code Host} becomes {@code :authority}, with {@code :method}, {@code :scheme} and {@code :path}; the
 * connection-specific fields ({@code Connection} and the fields it names, {@code Keep-Alive},
 * {@code Proxy-Connection}, {@code Transfer-Encoding}, {@code Upgrade}) are removed; {@code TE} is kept only as
 * {@code trailers}; cookies are sent as one field per cookie-pair, which HPACK compresses better. A response must
 * carry a valid {@code :status} and no other pseudo-header; its field names stay as received (lowercase).
 *
 * <p>Stateless; safe on any thread.
 */
final class Http2Translation {
    private Http2Translation() {
    }

    /**
     * The HTTP/2 header list of {@code request}.
     *
     * @param tls whether the connection is TLS ({@code :scheme} https)
     * @param defaultAuthority the {@code :authority} when the request has no {@code Host}
     */
    static Http2Headers request(RequestHeader request, boolean tls, String defaultAuthority) {
        Headers h = request.headers();
        Http2Headers out = new DefaultHttp2Headers(false, h.size() + 4);
        out.method(request.method());
        out.scheme(tls ? "https" : "http");
        out.authority(h.get(HeaderNames.HOST).filter(v -> !v.isEmpty()).orElse(defaultAuthority));
        String target = request.target();
        out.path("OPTIONS".equals(request.method()) && "*".equals(target) ? "*" : target);
        Set<String> named = connectionNamed(h);
        long len = request.bodyLength();
        for (int i = 0; i < h.size(); i++) {
            String name = h.name(i).toLowerCase(Locale.ROOT);
            // Host went into :authority
            if (HopByHop.isHttp2ConnectionSpecific(name) || "host".equals(name) || named.contains(name)) {
                continue;
            }
            String value = h.value(i);
            switch (name) {
                case "te" -> {
                    if (hasToken(value, "trailers")) {
                        out.set("te", "trailers");
                    }
                }
                case "content-length" -> {
                    if (len >= 0) {
                        out.set(name, Long.toString(len));
                    }
                }
                case "cookie" -> {
                    for (String pair : value.split(";")) {
                        String p = pair.strip();
                        if (!p.isEmpty()) {
                            out.add(name, p);
                        }
                    }
                }
                default -> out.add(name, value);
            }
        }
        if (len > 0 && !out.contains("content-length")) {
            out.set("content-length", Long.toString(len));
        }
        return out;
    }

    /**
     * The response head of {@code headers}.
     *
     * @param method the request's method (a response to HEAD has no body, whatever it announces)
     * @param endOfStream whether the HEADERS frame ended the stream (no body)
     * @throws ProxyError INVALID_HTTP_HEADER (502) for a missing or malformed {@code :status}, a request
     *     pseudo-header, a connection-specific field or a malformed {@code content-length}
     */
    static ResponseHeader response(Http2Headers headers, String method, boolean endOfStream) {
        CharSequence statusText = headers.status();
        int status = statusText == null ? -1 : parseStatus(statusText);
        if (status < 100) {
            throw invalid("response without a valid :status");
        }
        Headers out = new Headers(headers.size());
        long length = -1;
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            String name = e.getKey().toString();
            if (name.startsWith(":")) {
                if (!":status".equals(name)) {
                    throw invalid("response carries the pseudo-header " + name);
                }
                continue;
            }
            if (HopByHop.isHttp2ConnectionSpecific(name)) {
                throw invalid("response carries the connection-specific field " + name);
            }
            String value = e.getValue().toString();
            if ("content-length".equals(name)) {
                long l = parseLength(value);
                if (length >= 0 && l != length) {
                    throw invalid("response carries conflicting content-length fields");
                }
                length = l;
                if (out.contains(name)) {
                    continue;
                }
            }
            try {
                out.add(name, value);
            } catch (ProxyError bad) {
                throw invalid("response field " + name + " is malformed: " + bad.context());
            }
        }
        ResponseHeader head = ResponseHeader.of(status, null, HttpVersion.HTTP_2, out);
        boolean noBody = endOfStream || "HEAD".equals(method) || status == 204 || status == 304 || status < 200;
        head.setBodyLength(noBody ? BodyLength.NONE : length >= 0 ? length : BodyLength.CHUNKED);
        return head;
    }

    /** The trailer fields of a HEADERS frame that ended a response, without those that must not be forwarded. */
    static Headers trailers(Http2Headers headers) {
        Headers out = new Headers(headers.size());
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            String name = e.getKey().toString();
            if (name.startsWith(":")) {
                throw invalid("trailers carry the pseudo-header " + name);
            }
            if (!TrailerFields.isForbidden(name)) {
                try {
                    out.add(name, e.getValue().toString());
                } catch (ProxyError bad) {
                    throw invalid("trailer field " + name + " is malformed: " + bad.context());
                }
            }
        }
        return out;
    }

    /** The HTTP/2 form of request trailers: lowercase names, without the fields that must not be forwarded. */
    static Http2Headers requestTrailers(Headers trailers) {
        Http2Headers out = new DefaultHttp2Headers(false, trailers.size());
        for (int i = 0; i < trailers.size(); i++) {
            if (!TrailerFields.isForbidden(trailers.name(i))) {
                out.add(trailers.name(i).toLowerCase(Locale.ROOT), trailers.value(i));
            }
        }
        return out;
    }

    private static Set<String> connectionNamed(Headers h) {
        Set<String> named = new HashSet<>();
        for (String v : h.getAll(HeaderNames.CONNECTION)) {
            for (String token : v.split(",")) {
                String t = token.strip().toLowerCase(Locale.ROOT);
                if (!t.isEmpty() && !"te".equals(t)) {
                    named.add(t);
                }
            }
        }
        return named;
    }

    private static boolean hasToken(String value, String token) {
        for (String t : value.split(",")) {
            String s = t.strip();
            int semi = s.indexOf(';');
            if ((semi < 0 ? s : s.substring(0, semi).strip()).equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }

    private static int parseStatus(CharSequence s) {
        if (s.length() != 3) {
            return -1;
        }
        int n = 0;
        for (int i = 0; i < 3; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static long parseLength(String v) {
        if (v.isEmpty() || v.length() > 18) {
            throw invalid("malformed content-length");
        }
        long n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                throw invalid("malformed content-length");
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static ProxyError invalid(String detail) {
        return ProxyError.explain(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM, "h2 " + detail);
    }
}

package dev.merapi.http;

import java.util.Objects;
import java.util.Optional;

/**
 * The head of an HTTP request: method, target, version and headers, with header case and order kept.
 * Filters edit it in place; the proxy gives the upstream its own copy (see {@link #copy()}).
 *
 * <p>What user code sets is checked where it is set, so that the HTTP/1 encoder can write it as it is: the method must
 * be a token, the target visible US-ASCII without the characters a target never holds, and header fields follow the
 * rules of {@link Headers}. A refusal is a {@link dev.merapi.error.ProxyError} of kind {@code INVALID_HTTP_HEADER}
 * (answered with 500) and leaves the head unchanged. Heads the HTTP/1 parser builds were validated as they were read
 * and are not checked again.
 *
 * <p>Not thread-safe: it belongs to the event loop of its session.
 */
public final class RequestHeader {
    private String method;
    private String target;
    private HttpVersion version;
    private final Headers headers;
    private long bodyLength = BodyLength.NONE;
    private boolean acceptsTrailers;

    private RequestHeader(String method, String target, HttpVersion version, Headers headers) {
        this.method = Objects.requireNonNull(method, "method");
        this.target = Objects.requireNonNull(target, "target");
        this.version = Objects.requireNonNull(version, "version");
        this.headers = Objects.requireNonNull(headers, "headers");
    }

    /**
     * Creates an HTTP/1.1 request head with no headers.
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if the method is not a token or the target
     *     holds a character a request-target may not hold
     */
    public static RequestHeader of(String method, String target) {
        return new RequestHeader(FieldChecks.method(method), FieldChecks.target(target), HttpVersion.HTTP_1_1, new Headers());
    }

    /**
     * Creates a request head around an existing header list (which it then owns).
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if the method is not a token or the target
     *     holds a character a request-target may not hold
     */
    public static RequestHeader of(String method, String target, HttpVersion version, Headers headers) {
        return new RequestHeader(FieldChecks.method(method), FieldChecks.target(target), version, headers);
    }

    /** A head the HTTP/1 parser has validated already: no second check. */
    static RequestHeader parsed(String method, String target, HttpVersion version, Headers headers) {
        return new RequestHeader(method, target, version, headers);
    }

    /** Returns an independent copy, for example the request a retry sends upstream. */
    public RequestHeader copy() {
        RequestHeader c = new RequestHeader(method, target, version, headers.copy());
        c.bodyLength = bodyLength;
        c.acceptsTrailers = acceptsTrailers;
        return c;
    }

    /** The method, such as {@code GET}. */
    public String method() {
        return method;
    }

    /**
     * Replaces the method.
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if {@code method} is not a token
     */
    public RequestHeader setMethod(String method) {
        this.method = FieldChecks.method(method);
        return this;
    }

    /** The request-target exactly as received, such as {@code /a/b?c=d}. */
    public String target() {
        return target;
    }

    /**
     * Replaces the request-target, which should be origin-form ({@code /...}), absolute-form, or {@code *}.
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if {@code target} is empty or holds a character
     *     a request-target may not hold (a control character, space, non-ASCII, or one of {@code "<>\^`{|}#})
     */
    public RequestHeader setTarget(String target) {
        this.target = FieldChecks.target(target);
        return this;
    }

    /** The path of the target, without the query: {@code /a/b} for {@code /a/b?c=d}. */
    public String path() {
        int start = 0;
        if (!target.startsWith("/")) {
            int scheme = target.indexOf("://");
            if (scheme > 0) {
                // the authority ends at the first '/' or '?': a '/' inside the query is not the path
                int end = scheme + 3;
                while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
                    end++;
                }
                if (end == target.length() || target.charAt(end) == '?') {
                    return "/";
                }
                start = end;
            }
        }
        int q = target.indexOf('?', start);
        return q < 0 ? target.substring(start) : target.substring(start, q);
    }

    /** The query of the target without the {@code ?}, if it has one (it may be empty: {@code /a?}). */
    public Optional<String> query() {
        int q = target.indexOf('?');
        return q < 0 ? Optional.empty() : Optional.of(target.substring(q + 1));
    }

    /** The version the client spoke. */
    public HttpVersion version() {
        return version;
    }

    /** Changes the version. */
    public RequestHeader setVersion(HttpVersion version) {
        this.version = Objects.requireNonNull(version, "version");
        return this;
    }

    /** The headers, in order and case as received; edit them in place. */
    public Headers headers() {
        return headers;
    }

    /** The first value of a header, if the request has one ({@link Headers#get}). */
    public Optional<String> header(String name) {
        return headers.get(name);
    }

    /** The request's {@code Host} header, if it has one (an HTTP/1.0 request may not). */
    public Optional<String> host() {
        return headers.get(HeaderNames.HOST);
    }

    /**
     * The body length the HTTP/1 parser found: a length of zero or more, {@link BodyLength#CHUNKED},
     * or {@link BodyLength#NONE} for no body.
     */
    public long bodyLength() {
        return bodyLength;
    }

    /** Sets the body framing; called by the HTTP/1 parser and by code that builds requests. */
    public RequestHeader setBodyLength(long bodyLength) {
        this.bodyLength = bodyLength;
        return this;
    }

    /**
     * Whether the client accepts trailer fields in the response, as its {@code TE: trailers} said (RFC 9110 §10.1.4).
     * {@code TE} is hop-by-hop: {@link HopByHop#stripRequest} removes it from the request that goes upstream and sets
     * this instead, so the fact is read once. An HTTP/2 connector sends it on as {@code te: trailers} (gRPC servers
     * require it); an HTTP/1.1 connector sends no {@code TE}. A head as the parser built it still carries its
     * {@code TE} field and says {@code false} here.
     */
    public boolean acceptsTrailers() {
        return acceptsTrailers;
    }

    /** Sets whether the client accepts trailers; an upstream request filter may turn it on or off. */
    public RequestHeader setAcceptsTrailers(boolean acceptsTrailers) {
        this.acceptsTrailers = acceptsTrailers;
        return this;
    }

    @Override
    public String toString() {
        return method + ' ' + target + ' ' + version.text();
    }
}

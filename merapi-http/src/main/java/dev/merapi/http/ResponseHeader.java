package dev.merapi.http;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The head of an HTTP response: status, reason, version and headers, with header case and order kept.
 *
 * <p>What user code sets is checked where it is set, so that the HTTP/1 encoder can write it as it is: a reason phrase
 * holds only HTAB, SP, visible US-ASCII and U+0080 to U+00FF (written as ISO-8859-1 bytes), and header fields follow
 * the rules of {@link Headers}. A refusal is a {@link dev.merapi.error.ProxyError} of kind {@code INVALID_HTTP_HEADER}
 * (answered with 500). Heads the HTTP/1 parser builds were validated as they were read and are not checked again.
 *
 * <p>Not thread-safe: it belongs to the event loop of its session.
 */
public final class ResponseHeader {
    private int status;
    private @Nullable String reason;
    private HttpVersion version;
    private final Headers headers;
    private long bodyLength = BodyLength.NONE;

    private ResponseHeader(int status, @Nullable String reason, HttpVersion version, Headers headers) {
        checkStatus(status);
        this.status = status;
        this.reason = reason;
        this.version = Objects.requireNonNull(version, "version");
        this.headers = Objects.requireNonNull(headers, "headers");
    }

    /** Creates an HTTP/1.1 response head with the standard reason phrase and no headers. */
    public static ResponseHeader of(int status) {
        return new ResponseHeader(status, null, HttpVersion.HTTP_1_1, new Headers(8));
    }

    /**
     * Creates a response head around an existing header list (which it then owns).
     *
     * @param reason the reason phrase, or {@code null} for the standard one of {@code status}
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if {@code reason} holds a control character
     *     other than HTAB, or a character above U+00FF
     */
    public static ResponseHeader of(int status, @Nullable String reason, HttpVersion version, Headers headers) {
        return new ResponseHeader(status, FieldChecks.reason(reason), version, headers);
    }

    /** A head the HTTP/1 parser has validated already: no second check. */
    static ResponseHeader parsed(int status, @Nullable String reason, HttpVersion version, Headers headers) {
        return new ResponseHeader(status, reason, version, headers);
    }

    /** The status code. */
    public int status() {
        return status;
    }

    /** Changes the status code; the reason phrase becomes the standard one. */
    public ResponseHeader setStatus(int status) {
        checkStatus(status);
        this.status = status;
        this.reason = null;
        return this;
    }

    /** The reason phrase: as received, or the standard phrase for the status. */
    public String reason() {
        return reason != null ? reason : StatusText.of(status);
    }

    /** The version the origin spoke. */
    public HttpVersion version() {
        return version;
    }

    /** Changes the version. */
    public ResponseHeader setVersion(HttpVersion version) {
        this.version = Objects.requireNonNull(version, "version");
        return this;
    }

    /** The headers, in order and case as received; edit them in place. */
    public Headers headers() {
        return headers;
    }

    /** The first value of a header, if the response has one ({@link Headers#get}). */
    public Optional<String> header(String name) {
        return headers.get(name);
    }

    /**
     * Sets a header (see {@link Headers#set}) and returns this head.
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if the name is not a token or the value not a
     *     field-value (see {@link Headers})
     */
    public ResponseHeader setHeader(String name, String value) {
        headers.set(name, value);
        return this;
    }

    /**
     * The body framing the HTTP/1 parser found: a length, {@link BodyLength#CHUNKED},
     * {@link BodyLength#UNTIL_CLOSE} or {@link BodyLength#NONE}.
     */
    public long bodyLength() {
        return bodyLength;
    }

    /** Sets the body framing; called by the HTTP/1 parser. */
    public ResponseHeader setBodyLength(long bodyLength) {
        this.bodyLength = bodyLength;
        return this;
    }

    /** Whether this is an interim (1xx) response. */
    public boolean isInformational() {
        return status < 200;
    }

    private static void checkStatus(int status) {
        if (status < 100 || status > 999) {
            throw new IllegalArgumentException("invalid status: " + status);
        }
    }

    @Override
    public String toString() {
        return version.text() + ' ' + status + ' ' + reason();
    }
}

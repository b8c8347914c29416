package dev.merapi.testkit;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * An immutable script for one answer of {@link MockOrigin}: status, headers in order, body framing, pacing and
 * an optional {@link OriginFault}.
 *
 * <p>{@link MockOrigin} writes exactly the headers given here, in order and with their case, plus one framing
 * header it adds itself: {@code Content-Length} for {@link Builder#body(byte[])} and
 * {@link Builder#streamedBody(long)}, {@code Transfer-Encoding: chunked} for
 * {@link Builder#chunkedBody(byte[], int)}. It adds none when the headers already hold a {@code Content-Length}
 * or {@code Transfer-Encoding}, after {@link Builder#noContentLength()}, and for statuses that have no body
 * (1xx, 204, 304). No {@code Date} or {@code Server} header is ever added. The body is not sent for 1xx, 204 and
 * 304 statuses nor in answer to {@code HEAD}.
 *
 * <p>Instances are immutable: one response may be enqueued many times and shared between threads.
 *
 * <pre>{@code
 * origin.enqueue(MockResponse.builder()
 *         .status(200)
 *         .header("Content-Type", "application/octet-stream")
 *         .streamedBody(1L << 30)
 *         .throttle(64 * 1024, Duration.ofMillis(1))
 *         .build());
 * }</pre>
 */
public final class MockResponse {

    private static final int MAX_INFORMATIONAL = 1000;

    private final int status;
    private final String reason;
    private final List<Map.Entry<String, String>> headers;
    private final List<Map.Entry<String, String>> trailers;
    private final Body body;
    private final boolean addContentLength;
    private final boolean http10;
    private final List<Integer> informational;
    private final int throttleBytes;
    private final Duration throttleDelay;
    private final Duration headersDelay;
    private final @Nullable OriginFault fault;

    private MockResponse(Builder builder) {
        this.status = builder.status;
        this.reason = builder.reason != null ? builder.reason : reasonPhrase(builder.status);
        this.headers = List.copyOf(builder.headers);
        this.trailers = List.copyOf(builder.trailers);
        this.body = builder.body;
        this.addContentLength = builder.addContentLength;
        this.http10 = builder.http10;
        this.informational = List.copyOf(builder.informational);
        this.throttleBytes = builder.throttleBytes;
        this.throttleDelay = builder.throttleDelay;
        this.headersDelay = builder.headersDelay;
        this.fault = builder.fault;
    }

    /** Starts a response that defaults to {@code 200 OK} with no headers and an empty body. */
    public static Builder builder() {
        return new Builder();
    }

    /** A {@code 200 OK} with {@code Content-Type: text/plain; charset=utf-8} and {@code body} in UTF-8. */
    public static MockResponse ok(String body) {
        return builder().header("Content-Type", "text/plain; charset=utf-8").body(body).build();
    }

    /** A response with this status, its standard reason phrase and an empty body. */
    public static MockResponse status(int code) {
        return builder().status(code).build();
    }

    /**
     * Returns the CRC32 of the first {@code size} bytes of the pattern that {@link Builder#streamedBody(long)}
     * sends, for checking a body received through a proxy without holding it. Costs about a second per GiB.
     */
    public static long patternCrc(long size) {
        requireNonNegative(size, "size");
        return BodyPattern.crc32(size);
    }

    /** Returns bytes {@code offset .. offset + length} of the {@link Builder#streamedBody(long)} pattern. */
    public static byte[] patternBytes(long offset, int length) {
        requireNonNegative(offset, "offset");
        requireNonNegative(length, "length");
        byte[] bytes = new byte[length];
        BodyPattern.fill(offset, bytes, 0, length);
        return bytes;
    }

    /** Returns a builder holding every setting of this response, for deriving a variant. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The status code, 100 to 999. */
    public int code() {
        return status;
    }

    /** The reason phrase of the status line; may be empty. */
    public String reason() {
        return reason;
    }

    /** The headers in the order they are written, with their case, excluding the framing header added on write. */
    public List<Map.Entry<String, String>> headers() {
        return headers;
    }

    /** The trailer fields sent after a chunked body. */
    public List<Map.Entry<String, String>> trailers() {
        return trailers;
    }

    /** The fault this response triggers instead of a normal answer, if any. */
    public Optional<OriginFault> fault() {
        return Optional.ofNullable(fault);
    }

    Body body() {
        return body;
    }

    boolean addContentLength() {
        return addContentLength;
    }

    boolean http10() {
        return http10;
    }

    List<Integer> informational() {
        return informational;
    }

    int throttleBytes() {
        return throttleBytes;
    }

    Duration throttleDelay() {
        return throttleDelay;
    }

    Duration headersDelay() {
        return headersDelay;
    }

    @Override
    public String toString() {
        return "MockResponse[" + (http10 ? "HTTP/1.0 " : "HTTP/1.1 ") + status + " " + reason + ", " + headers.size()
                + " headers, " + body + (fault != null ? ", " + fault : "") + "]";
    }

    /** The standard reason phrase of {@code code}, or an empty string for codes without one. */
    static String reasonPhrase(int code) {
        return switch (code) {
            case 100 -> "Continue";
            case 101 -> "Switching Protocols";
            case 102 -> "Processing";
            case 103 -> "Early Hints";
            case 200 -> "OK";
            case 201 -> "Created";
            case 202 -> "Accepted";
            case 203 -> "Non-Authoritative Information";
            case 204 -> "No Content";
            case 205 -> "Reset Content";
            case 206 -> "Partial Content";
            case 301 -> "Moved Permanently";
            case 302 -> "Found";
            case 303 -> "See Other";
            case 304 -> "Not Modified";
            case 307 -> "Temporary Redirect";
            case 308 -> "Permanent Redirect";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 410 -> "Gone";
            case 411 -> "Length Required";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 415 -> "Unsupported Media Type";
            case 417 -> "Expectation Failed";
            case 421 -> "Misdirected Request";
            case 422 -> "Unprocessable Content";
            case 425 -> "Too Early";
            case 426 -> "Upgrade Required";
            case 429 -> "Too Many Requests";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 501 -> "Not Implemented";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            case 505 -> "HTTP Version Not Supported";
            default -> "";
        };
    }

    private static void requireNonNegative(long value, String name) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be at least 0: " + value);
        }
    }

    private static Duration requireNonNegative(Duration duration, String name) {
        Objects.requireNonNull(duration, name);
        if (duration.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative: " + duration);
        }
        return duration;
    }

    private static void requireFieldText(String text, String what) {
        Objects.requireNonNull(text, what);
        if (text.indexOf('\r') >= 0 || text.indexOf('\n') >= 0) {
            throw new IllegalArgumentException(what + " must not contain CR or LF (use OriginFault.Raw): " + text);
        }
    }

    /** How the body is produced and framed. */
    sealed interface Body {
        /** Number of payload bytes, before any chunked framing. */
        long size();

        /** A body held in memory, framed by Content-Length. */
        record Fixed(byte[] bytes) implements Body {
            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public String toString() {
                return bytes.length + " body bytes";
            }
        }

        /** A body held in memory, sent with chunked transfer coding in chunks of {@code chunkSize}. */
        record Chunked(byte[] bytes, int chunkSize) implements Body {
            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public String toString() {
                return bytes.length + " body bytes chunked by " + chunkSize;
            }
        }

        /** {@code size} bytes of {@link BodyPattern}, generated while writing, framed by Content-Length. */
        record Streamed(long size) implements Body {
            @Override
            public String toString() {
                return size + " streamed pattern bytes";
            }
        }
    }

    /** Collects the settings of a {@link MockResponse}; not thread-safe. */
    public static final class Builder {
        private int status = 200;
        private @Nullable String reason;
        private final List<Map.Entry<String, String>> headers = new ArrayList<>();
        private final List<Map.Entry<String, String>> trailers = new ArrayList<>();
        private Body body = new Body.Fixed(new byte[0]);
        private boolean addContentLength = true;
        private boolean http10;
        private final List<Integer> informational = new ArrayList<>();
        private int throttleBytes;
        private Duration throttleDelay = Duration.ZERO;
        private Duration headersDelay = Duration.ZERO;
        private @Nullable OriginFault fault;

        private Builder() {}

        private Builder(MockResponse response) {
            this.status = response.status;
            this.reason = response.reason.equals(reasonPhrase(response.status)) ? null : response.reason;
            this.headers.addAll(response.headers);
            this.trailers.addAll(response.trailers);
            this.body = response.body;
            this.addContentLength = response.addContentLength;
            this.http10 = response.http10;
            this.informational.addAll(response.informational);
            this.throttleBytes = response.throttleBytes;
            this.throttleDelay = response.throttleDelay;
            this.headersDelay = response.headersDelay;
            this.fault = response.fault;
        }

        /** Sets the status code, 100 to 999; the reason phrase follows it unless {@link #reason} was set. */
        public Builder status(int code) {
            if (code < 100 || code > 999) {
                throw new IllegalArgumentException("status must have three digits: " + code);
            }
            this.status = code;
            return this;
        }

        /** Sets the reason phrase of the status line; may be empty. */
        public Builder reason(String reason) {
            requireFieldText(reason, "reason");
            this.reason = reason;
            return this;
        }

        /** Appends a header, keeping its case; repeated names are sent as repeated lines. */
        public Builder header(String name, String value) {
            requireFieldText(name, "header name");
            requireFieldText(value, "header value");
            if (name.isEmpty() || name.indexOf(':') >= 0) {
                throw new IllegalArgumentException("header name must be non-empty and have no colon: " + name);
            }
            headers.add(Map.entry(name, value));
            return this;
        }

        /** Appends a trailer field, sent after the last chunk of a {@link #chunkedBody(byte[], int)}. */
        public Builder trailer(String name, String value) {
            requireFieldText(name, "trailer name");
            requireFieldText(value, "trailer value");
            trailers.add(Map.entry(name, value));
            return this;
        }

        /** Sets the body to {@code body} in UTF-8, framed by Content-Length. */
        public Builder body(String body) {
            return body(Objects.requireNonNull(body, "body").getBytes(StandardCharsets.UTF_8));
        }

        /** Sets the body to a copy of {@code body}, framed by Content-Length. */
        public Builder body(byte[] body) {
            this.body = new Body.Fixed(Objects.requireNonNull(body, "body").clone());
            return this;
        }

        /**
         * Sends no automatic Content-Length; without a framing header of its own, the body then ends when the
         * origin closes the connection after it.
         */
        public Builder noContentLength() {
            this.addContentLength = false;
            return this;
        }

        /** Sends a copy of {@code body} with chunked transfer coding, in chunks of at most {@code chunkSize}. */
        public Builder chunkedBody(byte[] body, int chunkSize) {
            Objects.requireNonNull(body, "body");
            if (chunkSize < 1) {
                throw new IllegalArgumentException("chunkSize must be at least 1: " + chunkSize);
            }
            this.body = new Body.Chunked(body.clone(), chunkSize);
            return this;
        }

        /** Sends {@code size} bytes of a deterministic pattern generated while writing; see {@link #patternCrc}. */
        public Builder streamedBody(long size) {
            requireNonNegative(size, "size");
            this.body = new Body.Streamed(size);
            return this;
        }

        /**
         * Paces the body: at most {@code bytesPerWrite} bytes per socket write, with {@code delayBetweenWrites}
         * between writes. The head is written at once; see {@link #headersDelay(Duration)}.
         */
        public Builder throttle(int bytesPerWrite, Duration delayBetweenWrites) {
            if (bytesPerWrite < 1) {
                throw new IllegalArgumentException("bytesPerWrite must be at least 1: " + bytesPerWrite);
            }
            this.throttleBytes = bytesPerWrite;
            this.throttleDelay = requireNonNegative(delayBetweenWrites, "delayBetweenWrites");
            return this;
        }

        /** Waits this long after reading the request before writing anything, interim responses included. */
        public Builder headersDelay(Duration delay) {
            this.headersDelay = requireNonNegative(delay, "delay");
            return this;
        }

        /** Misbehaves as {@code fault} describes instead of answering normally. */
        public Builder fault(OriginFault fault) {
            this.fault = Objects.requireNonNull(fault, "fault");
            return this;
        }

        /**
         * Writes {@code HTTP/1.0} in the status line; the origin then closes the connection after this response
         * unless the headers hold {@code Connection: keep-alive}.
         */
        public Builder http10() {
            this.http10 = true;
            return this;
        }

        /** Sends {@code count} interim responses with status {@code code} (100 to 199) before the final one. */
        public Builder informational(int code, int count) {
            if (code < 100 || code > 199) {
                throw new IllegalArgumentException("informational status must be 1xx: " + code);
            }
            if (count < 0 || informational.size() + count > MAX_INFORMATIONAL) {
                throw new IllegalArgumentException("count must be 0 to " + MAX_INFORMATIONAL + " in all: " + count);
            }
            for (int i = 0; i < count; i++) {
                informational.add(code);
            }
            return this;
        }

        /**
         * Builds the response.
         *
         * @throws IllegalStateException if trailers were set without a chunked body
         */
        public MockResponse build() {
            if (!trailers.isEmpty() && !(body instanceof Body.Chunked)) {
                throw new IllegalStateException("trailers need a chunkedBody");
            }
            return new MockResponse(this);
        }
    }
}

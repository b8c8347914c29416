package dev.merapi.http;

import dev.merapi.error.Bounds;

/**
 * Size limits of the HTTP/1 parser. Exceeding one answers 414 (request line) or 431 (header section)
 * and closes the connection. Immutable; start from {@link #DEFAULT}, {@link #builder()} or {@link #toBuilder()}.
 *
 * <pre>{@code
 * Http1Limits limits = Http1Limits.builder().maxHeaderBytes(64 * 1024).build();
 * }</pre>
 *
 * @param maxRequestLine longest request line or status line in bytes, CRLF included (default 8 KiB, at least 1)
 * @param maxHeaderBytes largest header section in bytes, request line excluded (default 32 KiB, at least 1)
 * @param maxHeaderCount most header fields in one message (default 100, at least 1)
 * @param maxChunkLine longest chunk-size line in bytes, extensions included, CRLF excluded (default 4 KiB, at least 1)
 * @param maxTrailerBytes largest trailer section of a chunked body in bytes: its fields with their CRLFs (default 16 KiB,
 *     at least 1)
 */
public record Http1Limits(int maxRequestLine, int maxHeaderBytes, int maxHeaderCount, int maxChunkLine, int maxTrailerBytes) {
    /** The defaults. */
    public static final Http1Limits DEFAULT = new Http1Limits(8 * 1024, 32 * 1024, 100, 4 * 1024, 16 * 1024);

    /**
     * Checks every limit.
     *
     * @throws IllegalArgumentException naming the first limit that is not at least 1
     */
    public Http1Limits {
        Bounds.atLeast("maxRequestLine", maxRequestLine, 1);
        Bounds.atLeast("maxHeaderBytes", maxHeaderBytes, 1);
        Bounds.atLeast("maxHeaderCount", maxHeaderCount, 1);
        Bounds.atLeast("maxChunkLine", maxChunkLine, 1);
        Bounds.atLeast("maxTrailerBytes", maxTrailerBytes, 1);
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these limits. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Builds {@link Http1Limits}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the limit and its range; the components of the record document each limit. Not thread-safe.
     */
    public static final class Builder {
        private int maxRequestLine;
        private int maxHeaderBytes;
        private int maxHeaderCount;
        private int maxChunkLine;
        private int maxTrailerBytes;

        private Builder(Http1Limits from) {
            maxRequestLine = from.maxRequestLine;
            maxHeaderBytes = from.maxHeaderBytes;
            maxHeaderCount = from.maxHeaderCount;
            maxChunkLine = from.maxChunkLine;
            maxTrailerBytes = from.maxTrailerBytes;
        }

        public Builder maxRequestLine(int bytes) {
            maxRequestLine = Bounds.atLeast("maxRequestLine", bytes, 1);
            return this;
        }

        public Builder maxHeaderBytes(int bytes) {
            maxHeaderBytes = Bounds.atLeast("maxHeaderBytes", bytes, 1);
            return this;
        }

        public Builder maxHeaderCount(int count) {
            maxHeaderCount = Bounds.atLeast("maxHeaderCount", count, 1);
            return this;
        }

        public Builder maxChunkLine(int bytes) {
            maxChunkLine = Bounds.atLeast("maxChunkLine", bytes, 1);
            return this;
        }

        public Builder maxTrailerBytes(int bytes) {
            maxTrailerBytes = Bounds.atLeast("maxTrailerBytes", bytes, 1);
            return this;
        }

        public Http1Limits build() {
            return new Http1Limits(maxRequestLine, maxHeaderBytes, maxHeaderCount, maxChunkLine, maxTrailerBytes);
        }
    }
}

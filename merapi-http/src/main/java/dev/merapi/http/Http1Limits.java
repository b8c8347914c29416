package dev.merapi.http;

/**
 * Size limits of the HTTP/1 parser. Exceeding one answers 414 (request line) or 431 (header section)
 * and closes the connection.
 *
 * @param maxRequestLine longest request line or status line in bytes, CRLF included (default 8 KiB)
 * @param maxHeaderBytes largest header section in bytes, request line excluded (default 32 KiB)
 * @param maxHeaderCount most header fields in one message (default 100)
 * @param maxChunkLine longest chunk-size line in bytes, extensions included, CRLF excluded (default 4 KiB)
 * @param maxTrailerBytes largest trailer section of a chunked body in bytes: its fields with their CRLFs (default 16 KiB)
 */
public record Http1Limits(int maxRequestLine, int maxHeaderBytes, int maxHeaderCount, int maxChunkLine, int maxTrailerBytes) {
    /** The defaults. */
    public static final Http1Limits DEFAULT = new Http1Limits(8 * 1024, 32 * 1024, 100, 4 * 1024, 16 * 1024);

    public Http1Limits {
        positive(maxRequestLine, "maxRequestLine");
        positive(maxHeaderBytes, "maxHeaderBytes");
        positive(maxHeaderCount, "maxHeaderCount");
        positive(maxChunkLine, "maxChunkLine");
        positive(maxTrailerBytes, "maxTrailerBytes");
    }

    /** A copy with another request-line limit. */
    public Http1Limits withMaxRequestLine(int value) {
        return new Http1Limits(value, maxHeaderBytes, maxHeaderCount, maxChunkLine, maxTrailerBytes);
    }

    /** A copy with another header-section limit. */
    public Http1Limits withMaxHeaderBytes(int value) {
        return new Http1Limits(maxRequestLine, value, maxHeaderCount, maxChunkLine, maxTrailerBytes);
    }

    /** A copy with another header-count limit. */
    public Http1Limits withMaxHeaderCount(int value) {
        return new Http1Limits(maxRequestLine, maxHeaderBytes, value, maxChunkLine, maxTrailerBytes);
    }

    private static void positive(int v, String name) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive: " + v);
        }
    }
}

package dev.merapi.testkit;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;
import org.jspecify.annotations.Nullable;

/**
 * Reads HTTP/1.1 requests from one connection: the head byte for byte, then the body by Content-Length or chunked
 * transfer coding, trailers included.
 *
 * <p>Used only by the connection's own thread. Every read is bounded: the head and the trailers by the maximum
 * head size, a chunk-size line by {@value #MAX_CHUNK_LINE} bytes, and each blocking read by the link's timeout.
 * Lines may end in CRLF or a bare LF (RFC 9112 §2.2); {@link Head#raw()} keeps them as they came.
 */
final class RequestReader {

    /** Longest chunk-size line accepted, extensions included. */
    static final int MAX_CHUNK_LINE = 4096;

    private final InputStream in;
    private final int maxHeadSize;
    private final int maxRetainedBody;
    private final byte[] buffer = new byte[BodyPattern.BLOCK_SIZE];
    private int position;
    private int limit;

    RequestReader(InputStream in, int maxHeadSize, int maxRetainedBody) {
        this.in = in;
        this.maxHeadSize = maxHeadSize;
        this.maxRetainedBody = maxRetainedBody;
    }

    /** A request line and header section as parsed, with the exact bytes they came in. */
    record Head(String method, String target, String version, List<Map.Entry<String, String>> headers, String raw) {

        /** Every comma-separated element of every header named {@code name}, trimmed and lower-cased. */
        List<String> tokens(String name) {
            List<String> tokens = new ArrayList<>();
            for (Map.Entry<String, String> header : headers) {
                if (header.getKey().equalsIgnoreCase(name)) {
                    for (String token : header.getValue().split(",")) {
                        String trimmed = token.strip();
                        if (!trimmed.isEmpty()) {
                            tokens.add(trimmed.toLowerCase(Locale.ROOT));
                        }
                    }
                }
            }
            return tokens;
        }

        boolean has(String name) {
            return headers.stream().anyMatch(h -> h.getKey().equalsIgnoreCase(name));
        }
    }

    /**
     * How the request body is delimited.
     *
     * @param chunked              whether the body uses chunked transfer coding
     * @param contentLength        the body length when not chunked
     * @param closeAfterResponse   whether the framing was ambiguous (Transfer-Encoding and Content-Length both
     *                             present), in which case RFC 9112 §6.3 asks to close after responding
     */
    record Framing(boolean chunked, long contentLength, boolean closeAfterResponse) {

        /** Whether a body follows the head. */
        boolean hasBody() {
            return chunked || contentLength > 0;
        }

        /** Works out the framing of {@code head} per RFC 9112 §6.3; rejects anything ambiguous or unsupported. */
        static Framing of(Head head) throws BadRequest {
            List<String> codings = head.tokens("Transfer-Encoding");
            boolean hasContentLength = head.has("Content-Length");
            if (head.has("Transfer-Encoding")) {
                if (head.version().equals("HTTP/1.0")) {
                    throw new BadRequest(400, "Transfer-Encoding in an HTTP/1.0 request");
                }
                if (codings.isEmpty()) {
                    throw new BadRequest(400, "empty Transfer-Encoding");
                }
                if (!codings.getLast().equals("chunked")) {
                    throw new BadRequest(501, "the final transfer coding is not chunked: " + codings);
                }
                return new Framing(true, 0, hasContentLength);
            }
            if (!hasContentLength) {
                return new Framing(false, 0, false);
            }
            long length = -1;
            for (String value : head.tokens("Content-Length")) {
                long parsed = parseContentLength(value);
                if (length >= 0 && parsed != length) {
                    throw new BadRequest(400, "conflicting Content-Length values");
                }
                length = parsed;
            }
            if (length < 0) {
                throw new BadRequest(400, "empty Content-Length");
            }
            return new Framing(false, length, false);
        }

        private static long parseContentLength(String value) throws BadRequest {
            if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new BadRequest(400, "invalid Content-Length: " + value);
            }
            return Long.parseLong(value);
        }
    }

    /**
     * A decoded body, retained only up to the retention limit.
     *
     * @param retained the body, or an empty array when it was larger than the limit
     * @param chunks how many chunks with data a chunked body came in; 0 for a body framed by Content-Length
     */
    record Body(byte[] retained, long size, long crc32, List<Map.Entry<String, String>> trailers, long chunks) {}

    /** A request this reader refuses, with the status to answer before closing. */
    static final class BadRequest extends Exception {
        private final int status;

        BadRequest(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    /** Whether request bytes are already buffered, meaning the next request has started to arrive. */
    boolean hasBuffered() {
        return position < limit;
    }

    /**
     * Blocks until at least one byte can be read.
     *
     * @return {@code false} if the peer closed the connection first
     */
    boolean awaitByte() throws IOException {
        return position < limit || fill();
    }

    /**
     * Reads one request head, skipping empty lines before the request line.
     *
     * @return the head, or {@code null} if the peer closed the connection before sending a request
     * @throws BadRequest  if the head is malformed or larger than the limit
     * @throws EOFException if the peer closed the connection in the middle of the head
     */
    @Nullable Head readHead() throws IOException, BadRequest {
        int next;
        int skipped = 0;
        while ((next = peek()) == '\r' || next == '\n') {
            if (++skipped > maxHeadSize) {
                throw new BadRequest(400, "more than " + maxHeadSize + " empty lines before the request line");
            }
            position++;
        }
        if (next < 0) {
            return null;
        }
        byte[] raw = readFieldSection(maxHeadSize, 431, "request head");
        List<String> lines = lines(raw);
        String[] requestLine = lines.getFirst().split(" ", -1);
        if (requestLine.length != 3 || !isToken(requestLine[0]) || !isTarget(requestLine[1])) {
            throw new BadRequest(400, "malformed request line: " + lines.getFirst());
        }
        String version = requestLine[2];
        if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
            int status = version.matches("HTTP/\\d\\.\\d") ? 505 : 400;
            throw new BadRequest(status, "unsupported protocol version: " + version);
        }
        List<Map.Entry<String, String>> headers = parseFields(lines.subList(1, lines.size()));
        return new Head(requestLine[0], requestLine[1], version, headers,
                new String(raw, StandardCharsets.ISO_8859_1));
    }

    /**
     * Reads and decodes the body that {@code framing} announces.
     *
     * @throws BadRequest  if the chunked coding is malformed
     * @throws EOFException if the peer closed the connection before the body was complete
     */
    Body readBody(Framing framing) throws IOException, BadRequest {
        BodySink sink = new BodySink(maxRetainedBody);
        if (!framing.chunked()) {
            copy(framing.contentLength(), sink);
            return sink.finish(List.of(), 0);
        }
        long chunks = 0;
        while (true) {
            long size = parseChunkSize(readLine(MAX_CHUNK_LINE, "chunk-size line"));
            if (size == 0) {
                byte[] trailerSection = readFieldSection(maxHeadSize, 431, "trailer section");
                List<String> trailerLines = lines(trailerSection);
                return sink.finish(parseFields(trailerLines), chunks);
            }
            chunks++;
            copy(size, sink);
            if (!readLine(2, "chunk end").isEmpty()) {
                throw new BadRequest(400, "chunk data not followed by CRLF");
            }
        }
    }

    private void copy(long length, BodySink sink) throws IOException {
        long remaining = length;
        while (remaining > 0) {
            if (position == limit && !fill()) {
                throw new EOFException("connection closed with " + remaining + " body bytes missing");
            }
            int run = (int) Math.min(remaining, limit - position);
            sink.accept(buffer, position, run);
            position += run;
            remaining -= run;
        }
    }

    /**
     * Reads lines up to and including an empty line; returns the bytes before the terminating empty line's end,
     * that is the whole section as sent.
     */
    private byte[] readFieldSection(int max, int tooLargeStatus, String what) throws IOException, BadRequest {
        ByteArrayOutputStream section = new ByteArrayOutputStream(512);
        int lineLength = 0;
        while (true) {
            int b = read();
            if (b < 0) {
                throw new EOFException("connection closed in the middle of the " + what);
            }
            if (section.size() == max) {
                throw new BadRequest(tooLargeStatus, what + " larger than " + max + " bytes");
            }
            section.write(b);
            if (b == '\n') {
                if (lineLength == 0) {
                    return section.toByteArray();
                }
                lineLength = 0;
            } else if (b != '\r' || peek() != '\n') {
                lineLength++;
            }
        }
    }

    /** Reads one line of at most {@code max} bytes before its line end, and returns it without the line end. */
    private String readLine(int max, String what) throws IOException, BadRequest {
        StringBuilder line = new StringBuilder();
        while (true) {
            int b = read();
            if (b < 0) {
                throw new EOFException("connection closed in the middle of a " + what);
            }
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            if (line.length() > max) {
                throw new BadRequest(400, what + " longer than " + max + " bytes");
            }
            line.append((char) b);
        }
    }

    private static long parseChunkSize(String line) throws BadRequest {
        int semicolon = line.indexOf(';');
        String hex = (semicolon >= 0 ? line.substring(0, semicolon) : line).stripTrailing();
        if (hex.isEmpty() || hex.length() > 15 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new BadRequest(400, "invalid chunk size: " + line);
        }
        return Long.parseLong(hex, 16);
    }

    /** Splits a field section into lines without their line ends, dropping the final empty line. */
    private static List<String> lines(byte[] section) {
        String text = new String(section, StandardCharsets.ISO_8859_1);
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int lf = text.indexOf('\n'); lf >= 0; lf = text.indexOf('\n', start)) {
            int end = lf > start && text.charAt(lf - 1) == '\r' ? lf - 1 : lf;
            lines.add(text.substring(start, end));
            start = lf + 1;
        }
        lines.removeLast();
        return lines;
    }

    private static List<Map.Entry<String, String>> parseFields(List<String> lines) throws BadRequest {
        List<Map.Entry<String, String>> fields = new ArrayList<>(lines.size());
        for (String line : lines) {
            if (line.startsWith(" ") || line.startsWith("\t")) {
                throw new BadRequest(400, "obsolete line folding: " + line);
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line.substring(0, colon))) {
                throw new BadRequest(400, "malformed field line: " + line);
            }
            String value = line.substring(colon + 1).strip();
            if (value.chars().anyMatch(c -> c == 0 || c == '\r' || c == '\n')) {
                throw new BadRequest(400, "forbidden character in field value: " + line);
            }
            fields.add(Map.entry(line.substring(0, colon), value));
        }
        return fields;
    }

    /** RFC 9110 §5.6.2 token: one or more tchar. */
    private static boolean isToken(String text) {
        return !text.isEmpty() && text.chars().allMatch(c -> c < 0x7F && (Character.isLetterOrDigit(c)
                || "!#$%&'*+-.^_`|~".indexOf(c) >= 0));
    }

    private static boolean isTarget(String text) {
        return !text.isEmpty() && text.chars().allMatch(c -> c > 0x20 && c != 0x7F);
    }

    private int peek() throws IOException {
        return position < limit || fill() ? buffer[position] & 0xFF : -1;
    }

    private int read() throws IOException {
        return position < limit || fill() ? buffer[position++] & 0xFF : -1;
    }

    private boolean fill() throws IOException {
        int n = in.read(buffer, 0, buffer.length);
        if (n <= 0) {
            return false;
        }
        position = 0;
        limit = n;
        return true;
    }

    /** Accumulates a body: measures and checksums all of it, keeps it only up to a limit. */
    private static final class BodySink {
        private final int maxRetained;
        private final CRC32 crc = new CRC32();
        private @Nullable ByteArrayOutputStream retained = new ByteArrayOutputStream();
        private long size;

        BodySink(int maxRetained) {
            this.maxRetained = maxRetained;
        }

        void accept(byte[] bytes, int offset, int length) {
            crc.update(bytes, offset, length);
            size += length;
            if (retained != null && size <= maxRetained) {
                retained.write(bytes, offset, length);
            } else {
                retained = null;
            }
        }

        Body finish(List<Map.Entry<String, String>> trailers, long chunks) {
            byte[] bytes = retained != null ? retained.toByteArray() : new byte[0];
            return new Body(bytes, size, crc.getValue(), trailers, chunks);
        }
    }
}

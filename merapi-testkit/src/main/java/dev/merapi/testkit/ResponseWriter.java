package dev.merapi.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.merapi.testkit.MockResponse.Body;
import dev.merapi.testkit.OriginFault.CloseAfterHeaders;
import dev.merapi.testkit.OriginFault.CloseAfterRequest;
import dev.merapi.testkit.OriginFault.CloseDelimitedBody;
import dev.merapi.testkit.OriginFault.CloseImmediately;
import dev.merapi.testkit.OriginFault.Raw;
import dev.merapi.testkit.OriginFault.ResetAfterRequest;
import dev.merapi.testkit.OriginFault.ResetMidBody;
import dev.merapi.testkit.OriginFault.Stall;
import dev.merapi.testkit.OriginFault.StallBody;
import dev.merapi.testkit.OriginFault.WrongContentLength;

/**
 * Writes {@link MockResponse}s, faults included, to one connection and says what should happen to it next.
 *
 * <p>Used only by the connection's own thread; writes block while the peer does not read. Bytes are buffered
 * and a full buffer is written only once more bytes follow, so the last bytes of a response always leave in
 * {@link #finish()}, right after the {@code beforeFinalWrite} hook. That hook lets
 * {@link MockOrigin#closeIdleConnections()} tell a connection that is about to become idle from a busy one.
 */
final class ResponseWriter {

    /** What the connection does after a response. */
    enum Outcome {
        /** Wait for the next request. */
        KEEP_ALIVE,
        /** Close gracefully. */
        CLOSE,
        /** Close with a TCP RST. */
        RESET,
        /** Write nothing more and wait until either side closes. */
        STALL
    }

    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

    private final OutputStream out;
    private final Runnable beforeFinalWrite;
    private final byte[] buffer = new byte[BodyPattern.BLOCK_SIZE];
    private int count;
    private int writeSize = buffer.length;
    private long delayNanos;
    private long nextWriteAt;
    private long bodyBudget = Long.MAX_VALUE;

    ResponseWriter(OutputStream out, Runnable beforeFinalWrite) {
        this.out = out;
        this.beforeFinalWrite = beforeFinalWrite;
    }

    /** Writes {@code 100 Continue} at once. */
    void writeContinue() throws IOException, InterruptedException {
        resetPacing();
        put(CONTINUE, 0, CONTINUE.length);
        emit();
    }

    /** Answers a request the origin refused to parse; the connection closes afterwards. */
    void writeRejection(int status, String message) throws IOException, InterruptedException {
        resetPacing();
        byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + " " + MockResponse.reasonPhrase(status) + "\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + body.length + "\r\n"
                + "Connection: close\r\n\r\n";
        put(head.getBytes(StandardCharsets.ISO_8859_1));
        put(body);
        emit();
    }

    /**
     * Writes {@code response}, or acts out its fault.
     *
     * @param headRequest      whether the request method was HEAD, which suppresses the body
     * @param requestKeepAlive whether the request allows the connection to stay open afterwards
     */
    Outcome write(MockResponse response, boolean headRequest, boolean requestKeepAlive)
            throws IOException, InterruptedException {
        resetPacing();
        sleep(response.headersDelay());
        boolean sendsBody = !headRequest && hasBody(response.code());
        return switch (response.fault().orElse(null)) {
            case null -> writeNormally(response, sendsBody, requestKeepAlive);
            case CloseImmediately _, CloseAfterRequest _ -> Outcome.CLOSE;
            case ResetAfterRequest _ -> Outcome.RESET;
            case Stall _ -> Outcome.STALL;
            case Raw raw -> {
                put(raw.bytes());
                finish();
                yield raw.closeAfter() || !requestKeepAlive ? Outcome.CLOSE : Outcome.KEEP_ALIVE;
            }
            case CloseAfterHeaders _ -> {
                putInterimResponses(response);
                putHead(response, framedHeaders(response));
                emit();
                yield Outcome.CLOSE;
            }
            case ResetMidBody cut -> writeCut(response, sendsBody, cut.afterBytes(), Outcome.RESET);
            case StallBody cut -> writeCut(response, sendsBody, cut.afterBytes(), Outcome.STALL);
            case WrongContentLength wrong -> {
                List<Map.Entry<String, String>> headers = unframedHeaders(response);
                headers.add(Map.entry("Content-Length", Long.toString(wrong.declared())));
                yield writeUnframed(response, sendsBody, headers);
            }
            case CloseDelimitedBody _ -> writeUnframed(response, sendsBody, unframedHeaders(response));
        };
    }

    private Outcome writeNormally(MockResponse response, boolean sendsBody, boolean requestKeepAlive)
            throws IOException, InterruptedException {
        List<Map.Entry<String, String>> headers = framedHeaders(response);
        putInterimResponses(response);
        putHead(response, headers);
        if (sendsBody) {
            pace(response);
            putBody(response, true);
        }
        finish();
        List<String> connection = tokens(headers, "Connection");
        boolean closeDelimited = sendsBody && !hasFraming(headers);
        boolean responseKeepAlive = !closeDelimited && !connection.contains("close")
                && (!response.http10() || connection.contains("keep-alive"));
        return requestKeepAlive && responseKeepAlive ? Outcome.KEEP_ALIVE : Outcome.CLOSE;
    }

    private Outcome writeCut(MockResponse response, boolean sendsBody, long afterBytes, Outcome then)
            throws IOException, InterruptedException {
        putInterimResponses(response);
        putHead(response, framedHeaders(response));
        if (sendsBody) {
            pace(response);
            bodyBudget = afterBytes;
            try {
                putBody(response, true);
            } catch (BodyCut expected) {
                // The budget ran out: what was sent so far is all the peer gets.
            }
        }
        emit();
        return then;
    }

    private Outcome writeUnframed(MockResponse response, boolean sendsBody, List<Map.Entry<String, String>> headers)
            throws IOException, InterruptedException {
        putInterimResponses(response);
        putHead(response, headers);
        if (sendsBody) {
            pace(response);
            putBody(response, false);
        }
        emit();
        return Outcome.CLOSE;
    }

    /** The response headers plus the framing header the body needs, unless the headers already frame it. */
    private static List<Map.Entry<String, String>> framedHeaders(MockResponse response) {
        List<Map.Entry<String, String>> headers = new ArrayList<>(response.headers());
        if (hasFraming(headers) || !hasBody(response.code())) {
            return headers;
        }
        switch (response.body()) {
            case Body.Chunked _ -> headers.add(Map.entry("Transfer-Encoding", "chunked"));
            case Body.Fixed _, Body.Streamed _ -> {
                if (response.addContentLength()) {
                    headers.add(Map.entry("Content-Length", Long.toString(response.body().size())));
                }
            }
        }
        return headers;
    }

    /** The response headers without any Content-Length or Transfer-Encoding. */
    private static List<Map.Entry<String, String>> unframedHeaders(MockResponse response) {
        List<Map.Entry<String, String>> headers = new ArrayList<>(response.headers());
        headers.removeIf(ResponseWriter::isFramingHeader);
        return headers;
    }

    private static boolean hasFraming(List<Map.Entry<String, String>> headers) {
        return headers.stream().anyMatch(ResponseWriter::isFramingHeader);
    }

    private static boolean isFramingHeader(Map.Entry<String, String> header) {
        return header.getKey().equalsIgnoreCase("Content-Length")
                || header.getKey().equalsIgnoreCase("Transfer-Encoding");
    }

    /** Whether responses with this status carry a body: all but 1xx, 204 and 304 (RFC 9112 §6.3). */
    private static boolean hasBody(int status) {
        return status >= 200 && status != 204 && status != 304;
    }

    private static List<String> tokens(List<Map.Entry<String, String>> headers, String name) {
        List<String> tokens = new ArrayList<>();
        for (Map.Entry<String, String> header : headers) {
            if (header.getKey().equalsIgnoreCase(name)) {
                for (String token : header.getValue().split(",")) {
                    tokens.add(token.strip().toLowerCase(Locale.ROOT));
                }
            }
        }
        return tokens;
    }

    private void putInterimResponses(MockResponse response) throws IOException, InterruptedException {
        for (int code : response.informational()) {
            String line = "HTTP/1.1 " + code + " " + MockResponse.reasonPhrase(code) + "\r\n\r\n";
            put(line.getBytes(StandardCharsets.ISO_8859_1));
            emit();
        }
    }

    private void putHead(MockResponse response, List<Map.Entry<String, String>> headers)
            throws IOException, InterruptedException {
        StringBuilder head = new StringBuilder(256);
        head.append(response.http10() ? "HTTP/1.0 " : "HTTP/1.1 ")
                .append(response.code()).append(' ').append(response.reason()).append("\r\n");
        for (Map.Entry<String, String> header : headers) {
            head.append(header.getKey()).append(": ").append(header.getValue()).append("\r\n");
        }
        head.append("\r\n");
        put(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Writes the body; {@code framed} selects chunked coding for a chunked body, raw bytes otherwise. */
    private void putBody(MockResponse response, boolean framed) throws IOException, InterruptedException {
        switch (response.body()) {
            case Body.Fixed fixed -> putBodyBytes(fixed.bytes(), 0, fixed.bytes().length);
            case Body.Chunked chunked when !framed -> putBodyBytes(chunked.bytes(), 0, chunked.bytes().length);
            case Body.Chunked chunked -> putChunked(chunked.bytes(), chunked.chunkSize(), response.trailers());
            case Body.Streamed streamed -> putPattern(streamed.size());
        }
    }

    private void putChunked(byte[] body, int chunkSize, List<Map.Entry<String, String>> trailers)
            throws IOException, InterruptedException {
        for (int offset = 0; offset < body.length; offset += chunkSize) {
            int length = Math.min(chunkSize, body.length - offset);
            putBodyBytes(ascii(Integer.toHexString(length) + "\r\n"));
            putBodyBytes(body, offset, length);
            putBodyBytes(ascii("\r\n"));
        }
        StringBuilder end = new StringBuilder("0\r\n");
        for (Map.Entry<String, String> trailer : trailers) {
            end.append(trailer.getKey()).append(": ").append(trailer.getValue()).append("\r\n");
        }
        putBodyBytes(ascii(end.append("\r\n").toString()));
    }

    private void putPattern(long size) throws IOException, InterruptedException {
        byte[] block = new byte[BodyPattern.BLOCK_SIZE];
        for (long position = 0; position < size; ) {
            int length = (int) Math.min(block.length, size - position);
            BodyPattern.fill(position, block, 0, length);
            putBodyBytes(block, 0, length);
            position += length;
        }
    }

    private void putBodyBytes(byte[] bytes) throws IOException, InterruptedException {
        putBodyBytes(bytes, 0, bytes.length);
    }

    private void putBodyBytes(byte[] bytes, int offset, int length) throws IOException, InterruptedException {
        if (length > bodyBudget) {
            put(bytes, offset, (int) bodyBudget);
            bodyBudget = 0;
            throw new BodyCut();
        }
        put(bytes, offset, length);
        bodyBudget -= length;
    }

    private void put(byte[] bytes) throws IOException, InterruptedException {
        put(bytes, 0, bytes.length);
    }

    /** Buffers bytes; a full buffer is written only when more bytes follow, keeping the last bytes for finish. */
    private void put(byte[] bytes, int offset, int length) throws IOException, InterruptedException {
        while (length > 0) {
            if (count == writeSize) {
                emit();
            }
            int run = Math.min(length, writeSize - count);
            System.arraycopy(bytes, offset, buffer, count, run);
            count += run;
            offset += run;
            length -= run;
        }
    }

    /** Writes the buffered bytes now, after the pacing delay if the body is throttled. */
    private void emit() throws IOException, InterruptedException {
        if (count == 0) {
            return;
        }
        if (delayNanos > 0) {
            long wait = nextWriteAt - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
        }
        out.write(buffer, 0, count);
        out.flush();
        count = 0;
        nextWriteAt = System.nanoTime() + delayNanos;
    }

    /** Writes the last bytes of a response that leaves the connection reusable. */
    private void finish() throws IOException, InterruptedException {
        beforeFinalWrite.run();
        emit();
    }

    /** Sends the head now and applies the response's throttle to the body that follows. */
    private void pace(MockResponse response) throws IOException, InterruptedException {
        if (response.throttleBytes() > 0) {
            emit();
            writeSize = Math.min(response.throttleBytes(), buffer.length);
            delayNanos = response.throttleDelay().toNanos();
        }
    }

    private void resetPacing() {
        writeSize = buffer.length;
        delayNanos = 0;
        bodyBudget = Long.MAX_VALUE;
    }

    private static void sleep(Duration duration) throws InterruptedException {
        if (duration.isPositive()) {
            Thread.sleep(duration);
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** Signals that a fault's body budget is used up; carries no stack trace. */
    private static final class BodyCut extends IOException {
        BodyCut() {
            super("body budget used up", null);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}

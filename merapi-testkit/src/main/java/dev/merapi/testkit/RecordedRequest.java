package dev.merapi.testkit;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One request as {@link MockOrigin} read it off the wire, recorded once its body was complete.
 *
 * <p>Bodies up to {@link MockOrigin.Builder#maxRetainedBodySize(int) the retention limit} (1 MiB by default) are
 * kept; larger ones are only measured, by {@link #bodySize()} and {@link #bodyCrc32()}, so gigabyte uploads can
 * be checked without holding them.
 *
 * @param method            the request method, as sent
 * @param target            the request target, as sent (origin-form, absolute-form, authority-form or {@code *})
 * @param version           the protocol version, {@code HTTP/1.1} or {@code HTTP/1.0}
 * @param headers           the header fields in order, with the case of their names as sent
 * @param trailers          the trailer fields of a chunked body, in order; empty otherwise
 * @param body              the decoded body if retained, otherwise empty
 * @param bodySize          the decoded body length, retained or not
 * @param bodyCrc32         the CRC32 of the decoded body, retained or not
 * @param chunked           whether the body came with chunked transfer coding
 * @param chunks            how many chunks with data the body came in (the last, empty chunk not counted); 0 when
 *                          it was not chunked
 * @param rawHead           the exact bytes of the request line and headers, up to and including the empty line,
 *                          as ISO-8859-1
 * @param connectionIndex   which accepted connection carried the request, counting from 1
 * @param indexOnConnection the position of the request on its connection, counting from 1
 */
public record RecordedRequest(
        String method,
        String target,
        String version,
        List<Map.Entry<String, String>> headers,
        List<Map.Entry<String, String>> trailers,
        byte[] body,
        long bodySize,
        long bodyCrc32,
        boolean chunked,
        long chunks,
        String rawHead,
        int connectionIndex,
        int indexOnConnection) {

    /** Copies the lists and the body; {@code body} must be empty or hold exactly {@code bodySize} bytes. */
    public RecordedRequest {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(version, "version");
        headers = List.copyOf(headers);
        trailers = List.copyOf(trailers);
        body = Objects.requireNonNull(body, "body").clone();
        Objects.requireNonNull(rawHead, "rawHead");
        if (body.length != 0 && body.length != bodySize) {
            throw new IllegalArgumentException("body holds " + body.length + " bytes but bodySize is " + bodySize);
        }
    }

    /**
     * Returns a copy of the decoded body.
     *
     * @throws IllegalStateException if the body was too large to retain; use {@link #bodySize()} and
     *                               {@link #bodyCrc32()} instead
     */
    @Override
    public byte[] body() {
        if (!bodyRetained()) {
            throw new IllegalStateException("body of " + bodySize + " bytes was not retained; compare bodyCrc32()");
        }
        return body.clone();
    }

    /** Whether {@link #body()} holds the body, which is the case when it was no larger than the retention limit. */
    public boolean bodyRetained() {
        return body.length == bodySize;
    }

    /** The decoded body as UTF-8 text; throws like {@link #body()} if it was not retained. */
    public String bodyUtf8() {
        return new String(body(), StandardCharsets.UTF_8);
    }

    /** The first value of the header named {@code name}, compared ignoring case. */
    public Optional<String> header(String name) {
        Objects.requireNonNull(name, "name");
        for (Map.Entry<String, String> header : headers) {
            if (header.getKey().equalsIgnoreCase(name)) {
                return Optional.of(header.getValue());
            }
        }
        return Optional.empty();
    }

    /** Every value of the header named {@code name}, compared ignoring case, in order. */
    public List<String> headerValues(String name) {
        Objects.requireNonNull(name, "name");
        return headers.stream().filter(h -> h.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
    }

    /** The first value of the trailer field named {@code name}, compared ignoring case. */
    public Optional<String> trailer(String name) {
        Objects.requireNonNull(name, "name");
        return trailers.stream().filter(t -> t.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).findFirst();
    }

    @Override
    public String toString() {
        return method + " " + target + " " + version + " (connection " + connectionIndex + ", request "
                + indexOnConnection + ", " + headers.size() + " headers, " + bodySize + " body bytes"
                + (chunked ? " chunked" : "") + ")";
    }
}

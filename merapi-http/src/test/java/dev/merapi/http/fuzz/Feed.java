package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Feeds bytes to the HTTP/1 head parser the way a connection does: into a cumulation buffer, in pieces,
 * keeping one {@link Http1Parser.HeadScan}, and records what came out so that runs can be compared.
 */
final class Feed {
    /** Limits small enough that fuzzed inputs reach every one of them. */
    static final Http1Limits TINY = new Http1Limits(48, 96, 4, 16, 40);
    /** Statuses a request may be rejected with (Http1Parser's documented set). */
    static final Set<Integer> REQUEST_STATUSES = Set.of(400, 414, 431, 501, 505);

    private Feed() {
    }

    /** What parsing one head produced. */
    sealed interface Outcome permits Parsed, Rejected, Incomplete {
    }

    /** A head was parsed; {@code consumed} counts the bytes it took, leading empty lines included. */
    record Parsed(Head head, int consumed) implements Outcome {
    }

    /** The head broke a rule. {@code status} is 502 for responses. */
    record Rejected(int status, String rule) implements Outcome {
    }

    /** The bytes ended before the head did. */
    record Incomplete() implements Outcome {
    }

    /** A comparable copy of a parsed head. */
    record Head(String startLine, HttpVersion version, List<String> fields, long bodyLength) {
        static Head of(RequestHeader r) {
            return new Head(r.method() + ' ' + r.target(), r.version(), fields(r.headers()), r.bodyLength());
        }

        static Head of(ResponseHeader r) {
            return new Head(r.status() + " " + r.reason(), r.version(), fields(r.headers()), r.bodyLength());
        }

        private static List<String> fields(Headers h) {
            List<String> out = new ArrayList<>(h.size() * 2);
            h.forEach((n, v) -> {
                out.add(n);
                out.add(v);
            });
            return out;
        }
    }

    /**
     * Cut points for {@code n} bytes: none (one read), every byte, and a few pseudo-random ones derived from the
     * input itself so that a failing input replays the same way.
     */
    static List<int[]> cuttings(byte[] data) {
        int n = data.length;
        List<int[]> out = new ArrayList<>();
        out.add(new int[0]);
        int[] each = new int[Math.max(0, n - 1)];
        for (int i = 0; i < each.length; i++) {
            each[i] = i + 1;
        }
        out.add(each);
        SplittableRandom random = new SplittableRandom(java.util.Arrays.hashCode(data));
        for (int k = 0; k < 3 && n > 1; k++) {
            out.add(random.ints(1 + random.nextInt(Math.min(n - 1, 8)), 1, n).distinct().sorted().toArray());
        }
        return out;
    }

    /** Parses one request head from {@code wire} delivered in pieces cut at {@code cuts}. */
    static Outcome request(byte[] wire, int[] cuts, Http1Limits limits, boolean discardBetweenReads) {
        return head(wire, cuts, limits, discardBetweenReads, null);
    }

    /** Parses one response head (to a request with {@code method}) from {@code wire} cut at {@code cuts}. */
    static Outcome response(byte[] wire, int[] cuts, Http1Limits limits, String method) {
        return head(wire, cuts, limits, false, method);
    }

    private static Outcome head(byte[] wire, int[] cuts, Http1Limits limits, boolean discard, String method) {
        boolean request = method == null;
        ByteBuf cumulation = Unpooled.buffer(wire.length);
        Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
        int fed = 0;
        int consumedBefore = 0; // bytes dropped by discardReadBytes
        try {
            for (int i = 0; i <= cuts.length; i++) {
                int to = i < cuts.length ? cuts[i] : wire.length;
                cumulation.writeBytes(wire, fed, to - fed);
                fed = to;
                int end = Http1Parser.findHeadEnd(cumulation, scan, limits, request);
                if (end >= 0) {
                    assertThat(end).isBetween(cumulation.readerIndex(), cumulation.writerIndex());
                    Head head = request
                            ? Head.of(Http1Parser.parseRequest(cumulation, end, limits))
                            : Head.of(Http1Parser.parseResponse(cumulation, end, method));
                    assertThat(cumulation.readerIndex()).as("the parser consumes exactly the head").isEqualTo(end);
                    return new Parsed(head, consumedBefore + end);
                }
                assertThat(cumulation.writerIndex()).as("findHeadEnd never consumes past the data").isGreaterThanOrEqualTo(cumulation.readerIndex());
                if (discard) {
                    consumedBefore += cumulation.readerIndex();
                    cumulation.discardReadBytes();
                }
            }
            return new Incomplete();
        } catch (ProxyError e) {
            return rejected(e, request);
        } finally {
            assertThat(cumulation.refCnt()).isEqualTo(1);
            cumulation.release();
        }
    }

    /** Checks that a head parser error is one of the documented kinds and returns it as an outcome. */
    static Rejected rejected(ProxyError e, boolean request) {
        return rejected(e, request, ErrorType.Kind.INVALID_HTTP_HEADER);
    }

    /**
     * Checks that a parser error is one of the documented kinds and returns it as an outcome.
     *
     * @param responseKind the kind a response error must have: a broken head or a broken body framing
     */
    static Rejected rejected(ProxyError e, boolean request, ErrorType.Kind responseKind) {
        String context = e.getMessage();
        String rule = rule(e);
        assertThat(rule).as("error context names a rule: %s", context).matches("[a-z0-9]+(-[a-z0-9]+)*");
        if (request) {
            assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
            assertThat(e.type()).isInstanceOf(ErrorType.HttpStatus.class);
            int status = ((ErrorType.HttpStatus) e.type()).code();
            assertThat(REQUEST_STATUSES).as("status of %s", context).contains(status);
            return new Rejected(status, rule);
        }
        assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
        assertThat(e.type()).isEqualTo(responseKind);
        return new Rejected(502, rule);
    }

    /** The readable bytes of {@code buf}, which this releases. */
    static byte[] drain(ByteBuf buf) {
        try {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            return bytes;
        } finally {
            buf.release();
        }
    }

    /** The rule name that starts an error's context ({@code "bare-lf: ..."}). */
    static String rule(ProxyError e) {
        String c = e.context();
        int colon = c == null ? -1 : c.indexOf(':');
        return colon < 0 ? String.valueOf(c) : c.substring(0, colon);
    }
}

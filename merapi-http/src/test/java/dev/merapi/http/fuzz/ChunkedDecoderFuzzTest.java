package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.ChunkedDecoder;
import dev.merapi.http.Http1Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * Fuzzes {@link ChunkedDecoder} with raw bytes delivered whole, byte by byte and in random splits, and compares it
 * with {@link Reference}, a plain whole-input reading of the RFC 9112 §7.1 grammar and the documented limits.
 * Properties: only documented errors; accepts exactly what the reference accepts; the same body, whose length is the
 * sum of the chunk sizes; never reads past the end of the chunked body; every returned slice released; the same
 * verdict for every split. Both {@link ChunkedDecoder#decode(ByteBuf)} and the coalescing
 * {@link ChunkedDecoder#decode(ByteBuf, io.netty.buffer.ByteBufAllocator)} are checked.
 */
class ChunkedDecoderFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void decode(byte[] wire) {
        check(wire, Http1Limits.DEFAULT, true);
        check(wire, Feed.TINY, false);
    }

    private static void check(byte[] wire, Http1Limits limits, boolean request) {
        Reference.Result expected = Reference.decode(wire, limits);
        for (int[] cuts : Feed.cuttings(wire)) {
            for (boolean coalesce : new boolean[] {false, true}) {
                checkRun(wire, cuts, limits, request, coalesce, expected);
            }
        }
    }

    private static void checkRun(byte[] wire, int[] cuts, Http1Limits limits, boolean request, boolean coalesce,
            Reference.Result expected) {
        Run run = run(wire, cuts, limits, request, coalesce);
        assertThat(run.verdict).as("verdict for cuts %s, reference %s", Arrays.toString(cuts), expected.verdict())
                .isEqualTo(expected.verdict());
        if (expected.verdict() == Verdict.DONE) {
            assertThat(run.consumed).as("bytes consumed (no over-read)").isEqualTo(expected.consumed());
            assertThat(run.body).isEqualTo(expected.body());
            assertThat(run.decodedBytes).as("decodedBytes = sum of chunk sizes").isEqualTo(expected.sizes());
            assertThat((long) run.body.length).isEqualTo(expected.sizes());
        } else if (expected.verdict() == Verdict.INCOMPLETE) {
            assertThat(run.body).as("data so far").isEqualTo(Arrays.copyOf(expected.body(), run.body.length));
            assertThat(run.decodedBytes).isEqualTo(run.body.length);
        }
    }

    enum Verdict { DONE, REJECTED, INCOMPLETE }

    private record Run(Verdict verdict, byte[] body, long decodedBytes, int consumed) {
    }

    private static Run run(byte[] wire, int[] cuts, Http1Limits limits, boolean request, boolean coalesce) {
        ChunkedDecoder decoder = new ChunkedDecoder(limits, request);
        ByteBuf in = Unpooled.buffer(wire.length);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int fed = 0;
        int next = 0;
        try {
            while (true) {
                ByteBuf piece = coalesce ? decoder.decode(in, UnpooledByteBufAllocator.DEFAULT) : decoder.decode(in);
                if (piece == null) {
                    assertThat(decoder.isDone()).isFalse();
                    if (fed == wire.length) {
                        return new Run(Verdict.INCOMPLETE, body.toByteArray(), decoder.decodedBytes(), in.readerIndex());
                    }
                    int to = next < cuts.length ? cuts[next++] : wire.length;
                    in.writeBytes(wire, fed, to - fed);
                    fed = to;
                    continue;
                }
                try {
                    assertThat(piece.isReadable() || decoder.isDone()).as("an empty piece only at the end").isTrue();
                    byte[] b = new byte[piece.readableBytes()];
                    piece.readBytes(b);
                    body.writeBytes(b);
                } finally {
                    piece.release();
                }
                if (decoder.isDone()) {
                    int consumed = in.readerIndex();
                    ByteBuf after = decoder.decode(in);
                    assertThat(after.isReadable()).isFalse();
                    assertThat(in.readerIndex()).as("nothing read once done").isEqualTo(consumed);
                    return new Run(Verdict.DONE, body.toByteArray(), decoder.decodedBytes(), consumed);
                }
            }
        } catch (ProxyError e) {
            Feed.rejected(e, request, ErrorType.Kind.INVALID_HTTP_BODY);
            return new Run(Verdict.REJECTED, body.toByteArray(), decoder.decodedBytes(), in.readerIndex());
        } finally {
            assertThat(in.refCnt()).as("every slice released").isEqualTo(1);
            in.release();
        }
    }

    /**
     * The chunked grammar read from a whole byte array, written from RFC 9112 §7.1 and the limits as documented: a
     * chunk-size line holds at most {@code maxChunkLine} bytes before its CRLF, and the trailer fields, each with its
     * CRLF, add up to at most {@code maxTrailerBytes}. Chunk sizes have at most 15 significant hex digits.
     */
    static final class Reference {
        private static final String TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
        private static final String QUOTED = "\"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*\"";
        private static final Pattern SIZE_LINE = Pattern.compile(
                "0*([0-9A-Fa-f]{0,15})(?:[ \\t]*;[ \\t]*" + TOKEN + "(?:[ \\t]*=[ \\t]*(?:" + TOKEN + "|" + QUOTED + "))?)*");
        private static final Pattern FIELD_LINE = Pattern.compile(TOKEN + ":[\\t \\x21-\\x7e\\x80-\\xff]*");

        record Result(Verdict verdict, byte[] body, long sizes, int consumed) {
        }

        static Result decode(byte[] wire, Http1Limits limits) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            long sizes = 0;
            int pos = 0;
            while (true) {
                // chunk-size [ chunk-ext ] CRLF
                int lf = lineEnd(wire, pos, limits.maxChunkLine() + 2);
                if (lf == -1) {
                    return new Result(Verdict.INCOMPLETE, body.toByteArray(), sizes, pos);
                }
                if (lf == -2) {
                    return new Result(Verdict.REJECTED, body.toByteArray(), sizes, pos);
                }
                String line = new String(wire, pos, lf - 1 - pos, StandardCharsets.ISO_8859_1);
                var m = SIZE_LINE.matcher(line);
                if (line.isEmpty() || !Character.isLetterOrDigit(line.charAt(0)) || !m.matches()) {
                    return new Result(Verdict.REJECTED, body.toByteArray(), sizes, pos);
                }
                long size = m.group(1).isEmpty() ? 0 : Long.parseLong(m.group(1), 16);
                pos = lf + 1;
                if (size == 0) {
                    break;
                }
                // chunk-data CRLF
                long available = wire.length - pos;
                if (available < size) {
                    body.write(wire, pos, (int) available);
                    return new Result(Verdict.INCOMPLETE, body.toByteArray(), sizes + available, wire.length);
                }
                body.write(wire, pos, (int) size);
                sizes += size;
                pos += (int) size;
                if (wire.length - pos >= 1 && wire[pos] != '\r' || wire.length - pos >= 2 && wire[pos + 1] != '\n') {
                    return new Result(Verdict.REJECTED, body.toByteArray(), sizes, pos);
                }
                if (wire.length - pos < 2) {
                    return new Result(Verdict.INCOMPLETE, body.toByteArray(), sizes, pos);
                }
                pos += 2;
            }
            // trailer-section CRLF
            int trailerBytes = 0;
            while (true) {
                int lf = lineEnd(wire, pos, Math.max(limits.maxTrailerBytes() - trailerBytes, 2));
                if (lf == -1) {
                    return new Result(Verdict.INCOMPLETE, body.toByteArray(), sizes, pos);
                }
                if (lf == -2) {
                    return new Result(Verdict.REJECTED, body.toByteArray(), sizes, pos);
                }
                if (lf == pos + 1) {
                    return new Result(Verdict.DONE, body.toByteArray(), sizes, lf + 1);
                }
                String line = new String(wire, pos, lf - 1 - pos, StandardCharsets.ISO_8859_1);
                trailerBytes += lf + 1 - pos;
                if (!FIELD_LINE.matcher(line).matches() || trailerBytes > limits.maxTrailerBytes()) {
                    return new Result(Verdict.REJECTED, body.toByteArray(), sizes, pos);
                }
                pos = lf + 1;
            }
        }

        /**
         * The index of the LF that ends the line at {@code pos}, if the line (CRLF included) fits in {@code max}
         * bytes and ends in CRLF; -1 if the bytes end first and a fitting line may still come; -2 if it cannot.
         */
        private static int lineEnd(byte[] wire, int pos, int max) {
            for (int i = pos; i < wire.length; i++) {
                if (i - pos >= max) {
                    return -2;
                }
                if (wire[i] == '\n') {
                    return i > pos && wire[i - 1] == '\r' ? i : -2;
                }
            }
            return wire.length - pos >= max ? -2 : -1;
        }
    }
}

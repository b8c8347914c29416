package dev.merapi.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ChunkedDecoder}: the same body and the same verdict however the bytes are split, every returned slice
 * released, every input buffer released.
 */
class ChunkedDecoderTest {
    private static final Http1Limits LIMITS = Http1Limits.DEFAULT;

    private static final String BODY_WIRE = "5;ext=1;q=\"a \\\"b\\\"\"\r\nhello\r\n"
            + "6 ; x\r\n world\r\n"
            + "A\r\n0123456789\r\n"
            + "0\r\nTrailer-A: 1\r\nb: 2\r\n\r\n";
    private static final String BODY = "hello world0123456789";

    /** What one decoding run produced. */
    private record Decoded(String body, boolean done, long decodedBytes, String left) {
    }

    /**
     * Feeds {@code wire} in pieces cut at {@code cuts} (ascending indices) and decodes until done or out of bytes, with
     * both {@link ChunkedDecoder#decode(ByteBuf)} and the coalescing {@link ChunkedDecoder#decode(ByteBuf,
     * io.netty.buffer.ByteBufAllocator)}; they must agree on the body, the verdict and what is left.
     */
    private static Decoded decode(String wire, boolean request, int... cuts) {
        ProxyError singleError = null;
        Decoded single = null;
        try {
            single = run(wire, request, false, cuts);
        } catch (ProxyError e) {
            singleError = e;
        }
        try {
            Decoded joined = run(wire, request, true, cuts);
            assertThat(singleError).as("coalescing accepts what piece by piece rejects").isNull();
            assertThat(joined).as("coalesced and piece by piece").isEqualTo(single);
        } catch (ProxyError e) {
            assertThat(singleError).as("coalescing rejects what piece by piece accepts").isNotNull();
            assertThat(e.context()).isEqualTo(singleError.context());
        }
        if (singleError != null) {
            throw singleError;
        }
        return single;
    }

    private static Decoded run(String wire, boolean request, boolean coalesce, int... cuts) {
        byte[] all = wire.getBytes(StandardCharsets.ISO_8859_1);
        ChunkedDecoder decoder = new ChunkedDecoder(LIMITS, request);
        ByteBuf in = Unpooled.buffer();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            int fed = 0;
            int next = 0;
            boolean fedSincePiece = true;
            while (true) {
                ByteBuf piece = coalesce ? decoder.decode(in, UnpooledByteBufAllocator.DEFAULT) : decoder.decode(in);
                if (piece != null) {
                    if (coalesce) {
                        assertThat(fedSincePiece || decoder.isDone()).as("at most one piece per input").isTrue();
                        fedSincePiece = false;
                    }
                    try {
                        byte[] b = new byte[piece.readableBytes()];
                        piece.readBytes(b);
                        out.writeBytes(b);
                    } finally {
                        piece.release();
                    }
                    if (decoder.isDone()) {
                        break;
                    }
                    continue;
                }
                if (fed == all.length) {
                    break; // incomplete
                }
                int to = next < cuts.length ? cuts[next++] : all.length;
                in.writeBytes(all, fed, to - fed);
                fed = to;
                fedSincePiece = true;
            }
            String left = in.toString(StandardCharsets.ISO_8859_1) + new String(all, fed, all.length - fed, StandardCharsets.ISO_8859_1);
            return new Decoded(out.toString(StandardCharsets.ISO_8859_1), decoder.isDone(), decoder.decodedBytes(), left);
        } finally {
            assertThat(in.release()).as("input fully released").isTrue();
        }
    }

    private static int[] everyByte(String wire) {
        int[] cuts = new int[wire.length()];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = i + 1;
        }
        return cuts;
    }

    private static ProxyError decodeError(String wire, boolean request, int... cuts) {
        ProxyError e = catchThrowableOfType(ProxyError.class, () -> decode(wire, request, cuts));
        assertThat(e).as("rejection of %s", wire).isNotNull();
        return e;
    }

    @Test
    void decodesChunksWithExtensionsAndDropsTrailers() {
        Decoded d = decode(BODY_WIRE, true);
        assertThat(d.body()).isEqualTo(BODY);
        assertThat(d.done()).isTrue();
        assertThat(d.decodedBytes()).isEqualTo(BODY.length());
        assertThat(d.left()).isEmpty();
    }

    @Test
    void splitAtEveryByteBoundaryGivesTheSameBody() {
        for (int cut = 0; cut <= BODY_WIRE.length(); cut++) {
            Decoded d = decode(BODY_WIRE, true, cut);
            assertThat(d.body()).as("cut at %d", cut).isEqualTo(BODY);
            assertThat(d.done()).as("cut at %d", cut).isTrue();
            assertThat(d.left()).as("cut at %d", cut).isEmpty();
        }
    }

    @Test
    void oneByteAtATimeGivesTheSameBody() {
        Decoded d = decode(BODY_WIRE, true, everyByte(BODY_WIRE));
        assertThat(d.body()).isEqualTo(BODY);
        assertThat(d.done()).isTrue();
    }

    @Test
    void dataIsHandedOutBeforeItsChunkIsComplete() {
        ChunkedDecoder decoder = new ChunkedDecoder(LIMITS, true);
        ByteBuf in = Unpooled.copiedBuffer("a\r\n01234", StandardCharsets.US_ASCII);
        try {
            ByteBuf piece = decoder.decode(in);
            try {
                assertThat(piece.toString(StandardCharsets.US_ASCII)).isEqualTo("01234");
            } finally {
                piece.release();
            }
            assertThat(decoder.decode(in)).isNull();
            assertThat(decoder.isDone()).isFalse();
            assertThat(decoder.decodedBytes()).isEqualTo(5);
        } finally {
            assertThat(in.release()).isTrue();
        }
    }

    @Test
    void bytesAfterTheLastChunkAreLeftForTheNextMessage() {
        String next = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for (int cut = 0; cut <= BODY_WIRE.length(); cut++) {
            Decoded d = decode(BODY_WIRE + next, true, cut);
            assertThat(d.body()).isEqualTo(BODY);
            assertThat(d.left()).as("cut at %d", cut).isEqualTo(next);
        }
    }

    @Test
    void afterTheEndDecodeReturnsEmptyAndConsumesNothing() {
        ChunkedDecoder decoder = new ChunkedDecoder(LIMITS, true);
        ByteBuf in = Unpooled.copiedBuffer("0\r\n\r\nXYZ", StandardCharsets.US_ASCII);
        try {
            assertThat(decoder.decode(in).isReadable()).isFalse();
            assertThat(decoder.isDone()).isTrue();
            assertThat(decoder.decode(in).isReadable()).isFalse();
            assertThat(in.toString(StandardCharsets.US_ASCII)).isEqualTo("XYZ");
        } finally {
            assertThat(in.release()).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0005\r\nhello\r\n000\r\n\r\n", "5\r\nhello\r\n0;last\r\n\r\n", "00000000000000000005\r\nhello\r\n0\r\n\r\n",
        "5\t;\ta\t=\tb\r\nhello\r\n0\r\n\r\n"})
    void leadingZerosAndWhitespaceAroundExtensionsAreAccepted(String wire) {
        assertThat(decode(wire, true).body()).isEqualTo("hello");
    }

    @Test
    void incompleteBodyIsNotDone() {
        Decoded d = decode("5\r\nhello\r\n0\r\n", true);
        assertThat(d.body()).isEqualTo("hello");
        assertThat(d.done()).isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", ignoreLeadingAndTrailingWhitespace = false, value = {
        "g| => bad-chunk-size",
        "| => bad-chunk-size",
        " 5|hello|0|| => bad-chunk-size",
        "-1| => bad-chunk-size",
        "+1| => bad-chunk-size",
        "FFFFFFFFFFFFFFFFF| => bad-chunk-size",
        "1000000000000000| => bad-chunk-size",
        "0x5|hello|0|| => bad-chunk-extension",
        "5 |hello|0|| => bad-chunk-extension",
        "5x|hello|0|| => bad-chunk-extension",
        "5;|hello|0|| => bad-chunk-extension",
        "5;=a|hello|0|| => bad-chunk-extension",
        "5;a=|hello|0|| => bad-chunk-extension",
        "5;a b|hello|0|| => bad-chunk-extension",
        "5;a=b c|hello|0|| => bad-chunk-extension",
        "5;a |hello|0|| => bad-chunk-extension",
        "5;a;b\t|hello|0|| => bad-chunk-extension",
        "5;a=\"b|hello|0|| => bad-chunk-extension",
        "5;a=\"b\u0001\"|hello|0|| => bad-chunk-extension",
        "5;a\u0000|hello|0|| => bad-chunk-extension",
        "5|helloX|0|| => bad-chunk",
        "5|hello0|| => bad-chunk",
        "5|hello<CR>0|| => bad-chunk",
        "5|hello<LF>0|| => bad-chunk",
        "5<LF>hello|0|| => bare-lf",
        "0|bad line|| => space-before-colon",
        "0|NoColon|| => invalid-header-line",
        "0| folded: x|| => obs-fold",
        "0|X: a\u0000|| => invalid-header-value",
        "0|X@: a|| => invalid-header-name",
        "0|X: a<LF>| => bare-lf",
        "0|<LF> => bare-lf",
    })
    void brokenEncodingIsRejectedHoweverItIsSplit(String wireWithBars, String rule) {
        String wire = wireWithBars.replace("|", "\r\n").replace("<CR>", "\r").replace("<LF>", "\n");
        assertRejected(decodeError(wire, true), 400, rule);
        for (int cut = 0; cut <= wire.length(); cut++) {
            assertRejected(decodeError(wire, true, cut), 400, rule);
        }
        assertRejected(decodeError(wire, true, everyByte(wire)), 400, rule);
    }

    @Test
    void chunkLineLongerThanTheLimitIsRejected() {
        String wire = "5;a=" + "b".repeat(LIMITS.maxChunkLine()) + "\r\nhello\r\n0\r\n\r\n";
        assertRejected(decodeError(wire, true), 400, "chunk-line-too-long");
        assertRejected(decodeError("5" + "0".repeat(LIMITS.maxChunkLine() + 10), true), 400, "chunk-line-too-long");
    }

    @Test
    void chunkLineAndTrailerSectionExactlyAtTheirLimitsAreAccepted() {
        // found by fuzzing: both limits were one byte off what Http1Limits documents
        Http1Limits limits = new Http1Limits(64, 64, 4, 16, 40);
        String line = "1;" + "e".repeat(14); // 16 bytes before CRLF
        String trailer = "X-Long: " + "v".repeat(30) + "\r\n"; // 40 bytes with CRLF
        String wire = line + "\r\nx\r\n0\r\n" + trailer + "\r\n";
        for (int cut = 0; cut <= wire.length(); cut++) {
            ChunkedDecoder decoder = new ChunkedDecoder(limits, true);
            ByteBuf in = Unpooled.copiedBuffer(wire.substring(0, cut), StandardCharsets.ISO_8859_1);
            try {
                StringBuilder body = new StringBuilder();
                boolean more = true;
                while (!decoder.isDone()) {
                    ByteBuf piece = decoder.decode(in);
                    if (piece == null) {
                        assertThat(more).as("needs more only once").isTrue();
                        in.writeCharSequence(wire.substring(cut), StandardCharsets.ISO_8859_1);
                        more = false;
                        continue;
                    }
                    body.append(piece.toString(StandardCharsets.ISO_8859_1));
                    piece.release();
                }
                assertThat(body.toString()).isEqualTo("x");
            } finally {
                assertThat(in.release()).isTrue();
            }
        }
        assertRejected(decodeErrorWith(limits, line + "e\r\nx\r\n0\r\n\r\n"), 400, "chunk-line-too-long");
        assertRejected(decodeErrorWith(limits, "1\r\nx\r\n0\r\n" + trailer.replace("v\r", "vv\r") + "\r\n"), 400, "chunk-line-too-long");
    }

    private static ProxyError decodeErrorWith(Http1Limits limits, String wire) {
        ByteBuf in = Unpooled.copiedBuffer(wire, StandardCharsets.ISO_8859_1);
        try {
            ChunkedDecoder decoder = new ChunkedDecoder(limits, true);
            return catchThrowableOfType(ProxyError.class, () -> {
                ByteBuf piece;
                while ((piece = decoder.decode(in)) != null && !decoder.isDone()) {
                    piece.release();
                }
            });
        } finally {
            assertThat(in.release()).isTrue();
        }
    }

    @Test
    void trailerSectionLargerThanTheLimitIsRejected() {
        String wire = "0\r\nX: " + "a".repeat(LIMITS.maxTrailerBytes()) + "\r\n\r\n";
        assertThat(decodeError(wire, true).responseStatus()).isEqualTo(400);
        StringBuilder many = new StringBuilder("0\r\n");
        while (many.length() <= LIMITS.maxTrailerBytes()) {
            many.append("X: 0123456789\r\n");
        }
        assertThat(decodeError(many + "\r\n", true).responseStatus()).isEqualTo(400);
    }

    @Test
    void aMillionOneByteChunksInOneInputComeOutAsOnePiece() {
        int chunks = 1_000_000;
        ByteBuf in = Unpooled.buffer(chunks * 6 + 5);
        for (int i = 0; i < chunks; i++) {
            in.writeByte('1').writeByte('\r').writeByte('\n').writeByte('a' + i % 26).writeByte('\r').writeByte('\n');
        }
        in.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        ChunkedDecoder decoder = new ChunkedDecoder(LIMITS, true);
        try {
            ByteBuf piece = decoder.decode(in, UnpooledByteBufAllocator.DEFAULT);
            try {
                assertThat(decoder.isDone()).as("the data and the end in one pass").isTrue();
                assertThat(piece.readableBytes()).isEqualTo(chunks);
                for (int i = 0; i < chunks; i += 9973) {
                    assertThat(piece.getByte(piece.readerIndex() + i)).isEqualTo((byte) ('a' + i % 26));
                }
                assertThat(piece.capacity()).as("no larger than the input").isLessThanOrEqualTo(in.capacity());
            } finally {
                piece.release();
            }
            assertThat(in.isReadable()).isFalse();
        } finally {
            assertThat(in.release()).isTrue();
        }
    }

    @Test
    void theDataOfOneChunkIsASliceOfTheInputNotACopy() {
        ByteBuf in = Unpooled.copiedBuffer("a\r\n0123456789\r\n5\r\n01", StandardCharsets.US_ASCII);
        ChunkedDecoder decoder = new ChunkedDecoder(LIMITS, true);
        try {
            ByteBuf first = in.readRetainedSlice(3 + 10 + 2);
            ByteBuf piece = decoder.decode(first, UnpooledByteBufAllocator.DEFAULT);
            try {
                assertThat(piece.toString(StandardCharsets.US_ASCII)).isEqualTo("0123456789");
                assertThat(piece.unwrap()).as("a slice of the input").isNotNull();
                assertThat(first.isReadable()).isFalse();
            } finally {
                piece.release();
                first.release();
            }
            ByteBuf two = decoder.decode(in, UnpooledByteBufAllocator.DEFAULT);
            try {
                assertThat(two.toString(StandardCharsets.US_ASCII)).isEqualTo("01");
            } finally {
                two.release();
            }
            assertThat(decoder.decode(in, UnpooledByteBufAllocator.DEFAULT)).as("needs more input").isNull();
        } finally {
            assertThat(in.release()).isTrue();
        }
    }

    @Test
    void aBrokenChunkAfterGoodOnesReleasesWhatWasJoined() {
        ByteBuf in = Unpooled.copiedBuffer("1\r\na\r\n1\r\nb\r\n1\r\ncX\r\n", StandardCharsets.US_ASCII);
        ChunkedDecoder decoder = new ChunkedDecoder(LIMITS, true);
        java.util.List<ByteBuf> given = new java.util.ArrayList<>();
        io.netty.buffer.ByteBufAllocator recording = new io.netty.buffer.AbstractByteBufAllocator(false) {
            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                ByteBuf b = Unpooled.buffer(initialCapacity, maxCapacity);
                given.add(b);
                return b;
            }

            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                return newHeapBuffer(initialCapacity, maxCapacity);
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        };
        try {
            ProxyError e = catchThrowableOfType(ProxyError.class, () -> decoder.decode(in, recording));
            assertRejected(e, 400, "bad-chunk");
            assertThat(given).as("a buffer joined the first two chunks").hasSize(1);
            assertThat(given.getFirst().refCnt()).as("and was released").isZero();
        } finally {
            assertThat(in.release()).isTrue();
        }
    }

    @Test
    void brokenResponseEncodingIsAnUpstreamBodyError() {
        ProxyError e = decodeError("5\r\nhelloX\r\n0\r\n\r\n", false);
        assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_BODY);
        assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
        assertThat(e.responseStatus()).isEqualTo(502);
    }

    private static void assertRejected(ProxyError e, int status, String rule) {
        assertThat(e.type()).isEqualTo(new ErrorType.HttpStatus(status));
        assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
        assertThat(e.context()).startsWith(rule + ":");
    }
}

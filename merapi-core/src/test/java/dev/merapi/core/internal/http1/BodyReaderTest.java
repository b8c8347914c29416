package dev.merapi.core.internal.http1;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Http1Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BodyReaderTest {
    /** A connection as the reader sees it: a cumulation the test fills, and what the reader handed on. */
    private static final class FakeConnection implements BodyReader.Connection {
        private ByteBuf received;
        private boolean wantsBody = true;
        private boolean inputEnded;
        private int waits;
        private int depth;
        private int maxDepth;
        private BodyReader demandAgainFrom;
        private final List<String> pieces = new ArrayList<>();
        private final List<Boolean> ends = new ArrayList<>();
        private final List<ProxyError> errors = new ArrayList<>();

        void receive(String s) {
            ByteBuf in = ByteBufAllocator.DEFAULT.buffer().writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
            if (received == null) {
                received = in;
            } else {
                received = ByteBufAllocator.DEFAULT.compositeBuffer().addComponents(true, received, in);
            }
        }

        @Override
        public ByteBuf received() {
            return received;
        }

        @Override
        public boolean wantsBody() {
            return wantsBody;
        }

        @Override
        public boolean inputEnded() {
            return inputEnded;
        }

        @Override
        public void awaitBytes() {
            waits++;
        }

        @Override
        public void onPiece(ByteBuf piece, boolean end) {
            try {
                pieces.add(piece.toString(StandardCharsets.ISO_8859_1));
                ends.add(end);
            } finally {
                piece.release();
            }
            maxDepth = Math.max(maxDepth, ++depth);
            if (demandAgainFrom != null && !end) {
                demandAgainFrom.demand();
            }
            depth--;
        }

        @Override
        public void onBodyError(ProxyError e) {
            errors.add(e);
        }

        void release() {
            if (received != null) {
                received.release();
                received = null;
            }
        }
    }

    private final FakeConnection connection = new FakeConnection();

    @AfterEach
    void releaseWhatIsLeft() {
        connection.release();
    }

    private BodyReader reader(boolean request, long bodyLength) {
        BodyReader r = new BodyReader(connection, Http1Limits.DEFAULT, request, ByteBufAllocator.DEFAULT);
        r.start(bodyLength);
        return r;
    }

    @Test
    void aContentLengthBodyComesOutOnePiecePerDemandAndEndsAtItsLength() {
        BodyReader r = reader(true, 10);
        connection.receive("hello");
        r.demand();
        assertThat(connection.pieces).containsExactly("hello");
        assertThat(connection.ends).containsExactly(false);
        r.demand();
        assertThat(connection.waits).as("no bytes for the second demand: wait for a read").isEqualTo(1);
        connection.receive("worldNEXT");
        r.deliver();
        assertThat(connection.pieces).containsExactly("hello", "world");
        assertThat(connection.ends).containsExactly(false, true);
        assertThat(r.isDone()).isTrue();
        assertThat(connection.received.toString(StandardCharsets.ISO_8859_1))
                .as("bytes after the body stay for the connection").isEqualTo("NEXT");
        r.demand();
        assertThat(connection.pieces).as("nothing after the end").hasSize(2);
    }

    @Test
    void withoutDemandArrivingBytesStayWhereTheyAre() {
        BodyReader r = reader(true, 5);
        connection.receive("hel");
        r.deliver();
        connection.receive("lo");
        r.deliver();
        assertThat(connection.pieces).isEmpty();
        assertThat(connection.received.readableBytes()).isEqualTo(5);
        r.demand();
        assertThat(connection.pieces).containsExactly("hello");
        assertThat(connection.ends).containsExactly(true);
    }

    @Test
    void aCancelledDemandHandsNothingOn() {
        BodyReader r = reader(true, 5);
        r.demand();
        r.cancelDemand();
        connection.receive("hello");
        r.deliver();
        assertThat(connection.pieces).isEmpty();
        assertThat(r.hasDemand()).isFalse();
    }

    @Test
    void aChunkedBodyFromOneReadComesOutAsOnePieceWithItsEnd() {
        BodyReader r = reader(false, BodyLength.CHUNKED);
        connection.receive("5\r\nhello\r\n1\r\n,\r\n5\r\nworld\r\n0\r\n\r\n");
        r.demand();
        assertThat(connection.pieces).containsExactly("hello,world");
        assertThat(connection.ends).containsExactly(true);
        assertThat(r.state()).isEqualTo(BodyReader.State.ENDED);
    }

    @Test
    void aDemandMadeWhileAPieceIsHandedOnIsServedByTheRunningLoopNotByRecursion() {
        BodyReader r = reader(true, BodyLength.CHUNKED);
        connection.demandAgainFrom = r;
        connection.receive("5\r\nhello\r\n");
        r.demand();
        connection.receive("5\r\nworld\r\n");
        r.deliver();
        connection.receive("0\r\n\r\n");
        r.deliver();
        assertThat(connection.pieces).containsExactly("hello", "world", "");
        assertThat(connection.ends).containsExactly(false, false, true);
        assertThat(connection.maxDepth).as("onPiece never runs inside onPiece").isEqualTo(1);
        assertThat(connection.waits).as("a wait after each read that held no end").isEqualTo(2);
    }

    @Test
    void aBrokenChunkOnARequestIsA400NamingItsRule() {
        BodyReader r = reader(true, BodyLength.CHUNKED);
        connection.receive("5\r\nhelloX\r\n0\r\n\r\n");
        r.demand();
        assertThat(connection.pieces).isEmpty();
        assertThat(connection.errors).hasSize(1);
        ProxyError e = connection.errors.getFirst();
        assertThat(e.type()).isEqualTo(new ErrorType.HttpStatus(400));
        assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
        assertThat(e.context()).startsWith("bad-chunk:");
        assertThat(r.state()).isEqualTo(BodyReader.State.ENDED);
        r.demand();
        assertThat(connection.errors).as("an error is reported once").hasSize(1);
    }

    @Test
    void aBrokenChunkOnAResponseIsAnUpstreamBodyError() {
        BodyReader r = reader(false, BodyLength.CHUNKED);
        connection.receive("zz\r\nhello\r\n0\r\n\r\n");
        r.demand();
        ProxyError e = connection.errors.getFirst();
        assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_BODY);
        assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
        assertThat(e.responseStatus()).isEqualTo(502);
    }

    @Test
    void aBrokenTrailerOnAResponseIsAnUpstreamBodyError() {
        BodyReader r = reader(false, BodyLength.CHUNKED);
        connection.receive("0\r\nBad Trailer: x\r\n\r\n");
        r.demand();
        assertThat(connection.errors).singleElement()
                .satisfies(e -> assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_BODY));
    }

    @ParameterizedTest(name = "request: {0}")
    @ValueSource(booleans = {true, false})
    void thePeerClosingBeforeTheEndIsAConnectionClosedErrorFromItsSide(boolean request) {
        BodyReader r = reader(request, 10);
        connection.receive("hello");
        r.demand();
        connection.inputEnded = true;
        r.demand();
        assertThat(connection.pieces).containsExactly("hello");
        ProxyError e = connection.errors.getFirst();
        assertThat(e.type()).isEqualTo(ErrorType.Kind.CONNECTION_CLOSED);
        assertThat(e.source()).isEqualTo(request ? ErrorSource.DOWNSTREAM : ErrorSource.UPSTREAM);
    }

    @Test
    void aCloseDelimitedBodyEndsWithTheConnection() {
        BodyReader r = reader(false, BodyLength.UNTIL_CLOSE);
        connection.receive("all of it");
        r.demand();
        r.demand();
        assertThat(connection.waits).isEqualTo(1);
        connection.inputEnded = true;
        r.deliver();
        assertThat(connection.pieces).containsExactly("all of it", "");
        assertThat(connection.ends).containsExactly(false, true);
        assertThat(connection.errors).isEmpty();
    }

    @Test
    void noBodyEndsAtTheFirstDemand() {
        BodyReader r = reader(true, BodyLength.NONE);
        assertThat(r.isDone()).isTrue();
        r.demand();
        assertThat(connection.pieces).containsExactly("");
        assertThat(connection.ends).containsExactly(true);
    }

    @Test
    void bytesMovedAroundTheReaderCountTowardsTheLength() {
        BodyReader r = reader(false, 100);
        r.skipped(40);
        assertThat(r.remaining()).isEqualTo(60);
        assertThat(r.isDone()).isFalse();
        r.skipped(60);
        assertThat(r.isDone()).isTrue();
        r.demand();
        assertThat(connection.ends).containsExactly(true);
    }

    @Test
    void anExchangeThatNoLongerWantsTheBodyGetsNothing() {
        BodyReader r = reader(true, 5);
        connection.wantsBody = false;
        connection.receive("hello");
        r.demand();
        assertThat(connection.pieces).isEmpty();
        assertThat(connection.received.readableBytes()).isEqualTo(5);
    }
}

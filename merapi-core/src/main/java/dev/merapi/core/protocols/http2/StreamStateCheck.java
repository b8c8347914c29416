package dev.merapi.core.protocols.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.logging.LogLevel;
import java.io.Serial;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The stream-state rules of RFC 9113 §5.1 that Netty's codec cannot apply because it forgets closed streams, applied
 * with a {@link StreamHistory}:
 * <ul>
 *   <li>HEADERS or DATA on a client stream that ended normally (opened, closed, never reset) is a connection error
 *       {@code STREAM_CLOSED} (§5.1, "closed");</li>
 *   <li>HEADERS opening a stream numbered below one the client already opened is a connection error
 *       {@code PROTOCOL_ERROR} (§5.1.1);</li>
 *   <li>frames on a stream Merapi reset (or refused) stay tolerated, as §5.1 asks: the codec ignores them or resets
 *       the stream again; so do frames on a stream the client reset, and on streams older than the history's window.</li>
 * </ul>
 *
 * <p>It hooks into the codec as its frame logger, the one place the codec calls for every frame read and written, in
 * order and before acting on it; the codec's state then reflects every earlier frame. It still logs frames at TRACE
 * under this class's name. A broken rule makes the codec send GOAWAY with the error code and close the connection,
 * recorded as a security event by {@link Http2Protocol}.
 *
 * <p>One per connection; runs on the connection's event loop only.
 */
final class StreamStateCheck extends Http2FrameLogger {
    private final StreamHistory history = new StreamHistory();
    /** Whether frames are logged, read once: the codec asks for every frame, floods included. */
    private final boolean trace;
    private @Nullable Http2Connection connection;

    StreamStateCheck() {
        super(LogLevel.TRACE, StreamStateCheck.class);
        this.trace = super.isEnabled();
    }

    @Override
    public boolean isEnabled() {
        return trace;
    }

    /** Binds the check to the codec's connection state, once the codec is built. */
    void connection(Http2Connection connection) {
        this.connection = Objects.requireNonNull(connection, "connection");
    }

    @Override
    public void logHeaders(Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
            boolean endStream) {
        super.logHeaders(direction, ctx, streamId, headers, padding, endStream);
        if (direction == Direction.INBOUND) {
            inbound(streamId, true);
        }
    }

    @Override
    public void logHeaders(Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers,
            int streamDependency, short weight, boolean exclusive, int padding, boolean endStream) {
        super.logHeaders(direction, ctx, streamId, headers, streamDependency, weight, exclusive, padding, endStream);
        if (direction == Direction.INBOUND) {
            inbound(streamId, true);
        }
    }

    @Override
    public void logData(Direction direction, ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
            boolean endStream) {
        super.logData(direction, ctx, streamId, data, padding, endStream);
        if (direction == Direction.INBOUND) {
            inbound(streamId, false);
        }
    }

    @Override
    public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
        super.logRstStream(direction, ctx, streamId, errorCode);
        history.reset(streamId);
    }

    /** Checks a HEADERS ({@code headers}) or DATA frame from the client before the codec acts on it. */
    private void inbound(int streamId, boolean headers) {
        Http2Connection connection = this.connection;
        if ((streamId & 1) == 0 || connection == null || connection.stream(streamId) != null) {
            return; // not a client stream, or one the codec still knows: its own rules apply
        }
        if (connection.goAwaySent() && streamId > connection.remote().lastStreamKnownByPeer()) {
            return; // a stream opened after Merapi's GOAWAY, which the codec ignores
        }
        switch (history.of(streamId)) {
            case NEW -> {
                if (headers) {
                    history.opened(streamId);
                }
            }
            case OPENED -> throw new Rejected(Http2Exception.connectionError(Http2Error.STREAM_CLOSED,
                    "%s frame on stream %d, which the client has already closed", headers ? "HEADERS" : "DATA",
                    streamId));
            case NEVER_OPENED -> {
                if (headers) {
                    throw new Rejected(Http2Exception.connectionError(Http2Error.PROTOCOL_ERROR,
                            "stream %d opened after a higher-numbered stream", streamId));
                }
            }
            case RESET, FORGOTTEN -> {
                // late frames on a reset stream are tolerated; the codec ignores them or resets the stream again
            }
        }
    }

    /**
     * Carries a connection error out of the codec's frame reader, whose callbacks here may not throw checked
     * exceptions; the codec finds the {@link Http2Exception} cause and answers it with GOAWAY. Stackless: the cause
     * says what happened.
     */
    static final class Rejected extends IllegalStateException {
        @Serial
        private static final long serialVersionUID = 1L;

        Rejected(Http2Exception cause) {
            super(cause.getMessage(), cause);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}

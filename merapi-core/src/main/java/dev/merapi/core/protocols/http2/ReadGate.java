package dev.merapi.core.protocols.http2;

import dev.merapi.core.internal.Deadline;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The handler in front of the HTTP/2 codec (next to the socket). It does two things the codec does not:
 * <ul>
 *   <li>it lets a read through only while the channel is writable: a client that does not read what it is sent (PING
 *       or SETTINGS acknowledgements, responses) is not read from either, so its frames cannot queue answers without
 *       bound;</li>
 *   <li>it bounds the time a header block may stay open: from a HEADERS frame without END_HEADERS to the CONTINUATION
 *       that ends the block, at most the listener's header read timeout. While a block is open the connection can
 *       carry no other frame, and the codec buffers the block, so a client that never sends the last CONTINUATION
 *       would otherwise hold the connection and that buffer until the idle timeout, or for ever while another stream
 *       is open. Past the timeout the connection gets GOAWAY {@code ENHANCE_YOUR_CALM} (a header block cannot be
 *       abandoned on its own: the HPACK state depends on it), recorded as the security event
 *       {@code h2-headers-timeout}.</li>
 * </ul>
 * To know when a block opens and closes it reads the 9-byte header of each frame as the bytes pass, without consuming
 * or copying them; the codec still parses and validates everything.
 *
 * <p>One per connection; runs on the connection's event loop only.
 */
final class ReadGate extends ChannelDuplexHandler {
    private static final int PREFACE_LENGTH = 24;
    private static final int FRAME_HEADER_LENGTH = 9;
    private static final int HEADERS = 0x1;
    private static final int PUSH_PROMISE = 0x5;
    private static final int CONTINUATION = 0x9;
    private static final int END_HEADERS = 0x4;

    private final long headersTimeoutNanos;
    private final byte[] frameHeader = new byte[FRAME_HEADER_LENGTH];
    private @Nullable ChannelHandlerContext ctx;
    private @Nullable Deadline headersTimer;
    private boolean held;
    /** Bytes of the preface still to pass before the first frame. */
    private int prefaceLeft = PREFACE_LENGTH;
    /** Bytes of the current frame header read so far. */
    private int headerFill;
    /** Bytes of the current frame's payload still to pass. */
    private long payloadLeft;
    private boolean blockOpen;

    /** @param headersTimeoutNanos the most time a header block may stay open */
    ReadGate(long headersTimeoutNanos) {
        this.headersTimeoutNanos = headersTimeoutNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.headersTimer = new Deadline(ctx.executor(), this::onHeadersTimeout);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelTimer();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        ctx.fireChannelInactive();
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            ctx.read();
        } else {
            held = true;
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (held && ctx.channel().isWritable()) {
            held = false;
            ctx.read();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf in) {
            boolean wasOpen = blockOpen;
            scan(in);
            if (blockOpen != wasOpen && headersTimer != null) {
                if (blockOpen) {
                    headersTimer.arm(headersTimeoutNanos);
                } else {
                    headersTimer.disarm();
                }
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Follows the frame boundaries through {@code in}, without moving its indexes. */
    private void scan(ByteBuf in) {
        int i = in.readerIndex();
        int end = in.writerIndex();
        if (prefaceLeft > 0) {
            int n = Math.min(prefaceLeft, end - i);
            prefaceLeft -= n;
            i += n;
        }
        while (i < end) {
            if (payloadLeft > 0) {
                int n = (int) Math.min(payloadLeft, end - i);
                payloadLeft -= n;
                i += n;
                continue;
            }
            int n = Math.min(FRAME_HEADER_LENGTH - headerFill, end - i);
            in.getBytes(i, frameHeader, headerFill, n);
            headerFill += n;
            i += n;
            if (headerFill == FRAME_HEADER_LENGTH) {
                headerFill = 0;
                frameHeaderRead();
            }
        }
    }

    private void frameHeaderRead() {
        payloadLeft = (frameHeader[0] & 0xFFL) << 16 | (frameHeader[1] & 0xFF) << 8 | frameHeader[2] & 0xFF;
        int type = frameHeader[3] & 0xFF;
        boolean endHeaders = (frameHeader[4] & END_HEADERS) != 0;
        if (type == HEADERS || type == PUSH_PROMISE) {
            blockOpen = !endHeaders;
        } else if (type == CONTINUATION && endHeaders) {
            blockOpen = false;
        }
    }

    private void onHeadersTimeout() {
        ChannelHandlerContext c = ctx;
        if (!blockOpen || c == null || !c.channel().isActive()) {
            return;
        }
        // the codec answers this as any connection error: GOAWAY, a security event (Http2Protocol.ruleOf), then close
        c.fireExceptionCaught(Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM,
                "header block not completed within %d ms: headers timeout",
                TimeUnit.NANOSECONDS.toMillis(headersTimeoutNanos)));
    }

    private void cancelTimer() {
        if (headersTimer != null) {
            headersTimer.cancel();
        }
    }
}

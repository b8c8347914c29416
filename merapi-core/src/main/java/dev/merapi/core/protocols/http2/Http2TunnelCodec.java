package dev.merapi.core.protocols.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Makes an HTTP/2 stream that became a tunnel (RFC 8441 extended CONNECT) look like a byte connection to
 * {@link dev.merapi.core.tunnels.Tunnel}: the payload of each DATA frame read goes on as a {@link ByteBuf}, each
 * {@link ByteBuf} written goes out as a DATA frame, and closing ends the stream with END_STREAM first, so a tunnel that
 * ends cleanly ends its stream cleanly. A client's END_STREAM is the close of its side: the stream is closed once what
 * came with it has been passed on. Flow control stays Netty's: a stream's window is given back as its frames are read.
 *
 * <p>Threading and ownership: one per stream channel, on its event loop. Each payload passed on belongs to the next
 * handler; each buffer written is handed to the stream.
 */
final class Http2TunnelCodec extends ChannelDuplexHandler {
    private boolean ended; // END_STREAM sent

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        boolean endStream;
        if (msg instanceof Http2DataFrame data) {
            endStream = data.isEndStream();
            ByteBuf payload = data.content();
            if (payload.isReadable()) {
                ctx.fireChannelRead(payload); // the frame's content, handed on: the frame is not released here
            } else {
                data.release();
            }
        } else {
            endStream = msg instanceof Http2HeadersFrame headers && headers.isEndStream(); // trailers end it too
            ReferenceCountUtil.release(msg);
        }
        if (endStream) {
            ctx.fireChannelReadComplete(); // what came with the end goes out before the close
            ctx.channel().close();
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf data) {
            if (ended) {
                data.release();
                promise.setSuccess();
                return;
            }
            ctx.write(new DefaultHttp2DataFrame(data, false), promise);
            return;
        }
        ctx.write(msg, promise);
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!ended && ctx.channel().isActive()) {
            ended = true;
            ctx.writeAndFlush(new DefaultHttp2DataFrame(true), ctx.voidPromise());
        }
        ctx.close(promise);
    }
}

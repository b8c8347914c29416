package dev.merapi.core.tunnels;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays bytes both ways between two connections that stopped speaking HTTP: the client's, after Merapi wrote a
 * {@code 101} or a {@code 2xx} to CONNECT, and the upstream's. Nothing is parsed or buffered beyond what one read
 * brings: each side reads again only once the other can take more (AUTO_READ is off on both), so a side that stops
 * reading stops the other one too, and memory stays bounded whatever either peer does.
 *
 * <p>When either side closes, what was read from it goes out to the other side, which is then closed too. When no byte
 * moves either way for the idle timeout, both close. A tunnel never goes back to HTTP, and its upstream connection is
 * never pooled.
 *
 * <p>Threading: {@link #relay} must be called on the event loop both channels run on; everything here runs there.
 */
public final class Tunnel {
    private static final Logger log = LoggerFactory.getLogger(Tunnel.class);
    private static final AtomicInteger OPEN = new AtomicInteger();
    private static final LongAdder OPENED = new LongAdder();
    /** The longest a side that is closing may take to flush what is owed to it. */
    private static final long CLOSE_FLUSH_NANOS = TimeUnit.SECONDS.toNanos(30);

    private Tunnel() {
    }

    /**
     * Starts relaying between {@code downstream} and {@code upstream}, taking both ends (their leftover bytes go to
     * the other side first).
     *
     * @param idleTimeout how long the tunnel may carry no byte either way before both sides are closed
     * @return completes on the event loop once both connections are closed, with what was carried
     * @throws IllegalStateException if not called on the event loop both channels share
     */
    public static CompletionStage<TunnelStats> relay(TunnelEnd downstream, TunnelEnd upstream, Duration idleTimeout) {
        EventLoop loop = downstream.channel().eventLoop();
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            downstream.close();
            upstream.close();
            throw new IllegalArgumentException("idleTimeout must be positive: " + idleTimeout);
        }
        if (!loop.inEventLoop() || upstream.channel().eventLoop() != loop) {
            downstream.close();
            upstream.close();
            throw new IllegalStateException("a tunnel runs on the one event loop of both its connections");
        }
        Relay relay = new Relay(downstream, upstream, idleTimeout.toNanos(), loop);
        relay.start();
        return relay.done;
    }

    /** How many tunnels are open now, in this process. */
    public static int openTunnels() {
        return OPEN.get();
    }

    /** How many tunnels were opened since the process started. */
    public static long openedTunnels() {
        return OPENED.sum();
    }

    private static final class Relay {
        private final Side down;
        private final Side up;
        private final long idleNanos;
        private final EventLoop loop;
        private final CompletableFuture<TunnelStats> done = new CompletableFuture<>();
        private @Nullable ScheduledFuture<?> idleCheck;
        private long lastActivity;
        private TunnelStats.@Nullable End end;

        Relay(TunnelEnd downstream, TunnelEnd upstream, long idleNanos, EventLoop loop) {
            this.down = new Side(this, downstream.channel(), downstream.leftover(), TunnelStats.End.DOWNSTREAM_CLOSED);
            this.up = new Side(this, upstream.channel(), upstream.leftover(), TunnelStats.End.UPSTREAM_CLOSED);
            down.peer = up;
            up.peer = down;
            this.idleNanos = idleNanos;
            this.loop = loop;
        }

        void start() {
            OPEN.incrementAndGet();
            OPENED.increment();
            lastActivity = loop.ticker().nanoTime();
            down.channel.pipeline().addLast("tunnel", down);
            up.channel.pipeline().addLast("tunnel", up);
            down.forward(down.takeLeftover());
            up.forward(up.takeLeftover());
            down.channel.flush();
            up.channel.flush();
            idleCheck = loop.schedule(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
            // a connection that closed before its handler was added sends no channelInactive to it
            for (Side s : new Side[] {down, up}) {
                if (!s.channel.isActive()) {
                    s.closed();
                }
            }
            down.readIfPeerWritable();
            up.readIfPeerWritable();
        }

        void touch() {
            lastActivity = loop.ticker().nanoTime();
        }

        private void checkIdle() {
            if (down.isClosed && up.isClosed) {
                return;
            }
            long idle = loop.ticker().nanoTime() - lastActivity;
            if (idle < idleNanos) {
                idleCheck = loop.schedule(this::checkIdle, idleNanos - idle, TimeUnit.NANOSECONDS);
                return;
            }
            log.debug("tunnel between {} and {} idle for {} ms; closing it", down.channel.remoteAddress(),
                    up.channel.remoteAddress(), TimeUnit.NANOSECONDS.toMillis(idle));
            if (end == null) {
                end = TunnelStats.End.IDLE_TIMEOUT;
            }
            down.channel.close();
            up.channel.close();
        }

        void sideClosed(Side side) {
            if (end == null) {
                end = side.endIfFirst;
            }
            Side other = side.peer;
            if (!other.isClosed && other.channel.isActive()) {
                // what was read from the closed side still goes out, then the other side closes too
                ScheduledFuture<?> limit = loop.schedule(() -> {
                    other.channel.close();
                }, CLOSE_FLUSH_NANOS, TimeUnit.NANOSECONDS);
                other.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
                    limit.cancel(false);
                    f.channel().close();
                });
                return;
            }
            if (down.isClosed && up.isClosed && !done.isDone()) {
                if (idleCheck != null) {
                    idleCheck.cancel(false);
                }
                OPEN.decrementAndGet();
                TunnelStats.End why = end == null ? side.endIfFirst : end;
                done.complete(new TunnelStats(down.bytes, up.bytes, why));
            }
        }
    }

    /** One connection of a tunnel: what it reads goes to its peer. Not sharable. */
    private static final class Side extends ChannelInboundHandlerAdapter {
        private final Relay relay;
        private final Channel channel;
        private final TunnelStats.End endIfFirst;
        private @Nullable ByteBuf leftover;
        private Side peer;
        private long bytes; // read from this side
        private boolean waitingForPeer; // a read waits for the peer to be writable again
        private boolean isClosed;

        @SuppressWarnings("NullAway.Init") // peer is set right after both sides are made
        Side(Relay relay, Channel channel, ByteBuf leftover, TunnelStats.End endIfFirst) {
            this.relay = relay;
            this.channel = channel;
            this.leftover = leftover;
            this.endIfFirst = endIfFirst;
        }

        ByteBuf takeLeftover() {
            ByteBuf b = leftover;
            leftover = null;
            return b == null ? Unpooled.EMPTY_BUFFER : b;
        }

        /** Sends {@code data}, read from this side, to the peer; takes ownership. Not flushed. */
        void forward(ByteBuf data) {
            if (!data.isReadable()) {
                data.release();
                return;
            }
            bytes += data.readableBytes();
            if (peer.isClosed || !peer.channel.isActive()) {
                data.release();
                return;
            }
            peer.channel.write(data, peer.channel.voidPromise());
        }

        void readIfPeerWritable() {
            if (isClosed || !channel.isActive()) {
                return;
            }
            if (peer.channel.isWritable()) {
                waitingForPeer = false;
                channel.read();
            } else {
                waitingForPeer = true;
            }
        }

        @Override
        public boolean isSharable() {
            return false;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf in)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            relay.touch();
            forward(in);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (peer.channel.isActive()) {
                peer.channel.flush();
            }
            readIfPeerWritable();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (channel.isWritable() && peer.waitingForPeer) {
                relay.touch(); // the peer took bytes
                peer.readIfPeerWritable();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed();
            ctx.fireChannelInactive();
        }

        void closed() {
            if (isClosed) {
                return;
            }
            isClosed = true;
            if (leftover != null) {
                leftover.release();
                leftover = null;
            }
            relay.sideClosed(this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("tunnel connection {} failed: {}", channel.remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}

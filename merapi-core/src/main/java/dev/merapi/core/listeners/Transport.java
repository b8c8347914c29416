package dev.merapi.core.listeners;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.Locale;
import java.util.Optional;

/**
 * The I/O transport of the event loops: native epoll by default, io_uring when asked for, NIO as the
 * fallback where the native ones are unavailable.
 */
public enum Transport {
    /** Linux epoll, the default. */
    EPOLL,
    /** Linux io_uring, opt-in. */
    IO_URING,
    /** Java NIO, available everywhere. */
    NIO;

    /**
     * The best transport this machine can run: epoll if available, else NIO. The default of {@code ServerConfig}
     * comes from {@code SystemSettings}, which lets the {@code merapi.transport} system property choose another.
     */
    public static Transport auto() {
        return EPOLL.isAvailable() ? EPOLL : NIO;
    }

    /**
     * The transport of {@code loop}: the one whose I/O handler it runs. A connection opened on a loop must use its
     * transport's channel classes, so a connector asks the loop rather than keeping a transport of its own.
     *
     * @throws IllegalArgumentException if {@code loop} runs none of these transports
     */
    public static Transport of(EventLoop loop) {
        if (loop instanceof IoEventLoop io) {
            if (io.isIoType(EpollIoHandler.class)) {
                return EPOLL;
            }
            if (io.isIoType(NioIoHandler.class)) {
                return NIO;
            }
            if (io.isIoType(IoUringIoHandler.class)) {
                return IO_URING;
            }
        }
        throw new IllegalArgumentException("the event loop " + loop + " runs none of the transports epoll, io_uring or nio");
    }

    /** Parses {@code epoll}, {@code io_uring} (or {@code iouring}) or {@code nio}, ignoring case. */
    public static Transport parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT).replace("-", "_")) {
            case "epoll" -> EPOLL;
            case "io_uring", "iouring", "uring" -> IO_URING;
            case "nio" -> NIO;
            default -> throw new IllegalArgumentException("unknown transport '" + name + "': expected epoll, io_uring or nio");
        };
    }

    /** Whether this transport can run on this machine. */
    public boolean isAvailable() {
        return switch (this) {
            case EPOLL -> Epoll.isAvailable();
            case IO_URING -> IoUring.isAvailable();
            case NIO -> true;
        };
    }

    /** Why the transport is unavailable, if it is. */
    public Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(switch (this) {
            case EPOLL -> Epoll.unavailabilityCause();
            case IO_URING -> IoUring.unavailabilityCause();
            case NIO -> null;
        });
    }

    /** Whether this is a native (Linux) transport. */
    public boolean isNative() {
        return this != NIO;
    }

    /** The factory of the I/O handler of each event loop. */
    public IoHandlerFactory ioHandlerFactory() {
        return switch (this) {
            case EPOLL -> EpollIoHandler.newFactory();
            case IO_URING -> IoUringIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
    }

    /** The listening channel class for TCP ({@code domain = false}) or Unix domain sockets. */
    public Class<? extends ServerChannel> serverChannel(boolean domain) {
        return switch (this) {
            case EPOLL -> domain ? EpollServerDomainSocketChannel.class : EpollServerSocketChannel.class;
            case IO_URING -> domain ? IoUringServerDomainSocketChannel.class : IoUringServerSocketChannel.class;
            case NIO -> domain ? NioServerDomainSocketChannel.class : NioServerSocketChannel.class;
        };
    }

    /** The connection channel class for TCP ({@code domain = false}) or Unix domain sockets. */
    public Class<? extends Channel> channel(boolean domain) {
        return switch (this) {
            case EPOLL -> domain ? EpollDomainSocketChannel.class : EpollSocketChannel.class;
            case IO_URING -> domain ? IoUringDomainSocketChannel.class : IoUringSocketChannel.class;
            case NIO -> domain ? NioDomainSocketChannel.class : NioSocketChannel.class;
        };
    }

    /** Converts a JDK Unix-socket address to the form this transport takes. */
    public SocketAddress nativeAddress(SocketAddress address) {
        if (address instanceof UnixDomainSocketAddress uds && isNative()) {
            return new DomainSocketAddress(uds.getPath().toString());
        }
        return address;
    }

    /** Whether {@code address} is a Unix domain socket address, in either form. */
    public static boolean isDomain(SocketAddress address) {
        return address instanceof UnixDomainSocketAddress || address instanceof DomainSocketAddress;
    }
}

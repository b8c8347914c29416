package dev.merapi.core.listeners;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.merapi.error.Bounds;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import dev.merapi.core.tls.ServerTls;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One listening socket: a TCP address (IPv4 or IPv6) or a Unix domain socket path, and its socket options.
 * Immutable; start from {@link #tcp(String)} or {@link #unix(Path)} (the defaults on that address), or from
 * {@link #DEFAULT}, {@link #builder()} or {@link #toBuilder()}.
 *
 * <pre>{@code
 * ListenerConfig listener = ListenerConfig.tcp("0.0.0.0:8080").toBuilder().maxConnectionsPerIp(256).build();
 * }</pre>
 *
 * @param address where to listen; port 0 picks a free port (default {@code 127.0.0.1:8080}: loopback only)
 * @param backlog the accept queue length (default 4096, at least 1)
 * @param reusePort SO_REUSEPORT, native transports only (default off)
 * @param tcpNoDelay TCP_NODELAY on accepted connections (default on)
 * @param keepAlive SO_KEEPALIVE on accepted connections (default off: idle connections are bounded by the
 *        keep-alive and read timeouts, and the option costs a system call per connection)
 * @param fastOpenQueue TCP Fast Open queue length, 0 for off (default off; at least 0; native transports only)
 * @param maxConnections most client connections open at once on this listener (default
 *        {@link #DEFAULT_MAX_CONNECTIONS}: half the process's open-file limit, which leaves the other half for
 *        upstream connections and files; at least 1). One more is closed as soon as it is accepted, before any byte is
 *        read, and counted as the security event {@code max-connections}
 * @param maxConnectionsPerIp most client connections open at once from one IP address on this listener, 0 for no
 *        such cap (the default: clients behind one NAT or proxy share an address; at least 0). One more is closed
 *        as soon as it is accepted and counted as the security event {@code max-connections-per-ip}. Unix domain
 *        sockets have no client address, so only {@code maxConnections} applies to them
 * @param tls the listener's TLS settings, or empty for plain TCP (the default); with TLS, every accepted connection
 *        does its handshake after the connection filter and before its protocol
 * @param http2 whether a plain listener also speaks HTTP/2 to clients that start with its connection preface (h2c with
 *        prior knowledge, RFC 9113 §3.3) on the same port as HTTP/1.1 (default on). The first bytes of a connection
 *        decide; HTTP/1.1 clients see no difference. {@code Upgrade: h2c} is not supported: the header is ignored and
 *        the request served as HTTP/1.1. Off, a TLS listener's ALPN offers {@code http/1.1} only, whatever its
 *        {@link ServerTls#alpn()} says
 */
public record ListenerConfig(SocketAddress address, int backlog, boolean reusePort, boolean tcpNoDelay, boolean keepAlive,
        int fastOpenQueue, int maxConnections, int maxConnectionsPerIp, Optional<ServerTls> tls, boolean http2) {

    /**
     * The default of {@link #maxConnections()}: half the open-file limit of the process ({@code ulimit -n}, which the
     * JVM raises to the hard limit at start on Linux), at least 64; 16384 where the limit cannot be read.
     */
    public static final int DEFAULT_MAX_CONNECTIONS = defaultMaxConnections();

    /** The defaults, on {@code 127.0.0.1:8080}. */
    public static final ListenerConfig DEFAULT = new ListenerConfig(new InetSocketAddress("127.0.0.1", 8080), 4096, false, true,
            false, 0, DEFAULT_MAX_CONNECTIONS, 0, Optional.empty(), true);

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the first setting out of its range
     */
    public ListenerConfig {
        Objects.requireNonNull(address, "address");
        checkBacklog(backlog);
        checkFastOpenQueue(fastOpenQueue);
        checkMaxConnections(maxConnections);
        checkMaxConnectionsPerIp(maxConnectionsPerIp);
        Objects.requireNonNull(tls, "tls");
    }

    private static int checkBacklog(int v) {
        return Bounds.atLeast("backlog", v, 1);
    }

    private static int checkFastOpenQueue(int v) {
        return Bounds.atLeast("fastOpenQueue (0 is off)", v, 0);
    }

    private static int checkMaxConnections(int v) {
        return Bounds.atLeast("maxConnections", v, 1);
    }

    private static int checkMaxConnectionsPerIp(int v) {
        return Bounds.atLeast("maxConnectionsPerIp (0 is no cap)", v, 0);
    }

    private static int defaultMaxConnections() {
        long files = -1;
        try {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
                files = unix.getMaxFileDescriptorCount();
            }
        } catch (LinkageError | SecurityException e) {
            files = -1; // no jdk.management: the fallback below
        }
        return files <= 0 ? 16384 : (int) Math.clamp(files / 2, 64, Integer.MAX_VALUE);
    }

    /** A TCP listener on {@code host:port} (IPv6 in brackets, such as {@code [::1]:8080}) with the default options. */
    public static ListenerConfig tcp(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0 || hostPort.lastIndexOf(']') > colon) {
            throw new IllegalArgumentException("expected host:port, got '" + hostPort + "'");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid port in '" + hostPort + "'", e);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range in '" + hostPort + "'");
        }
        return tcp(host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port));
    }

    /** A TCP listener on a socket address with the default options. */
    public static ListenerConfig tcp(InetSocketAddress address) {
        return DEFAULT.toBuilder().address(address).build();
    }

    /** A Unix domain socket listener with the default options, TCP_NODELAY aside, which a Unix socket has not. */
    public static ListenerConfig unix(Path path) {
        return DEFAULT.toBuilder().address(UnixDomainSocketAddress.of(path)).tcpNoDelay(false).build();
    }

    /**
     * How an address reads in logs and messages: {@code 127.0.0.1:8080}, {@code [::1]:8080} (the IP address,
     * not a name, when it is resolved), or {@code unix:/path}.
     */
    public static String describe(SocketAddress a) {
        if (a instanceof InetSocketAddress inet) {
            String host = inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        if (a instanceof UnixDomainSocketAddress uds) {
            return "unix:" + uds.getPath();
        }
        return String.valueOf(a);
    }

    /** Whether this listens on a Unix domain socket. */
    public boolean isUnix() {
        return address instanceof UnixDomainSocketAddress;
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Builds a {@link ListenerConfig}. Each setter checks its value at once and throws an
     * {@link IllegalArgumentException} naming the setting and its range; the record's components document each
     * setting. Not thread-safe.
     */
    public static final class Builder {
        private SocketAddress address;
        private int backlog;
        private boolean reusePort;
        private boolean tcpNoDelay;
        private boolean keepAlive;
        private int fastOpenQueue;
        private int maxConnections;
        private int maxConnectionsPerIp;
        private Optional<ServerTls> tls;
        private boolean http2;

        private Builder(ListenerConfig c) {
            address = c.address;
            backlog = c.backlog;
            reusePort = c.reusePort;
            tcpNoDelay = c.tcpNoDelay;
            keepAlive = c.keepAlive;
            fastOpenQueue = c.fastOpenQueue;
            maxConnections = c.maxConnections;
            maxConnectionsPerIp = c.maxConnectionsPerIp;
            tls = c.tls;
            http2 = c.http2;
        }

        /** Where to listen: an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress}. */
        public Builder address(SocketAddress v) {
            address = Objects.requireNonNull(v, "address");
            return this;
        }

        public Builder backlog(int v) {
            backlog = checkBacklog(v);
            return this;
        }

        public Builder reusePort(boolean v) {
            reusePort = v;
            return this;
        }

        public Builder tcpNoDelay(boolean v) {
            tcpNoDelay = v;
            return this;
        }

        public Builder keepAlive(boolean v) {
            keepAlive = v;
            return this;
        }

        public Builder fastOpenQueue(int v) {
            fastOpenQueue = checkFastOpenQueue(v);
            return this;
        }

        public Builder maxConnections(int v) {
            maxConnections = checkMaxConnections(v);
            return this;
        }

        /** 0 for no per-address cap. */
        public Builder maxConnectionsPerIp(int v) {
            maxConnectionsPerIp = checkMaxConnectionsPerIp(v);
            return this;
        }

        /** Serves TLS with {@code settings} (default: plain TCP). */
        public Builder tls(ServerTls settings) {
            tls = Optional.of(settings);
            return this;
        }

        /** Whether the listener also speaks HTTP/2 (default on); off serves HTTP/1.1 only. */
        public Builder http2(boolean v) {
            http2 = v;
            return this;
        }

        public ListenerConfig build() {
            return new ListenerConfig(address, backlog, reusePort, tcpNoDelay, keepAlive, fastOpenQueue, maxConnections,
                    maxConnectionsPerIp, tls, http2);
        }
    }
}

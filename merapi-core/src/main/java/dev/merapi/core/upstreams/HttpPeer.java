package dev.merapi.core.upstreams;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where and how to connect for one upstream request: an address (TCP or Unix domain socket), whether to
 * use TLS, the SNI / host name, and {@link PeerOptions}. Immutable.
 *
 * <p>{@link #reuseKey()} decides which pooled connections a peer may share: two peers with equal keys
 * may use each other's idle connections.
 */
public final class HttpPeer {
    private final SocketAddress address;
    private final boolean tls;
    private final String sni;
    private final PeerOptions options;
    private final ReuseKey reuseKey;

    private HttpPeer(SocketAddress address, boolean tls, String sni, PeerOptions options) {
        this.address = Objects.requireNonNull(address, "address");
        this.tls = tls;
        this.sni = Objects.requireNonNull(sni, "sni");
        this.options = Objects.requireNonNull(options, "options");
        this.reuseKey = new ReuseKey(address, tls, sni);
    }

    /**
     * A peer at {@code host:port} (IPv6 in brackets). A host name is resolved off the event loop when
     * the connection is made, never here.
     *
     * @param hostPort such as {@code 127.0.0.1:8080} or {@code [::1]:443} or {@code origin.internal:80}
     * @param tls whether to speak TLS to it
     * @param sni the TLS server name and default {@code Host}; empty to use none
     */
    public static HttpPeer of(String hostPort, boolean tls, String sni) {
        return new HttpPeer(parse(hostPort), tls, sni, PeerOptions.DEFAULT);
    }

    /** A plain-text peer at {@code host:port}. */
    public static HttpPeer of(String hostPort) {
        return of(hostPort, false, "");
    }

    /** A peer at a resolved or unresolved socket address. */
    public static HttpPeer of(InetSocketAddress address, boolean tls, String sni) {
        return new HttpPeer(address, tls, sni, PeerOptions.DEFAULT);
    }

    /** A plain-text peer on a Unix domain socket. */
    public static HttpPeer unix(Path path) {
        return new HttpPeer(UnixDomainSocketAddress.of(path), false, "", PeerOptions.DEFAULT);
    }

    /** A copy with other options; they do not change the reuse key. */
    public HttpPeer withOptions(PeerOptions options) {
        return new HttpPeer(address, tls, sni, options);
    }

    /** The address: an {@link InetSocketAddress} (possibly unresolved) or a {@link UnixDomainSocketAddress}. */
    public SocketAddress address() {
        return address;
    }

    /** Whether TLS is used. */
    public boolean tls() {
        return tls;
    }

    /** The TLS server name, empty if none. */
    public String sni() {
        return sni;
    }

    /** Timeouts and other options. */
    public PeerOptions options() {
        return options;
    }

    /** The key that decides which pooled connections this peer may reuse. */
    public ReuseKey reuseKey() {
        return reuseKey;
    }

    /**
     * The value of a {@code Host} header for a request that lacks one: the SNI, else the address.
     */
    public String defaultHost() {
        if (!sni.isEmpty()) {
            return sni;
        }
        if (address instanceof InetSocketAddress inet) {
            String host = inet.getHostString();
            if (host.indexOf(':') >= 0) {
                host = '[' + host + ']';
            }
            return host + ':' + inet.getPort();
        }
        return "localhost";
    }

    /**
     * Two peers with equal keys may share pooled connections.
     *
     * @param address the socket address
     * @param tls whether TLS is used
     * @param sni the TLS server name
     */
    public record ReuseKey(SocketAddress address, boolean tls, String sni) {
    }

    static InetSocketAddress parse(String hostPort) {
        Objects.requireNonNull(hostPort, "hostPort");
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1 || hostPort.lastIndexOf(']') > colon) {
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
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range in '" + hostPort + "'");
        }
        if (isIpLiteral(host)) {
            return new InetSocketAddress(io.netty.util.NetUtil.createInetAddressFromIpAddressString(host), port);
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    private static boolean isIpLiteral(String host) {
        return io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HttpPeer p && p.reuseKey.equals(reuseKey) && p.options.equals(options);
    }

    @Override
    public int hashCode() {
        return reuseKey.hashCode();
    }

    /**
     * The peer as logs write it: {@code 127.0.0.1:9}, {@code [::1]:8443 (tls, sni=origin.example)},
     * {@code origin.internal:80} or {@code unix:/run/origin.sock}.
     */
    @Override
    public String toString() {
        String where;
        if (address instanceof InetSocketAddress inet) {
            String host = inet.getAddress() != null ? io.netty.util.NetUtil.toAddressString(inet.getAddress()) : inet.getHostString();
            where = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
        } else if (address instanceof UnixDomainSocketAddress uds) {
            where = "unix:" + uds.getPath();
        } else {
            where = String.valueOf(address);
        }
        if (!tls) {
            return where;
        }
        return where + (sni.isEmpty() ? " (tls)" : " (tls, sni=" + sni + ")");
    }
}

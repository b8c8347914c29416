package dev.merapi.core.upstreams;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how to connect for one upstream request: an address (TCP or Unix domain socket), whether to
 * use TLS and with which {@link UpstreamTls} settings (by default the chain and host name are verified), the SNI /
 * host name, {@link PeerOptions}, and an optional {@linkplain #name() name} for logs. Immutable,
 * so one instance may be shared by every event loop.
 *
 * <p>{@link #reuseKey()} decides which pooled connections a peer may share: two peers with equal keys
 * may use each other's idle connections.
 */
public final class HttpPeer {
    private final SocketAddress address;
    private final boolean tls;
    private final String sni;
    private final PeerOptions options;
    private final UpstreamTls upstreamTls;
    private final ReuseKey reuseKey;
    private final String name;

    private HttpPeer(SocketAddress address, boolean tls, String sni, PeerOptions options, String name, UpstreamTls upstreamTls) {
        this.address = Objects.requireNonNull(address, "address");
        this.tls = tls;
        this.sni = Objects.requireNonNull(sni, "sni");
        this.options = Objects.requireNonNull(options, "options");
        this.name = Objects.requireNonNull(name, "name");
        this.upstreamTls = Objects.requireNonNull(upstreamTls, "upstreamTls");
        this.reuseKey = new ReuseKey(address, tls, sni, tls ? upstreamTls : UpstreamTls.DEFAULT, options.protocol());
    }

    private HttpPeer(SocketAddress address, boolean tls, String sni, PeerOptions options) {
        this(address, tls, sni, options, "", UpstreamTls.DEFAULT);
    }

    /**
     * A peer at {@code host:port} (IPv6 in brackets). A host name is resolved off the event loop when
     * the connection is made, never here.
     *
     * @param hostPort such as {@code 127.0.0.1:8080} or {@code [::1]:443} or {@code origin.internal:80}
     * @param tls whether to speak TLS to it, with {@link UpstreamTls#DEFAULT} settings (chain and host name verified)
     * @param sni the TLS server name, also the name verified and the default {@code Host}; empty for the host of
     *     {@code hostPort} (no SNI is sent for an IP address)
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

    /** A copy with other options; of them only the {@linkplain PeerOptions#protocol() protocol} is part of the reuse key. */
    public HttpPeer withOptions(PeerOptions options) {
        return new HttpPeer(address, tls, sni, options, name, upstreamTls);
    }

    /**
     * A copy that speaks TLS with these settings (trusted CA, name to verify, client certificate, ALPN). They are part
     * of the reuse key: a connection made with one TLS identity is never handed to a peer with another.
     */
    public HttpPeer withTls(UpstreamTls upstreamTls) {
        if (address instanceof UnixDomainSocketAddress) {
            throw new IllegalArgumentException("TLS over a Unix domain socket is not supported: " + this);
        }
        return new HttpPeer(address, true, sni, options, name, upstreamTls);
    }

    /**
     * A copy named {@code name}, which log lines about this peer show before its address ({@code api-1 (10.0.0.1:8000)});
     * the name does not change the reuse key, so equally addressed peers of different names share pooled connections.
     *
     * @param name a short label such as {@code api-1}; empty for none
     * @throws IllegalArgumentException if {@code name} holds a control character, which would forge log lines
     */
    public HttpPeer withName(String name) {
        Objects.requireNonNull(name, "name");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException("a peer name must not hold control characters");
            }
        }
        return new HttpPeer(address, tls, sni, options, name, upstreamTls);
    }

    /** The name given by {@link #withName(String)}, if any. */
    public Optional<String> name() {
        return name.isEmpty() ? Optional.empty() : Optional.of(name);
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

    /** The TLS settings used when {@link #tls()}: {@link UpstreamTls#DEFAULT} unless {@link #withTls} set others. */
    public UpstreamTls upstreamTls() {
        return upstreamTls;
    }

    /**
     * The name a TLS peer's certificate must carry: the settings' {@linkplain UpstreamTls#verifyName() verify name},
     * else the SNI, else the host of the address (a name or an IP address).
     */
    public String tlsVerifyName() {
        if (upstreamTls.verifyName().isPresent()) {
            return upstreamTls.verifyName().get();
        }
        return !sni.isEmpty() ? sni : address instanceof InetSocketAddress inet ? inet.getHostString() : "";
    }

    /** The SNI sent to a TLS peer: the SNI, else the host name of the address (none for an IP address). */
    public String tlsServerName() {
        if (!sni.isEmpty()) {
            return sni;
        }
        return address instanceof InetSocketAddress inet && !isIpLiteral(inet.getHostString()) ? inet.getHostString() : "";
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
     * @param upstreamTls the TLS settings: trust, verification, client certificate, ALPN ({@link UpstreamTls#DEFAULT}
     *     for a plain-text peer)
     * @param protocol the HTTP version asked for ({@link PeerOptions#protocol()})
     */
    public record ReuseKey(SocketAddress address, boolean tls, String sni, UpstreamTls upstreamTls, UpstreamProtocol protocol) {
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
        return o instanceof HttpPeer p && p.reuseKey.equals(reuseKey) && p.options.equals(options) && p.name.equals(name);
    }

    @Override
    public int hashCode() {
        return reuseKey.hashCode();
    }

    /**
     * The peer as logs write it: {@code 127.0.0.1:9}, {@code [::1]:8443 (tls, sni=origin.example)},
     * {@code origin.internal:80} or {@code unix:/run/origin.sock}; a named peer puts its name first:
     * {@code api-1 (10.0.0.1:8000)}, {@code api-2 ([::1]:8443, tls, sni=origin.example)}.
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
        String security = !tls ? "" : (sni.isEmpty() ? "tls" : "tls, sni=" + sni) + (upstreamTls.verify() ? "" : ", insecure");
        if (name.isEmpty()) {
            return security.isEmpty() ? where : where + " (" + security + ")";
        }
        return name + " (" + where + (security.isEmpty() ? "" : ", " + security) + ")";
    }
}

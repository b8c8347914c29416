package dev.merapi.proxy;

import dev.merapi.http.Headers;
import io.netty.handler.ipfilter.IpFilterRuleType;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the proxy tells the origin about the client: {@code X-Forwarded-For}, {@code X-Forwarded-Proto},
 * {@code X-Forwarded-Host}, {@code X-Real-IP} and {@code Forwarded} (RFC 7239), set on every request that goes
 * upstream. A client can write these headers too, so an origin that trusts them could be lied to; the policy:
 * <ul>
 *   <li>From a client that is not a trusted proxy, all five are removed and set afresh: the client's address,
 *       {@code http}, the request's Host.</li>
 *   <li>From a trusted proxy (its address is in {@link #trustedProxies()}), they are kept: the client's address is
 *       appended to {@code X-Forwarded-For} and {@code Forwarded}, and the others are set only when absent.</li>
 *   <li>{@link #off()} passes whatever the client sent and adds nothing: only for an origin that ignores them.</li>
 * </ul>
 * A client on a Unix domain socket has no address: it is written as {@code unknown}.
 *
 * <p>Start from {@link #DEFAULT}, {@link #trusting(List)} or {@link #off()}. Immutable and thread-safe. Applied to the upstream request before {@code upstreamRequestFilter}, which may
 * change the result.
 */
public final class ForwardedHeaders {
    public static final String X_FORWARDED_FOR = "X-Forwarded-For";
    public static final String X_FORWARDED_PROTO = "X-Forwarded-Proto";
    public static final String X_FORWARDED_HOST = "X-Forwarded-Host";
    public static final String X_REAL_IP = "X-Real-IP";
    public static final String FORWARDED = "Forwarded";

    /** The default: headers set afresh for every client, none trusted. */
    public static final ForwardedHeaders DEFAULT = new ForwardedHeaders(true, List.of());

    private static final ForwardedHeaders OFF = new ForwardedHeaders(false, List.of());

    private final boolean enabled;
    private final List<String> trustedProxies;
    private final List<IpSubnetFilterRule> rules;

    private ForwardedHeaders(boolean enabled, List<String> trustedProxies) {
        this.enabled = enabled;
        this.trustedProxies = List.copyOf(trustedProxies);
        List<IpSubnetFilterRule> r = new ArrayList<>(trustedProxies.size());
        for (String t : this.trustedProxies) {
            r.add(parse(t));
        }
        this.rules = List.copyOf(r);
    }

    /**
     * Headers set afresh, except from the given proxies, whose headers are kept and appended to.
     *
     * @param trustedProxies addresses or CIDR ranges, such as {@code 10.0.0.0/8}, {@code 192.0.2.7} or {@code fd00::/8}
     * @throws IllegalArgumentException if one is neither
     */
    public static ForwardedHeaders trusting(List<String> trustedProxies) {
        Objects.requireNonNull(trustedProxies, "trustedProxies");
        return trustedProxies.isEmpty() ? DEFAULT : new ForwardedHeaders(true, trustedProxies);
    }

    /** No forwarding headers: the client's pass through untouched, none is added. */
    public static ForwardedHeaders off() {
        return OFF;
    }

    /** Whether the headers are set at all. */
    public boolean enabled() {
        return enabled;
    }

    /** The proxies whose forwarding headers are kept, as given. */
    public List<String> trustedProxies() {
        return trustedProxies;
    }

    /** Whether {@code client} is a trusted proxy. */
    public boolean trusts(SocketAddress client) {
        if (!(client instanceof InetSocketAddress inet) || inet.getAddress() == null) {
            return false;
        }
        for (IpSubnetFilterRule rule : rules) {
            if (rule.matches(inet)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sets the headers on a request going upstream.
     *
     * @param headers the upstream request's headers, changed in place
     * @param client the address of the downstream peer
     * @param proto {@code http} or {@code https}, as the client spoke to this proxy
     * @param host the request's Host, or {@code null} if it has none
     */
    public void apply(Headers headers, SocketAddress client, String proto, @Nullable String host) {
        if (!enabled) {
            return;
        }
        String address = address(client);
        if (trusts(client)) {
            append(headers, X_FORWARDED_FOR, address);
            append(headers, FORWARDED, element(address, proto, host));
            setIfAbsent(headers, X_FORWARDED_PROTO, proto);
            setIfAbsent(headers, X_REAL_IP, address);
            if (host != null) {
                setIfAbsent(headers, X_FORWARDED_HOST, host);
            }
            return;
        }
        headers.set(X_FORWARDED_FOR, address);
        headers.set(FORWARDED, element(address, proto, host));
        headers.set(X_FORWARDED_PROTO, proto);
        headers.set(X_REAL_IP, address);
        if (host != null) {
            headers.set(X_FORWARDED_HOST, host);
        } else {
            headers.remove(X_FORWARDED_HOST);
        }
    }

    private static void append(Headers headers, String name, String value) {
        List<String> all = headers.getAll(name);
        headers.set(name, all.isEmpty() ? value : String.join(", ", all) + ", " + value);
    }

    private static void setIfAbsent(Headers headers, String name, String value) {
        if (!headers.contains(name)) {
            headers.add(name, value);
        }
    }

    /** The address as X-Forwarded-For writes it: an IP without brackets or port, else {@code unknown}. */
    static String address(SocketAddress client) {
        if (client instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return NetUtil.toAddressString(inet.getAddress());
        }
        return "unknown";
    }

    /** One RFC 7239 element: {@code for=192.0.2.1;proto=http;host="example.com"}, an IPv6 node quoted in brackets. */
    static String element(String address, String proto, @Nullable String host) {
        String node = address.indexOf(':') >= 0 ? "\"[" + address + "]\"" : address;
        StringBuilder sb = new StringBuilder(48).append("for=").append(node).append(";proto=").append(proto);
        if (host != null) {
            sb.append(";host=\"");
            for (int i = 0; i < host.length(); i++) {
                char c = host.charAt(i);
                if (c == '"' || c == '\\') {
                    sb.append('\\');
                }
                sb.append(c);
            }
            sb.append('"');
        }
        return sb.toString();
    }

    private static IpSubnetFilterRule parse(String cidr) {
        Objects.requireNonNull(cidr, "trusted proxy");
        int slash = cidr.indexOf('/');
        String ip = slash < 0 ? cidr.trim() : cidr.substring(0, slash).trim();
        if (!NetUtil.isValidIpV4Address(ip) && !NetUtil.isValidIpV6Address(ip)) {
            throw new IllegalArgumentException("a trusted proxy must be an IP address or CIDR range, such as 10.0.0.0/8: '"
                    + cidr + "'");
        }
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(ip);
        int max = address.getAddress().length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(cidr.substring(slash + 1).trim());
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException("invalid prefix length in trusted proxy '" + cidr + "': 0 to " + max);
            }
        }
        return new IpSubnetFilterRule(address, prefix, IpFilterRuleType.ACCEPT);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ForwardedHeaders f && f.enabled == enabled && f.trustedProxies.equals(trustedProxies);
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(enabled) * 31 + trustedProxies.hashCode();
    }

    @Override
    public String toString() {
        return enabled ? "ForwardedHeaders[trusted=" + trustedProxies + "]" : "ForwardedHeaders[off]";
    }
}

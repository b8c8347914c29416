package dev.merapi.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A host and port a CONNECT tunnel may go to, as an entry of {@link TunnelOptions#connectAllow()}: an exact host
 * (a name, compared without case, an IPv4 address or a bracketed IPv6 address) and an exact port, or {@code *} for
 * any host on one port or any port of one host, never both.
 *
 * <pre>{@code
 * ConnectTarget.of("db.internal:5432");   // one host, one port
 * ConnectTarget.of("*:443");              // any host, port 443
 * ConnectTarget.of("git.example.com:*");  // any port of one host
 * }</pre>
 *
 * @param host the host in lower case, without brackets for IPv6, or {@value #ANY_HOST}
 * @param port 1 to 65535, or {@value #ANY_PORT} for any
 */
public record ConnectTarget(String host, int port) {
    /** The host that matches any host. */
    public static final String ANY_HOST = "*";
    /** The port that matches any port. */
    public static final int ANY_PORT = 0;

    /**
     * @throws IllegalArgumentException if the host is not a plain name or address, the port is out of range, or both
     *     are wildcards (which would make an open proxy)
     */
    public ConnectTarget {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 1 to 65535, or 0 for any: " + port);
        }
        if (!host.equals(ANY_HOST) && !validHost(host)) {
            throw new IllegalArgumentException("not a host name or address: '" + host + "'");
        }
        if (host.equals(ANY_HOST) && port == ANY_PORT) {
            throw new IllegalArgumentException("'*:*' would tunnel anywhere: name a host or a port");
        }
        host = host.toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code HOST:PORT}, where either may be {@code *} (not both) and an IPv6 host is bracketed.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static ConnectTarget of(String spec) {
        Objects.requireNonNull(spec, "spec");
        int colon = spec.lastIndexOf(':');
        if (colon <= 0 || colon == spec.length() - 1) {
            throw new IllegalArgumentException("a CONNECT target is HOST:PORT (either may be *): '" + spec + "'");
        }
        String host = unbracket(spec.substring(0, colon));
        String port = spec.substring(colon + 1);
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a CONNECT target is HOST:PORT (either may be *): '" + spec + "'");
        }
        if (port.equals("*")) {
            return new ConnectTarget(host, ANY_PORT);
        }
        int p = parsePort(port);
        if (p <= 0) {
            throw new IllegalArgumentException("port must be 1 to 65535 or *: '" + spec + "'");
        }
        return new ConnectTarget(host, p);
    }

    /** Parses a comma-separated list of {@link #of} forms; blanks around entries are ignored. */
    public static List<ConnectTarget> listOf(String specs) {
        List<ConnectTarget> out = new ArrayList<>();
        for (String s : specs.split(",", -1)) {
            out.add(of(s.strip()));
        }
        return List.copyOf(out);
    }

    /**
     * Reads a CONNECT request target strictly in authority-form (RFC 9112 §3.2.3): {@code host:port} with no
     * userinfo, path or anything else, the port 1 to 65535 in at most five digits, an IPv6 host in brackets.
     *
     * @return the host (lower case, unbracketed) and port, or empty when the target is not in that form
     */
    public static Optional<ConnectTarget> ofRequestTarget(String target) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0 || colon == target.length() - 1) {
            return Optional.empty();
        }
        String rawHost = target.substring(0, colon);
        boolean bracketed = rawHost.startsWith("[") && rawHost.endsWith("]");
        if (!bracketed && rawHost.indexOf(':') >= 0) {
            return Optional.empty();
        }
        String host = unbracket(rawHost);
        int port = parsePort(target.substring(colon + 1));
        if (port <= 0 || !validHost(host) || (host.indexOf(':') >= 0) != bracketed) {
            return Optional.empty();
        }
        return Optional.of(new ConnectTarget(host, port));
    }

    /** Whether {@code host} (lower case) and {@code port} are allowed by this entry. */
    public boolean matches(String otherHost, int otherPort) {
        return (port == ANY_PORT || port == otherPort) && (host.equals(ANY_HOST) || host.equals(otherHost));
    }

    /** The {@code host:port} to connect to, IPv6 bracketed. */
    String authority() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ':' + port;
    }

    @Override
    public String toString() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return h + ':' + (port == ANY_PORT ? "*" : Integer.toString(port));
    }

    private static String unbracket(String host) {
        return host.length() > 2 && host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static int parsePort(String s) {
        if (s.isEmpty() || s.length() > 5) {
            return -1;
        }
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n <= 65535 ? n : -1;
    }

    /** A DNS name (letters, digits, '-', '.'), an IPv4 address, or an IPv6 address (hex digits, ':' and '.'). */
    private static boolean validHost(String host) {
        if (host.isEmpty() || host.length() > 253) {
            return false;
        }
        boolean v6 = host.indexOf(':') >= 0;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok = v6
                    ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'
                    : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
            if (!ok) {
                return false;
            }
        }
        return !host.startsWith(".") && !host.startsWith("-");
    }
}

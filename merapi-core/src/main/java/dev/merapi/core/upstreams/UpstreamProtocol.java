package dev.merapi.core.upstreams;

import java.util.List;
import java.util.Locale;

/**
 * Which HTTP version Merapi speaks to a peer ({@link PeerOptions#protocol()}).
 *
 * <p>A plain-text peer speaks HTTP/1.1 unless it is asked for h2c ({@link #HTTP2}), since nothing on a plain
 * connection says whether the origin understands the HTTP/2 preface. A TLS peer offers, by ALPN, what the choice
 * allows; the offer follows from this choice, not from a second setting.
 */
public enum UpstreamProtocol {
    /** HTTP/1.1 only (the default): ALPN offers {@code http/1.1} to a TLS peer. */
    HTTP1("h1"),
    /**
     * HTTP/2 only: h2 over TLS (ALPN offers {@code h2} alone; a peer that picks nothing else fails the handshake),
     * or h2c with prior knowledge on a plain-text peer.
     */
    HTTP2("h2"),
    /**
     * HTTP/2 if the peer offers it: ALPN offers {@code h2} and {@code http/1.1} and the peer picks. A peer that picks
     * HTTP/1.1 is remembered (per reuse key, for the life of the process) and spoken to in HTTP/1.1 from then on,
     * without asking again. A plain-text peer speaks HTTP/1.1.
     */
    HTTP2_PREFERRED("h2-preferred");

    private final String flag;

    UpstreamProtocol(String flag) {
        this.flag = flag;
    }

    /** The name used in flags and configuration: {@code h1}, {@code h2} or {@code h2-preferred}. */
    public String flag() {
        return flag;
    }

    /** The ALPN protocol ids a TLS peer is offered, in order of preference. */
    public List<String> alpn() {
        return switch (this) {
            case HTTP1 -> List.of(UpstreamTls.HTTP_1_1);
            case HTTP2 -> List.of("h2");
            case HTTP2_PREFERRED -> List.of("h2", UpstreamTls.HTTP_1_1);
        };
    }

    /**
     * The protocol named {@code name} ({@code h1}, {@code h2}, {@code h2-preferred}, any case).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static UpstreamProtocol parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (UpstreamProtocol p : values()) {
            if (p.flag.equals(n)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown upstream protocol '" + name + "': expected h1, h2 or h2-preferred");
    }
}

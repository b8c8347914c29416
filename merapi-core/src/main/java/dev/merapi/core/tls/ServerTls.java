package dev.merapi.core.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The TLS settings of one listener: its certificates, the protocols and cipher suites it accepts, ALPN, client
 * certificates (mTLS), the handshake timeout and session resumption. Immutable; made with
 * {@link #of(CertificateStore)} or {@link #builder(CertificateStore)}.
 *
 * <pre>{@code
 * ServerTls tls = ServerTls.builder(CertificateStore.of(Path.of("cert.pem"), Path.of("key.pem")))
 *         .clientAuth(ServerTls.ClientAuth.REQUIRED, Path.of("clients-ca.pem"))
 *         .build();
 * ListenerConfig listener = ListenerConfig.tcp("0.0.0.0:8443").toBuilder().tls(tls).build();
 * }</pre>
 *
 * <p>Defaults: Mozilla's "intermediate" configuration (server side TLS guideline 6.0: TLS 1.2 and 1.3, the three
 * TLS 1.3 suites and the six ECDHE suites with AES-GCM or ChaCha20-Poly1305, no DHE), key-exchange groups
 * X25519MLKEM768, X25519, P-256 and P-384 (those the TLS library lacks are left out), ALPN {@code http/1.1}, no client
 * certificate, a {@link #DEFAULT_HANDSHAKE_TIMEOUT 10 s} handshake timeout, session tickets on with keys made in
 * memory and rotated every 12 hours ({@link TicketKeys#DEFAULT}).
 *
 * <p>TLS 1.0 and 1.1, SSLv3, and any cipher suite that is not an AEAD suite with forward secrecy (CBC, RC4, 3DES,
 * static RSA, DHE) are refused with a {@link TlsConfigException} unless {@link Builder#legacy(boolean)} is set, which
 * logs a warning at start.
 *
 * @param certificates the certificates and their selection by SNI
 * @param preset the base protocol and cipher lists
 * @param protocols the protocol versions, or empty for the preset's
 * @param cipherSuites the cipher suites (IANA names, such as {@code TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}), or
 *     empty for the preset's
 * @param groups the key-exchange groups in preference order (such as {@code X25519MLKEM768}, {@code X25519},
 *     {@code P-256}), or empty for the default
 * @param legacy whether protocols and suites below the intermediate preset may be configured
 * @param alpn which application protocols ALPN offers
 * @param clientAuth whether a client certificate is asked for
 * @param clientCa the CA bundle (PEM) client certificates are verified against, when {@code clientAuth} is not NONE
 * @param handshakeTimeout how long a client has from connecting to finishing the handshake
 * @param sessionTickets whether sessions can be resumed with tickets
 * @param ticketKeys where the session-ticket keys come from and how they are rotated, when tickets are on
 * @param selector the dynamic-certificate hook, if any; without it the store picks by SNI
 */
public record ServerTls(CertificateStore certificates, Preset preset, List<String> protocols, List<String> cipherSuites,
        List<String> groups, boolean legacy, Alpn alpn, ClientAuth clientAuth, Optional<Path> clientCa,
        Duration handshakeTimeout, boolean sessionTickets, TicketKeys ticketKeys, Optional<CertificateSelector> selector) {

    /** The default handshake timeout. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** The default key-exchange groups, most preferred first. */
    public static final List<String> DEFAULT_GROUPS = List.of("X25519MLKEM768", "X25519", "P-256", "P-384");

    /** The TLS 1.3 suites of both presets. */
    private static final List<String> TLS13_SUITES = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");
    /** The TLS 1.2 suites of Mozilla intermediate 6.0, in its order. */
    private static final List<String> TLS12_SUITES = List.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** Protocol and cipher suite lists after Mozilla's server side TLS guideline 6.0. */
    public enum Preset {
        /** TLS 1.2 and 1.3 with AEAD suites and ECDHE only: works with every client of the last ten years. */
        INTERMEDIATE(List.of("TLSv1.3", "TLSv1.2"), concat(TLS13_SUITES, TLS12_SUITES)),
        /** TLS 1.3 only. */
        MODERN(List.of("TLSv1.3"), TLS13_SUITES);

        private final List<String> protocols;
        private final List<String> cipherSuites;

        Preset(List<String> protocols, List<String> cipherSuites) {
            this.protocols = protocols;
            this.cipherSuites = cipherSuites;
        }

        /** The protocol versions, newest first. */
        public List<String> protocols() {
            return protocols;
        }

        /** The cipher suites, most preferred first. */
        public List<String> cipherSuites() {
            return cipherSuites;
        }
    }

    /**
     * What ALPN offers. A client that negotiates {@code h2} is served HTTP/2, any other HTTP/1.1; a listener whose
     * {@code ListenerConfig.http2} is off offers {@code http/1.1} only, whatever is set here.
     */
    public enum Alpn {
        /** {@code http/1.1} only. */
        HTTP1,
        /** {@code h2} only: a client that cannot speak HTTP/2 negotiates nothing and is served HTTP/1.1. */
        HTTP2,
        /** {@code h2} then {@code http/1.1}. */
        HTTP2_AND_HTTP1;

        /** The protocol names offered, most preferred first. */
        public List<String> offered() {
            return switch (this) {
                case HTTP1 -> List.of("http/1.1");
                case HTTP2 -> List.of("h2");
                case HTTP2_AND_HTTP1 -> List.of("h2", "http/1.1");
            };
        }
    }

    /** Whether the listener asks for a client certificate (mTLS). */
    public enum ClientAuth {
        /** No client certificate is asked for. */
        NONE,
        /** One is asked for and verified if sent; a client without one is let in. */
        OPTIONAL,
        /** A verified client certificate is required; the handshake fails without one. */
        REQUIRED;

        /** Parses {@code none}, {@code optional} or {@code required}. */
        public static ClientAuth parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "none", "off" -> NONE;
                case "optional" -> OPTIONAL;
                case "required", "require" -> REQUIRED;
                default -> throw new IllegalArgumentException("expected none, optional or required, got '" + s + "'");
            };
        }
    }

    public ServerTls {
        Objects.requireNonNull(certificates, "certificates");
        Objects.requireNonNull(preset, "preset");
        protocols = List.copyOf(protocols);
        cipherSuites = List.copyOf(cipherSuites);
        groups = List.copyOf(groups);
        Objects.requireNonNull(alpn, "alpn");
        Objects.requireNonNull(clientAuth, "clientAuth");
        Objects.requireNonNull(clientCa, "clientCa");
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        Objects.requireNonNull(ticketKeys, "ticketKeys");
        Objects.requireNonNull(selector, "selector");
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new TlsConfigException("the TLS handshake timeout must be positive: " + handshakeTimeout);
        }
        if (clientAuth != ClientAuth.NONE && clientCa.isEmpty()) {
            throw new TlsConfigException("client certificates (" + clientAuth.name().toLowerCase(Locale.ROOT)
                    + ") need a CA bundle to verify them against");
        }
        if (!legacy) {
            for (String p : protocols.isEmpty() ? preset.protocols() : protocols) {
                if (!isModernProtocol(p)) {
                    throw new TlsConfigException("protocol " + p + " is below TLS 1.2; set legacy(true) to allow it");
                }
            }
            for (String c : cipherSuites.isEmpty() ? preset.cipherSuites() : cipherSuites) {
                if (!isModernCipherSuite(c)) {
                    throw new TlsConfigException("cipher suite " + c
                            + " is not an AEAD suite with forward secrecy; set legacy(true) to allow it");
                }
            }
        }
    }

    /** The default settings serving {@code certificates}. */
    public static ServerTls of(CertificateStore certificates) {
        return builder(certificates).build();
    }

    /** A builder with the defaults, serving {@code certificates}. */
    public static Builder builder(CertificateStore certificates) {
        return new Builder(certificates);
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The protocol versions in effect: the explicit list or the preset's. */
    public List<String> effectiveProtocols() {
        return protocols.isEmpty() ? preset.protocols() : protocols;
    }

    /** The cipher suites in effect: the explicit list or the preset's. */
    public List<String> effectiveCipherSuites() {
        return cipherSuites.isEmpty() ? preset.cipherSuites() : cipherSuites;
    }

    /** The key-exchange groups asked for: the explicit list or {@link #DEFAULT_GROUPS}. */
    public List<String> effectiveGroups() {
        return groups.isEmpty() ? DEFAULT_GROUPS : groups;
    }

    /** Whether {@code protocol} is TLS 1.2 or 1.3. */
    public static boolean isModernProtocol(String protocol) {
        return "TLSv1.3".equals(protocol) || "TLSv1.2".equals(protocol);
    }

    /** Whether {@code suite} is a TLS 1.3 suite or a TLS 1.2 ECDHE suite with AES-GCM or ChaCha20-Poly1305. */
    public static boolean isModernCipherSuite(String suite) {
        if (TLS13_SUITES.contains(suite)) {
            return true;
        }
        return suite.startsWith("TLS_ECDHE_") && (suite.contains("_GCM_") || suite.endsWith("_CHACHA20_POLY1305_SHA256"));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }

    /** Builds a {@link ServerTls}; the defaults are those of {@link ServerTls}. */
    public static final class Builder {
        private final CertificateStore certificates;
        private Preset preset = Preset.INTERMEDIATE;
        private List<String> protocols = List.of();
        private List<String> cipherSuites = List.of();
        private List<String> groups = List.of();
        private boolean legacy;
        private Alpn alpn = Alpn.HTTP2_AND_HTTP1;
        private ClientAuth clientAuth = ClientAuth.NONE;
        private Optional<Path> clientCa = Optional.empty();
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
        private boolean sessionTickets = true;
        private TicketKeys ticketKeys = TicketKeys.DEFAULT;
        private Optional<CertificateSelector> selector = Optional.empty();

        private Builder(CertificateStore certificates) {
            this.certificates = Objects.requireNonNull(certificates, "certificates");
        }

        private Builder(ServerTls t) {
            certificates = t.certificates;
            preset = t.preset;
            protocols = t.protocols;
            cipherSuites = t.cipherSuites;
            groups = t.groups;
            legacy = t.legacy;
            alpn = t.alpn;
            clientAuth = t.clientAuth;
            clientCa = t.clientCa;
            handshakeTimeout = t.handshakeTimeout;
            sessionTickets = t.sessionTickets;
            ticketKeys = t.ticketKeys;
            selector = t.selector;
        }

        /** The base protocol and suite lists (default {@link Preset#INTERMEDIATE}). */
        public Builder preset(Preset v) {
            preset = v;
            return this;
        }

        /** Explicit protocol versions, such as {@code TLSv1.3}; replaces the preset's. */
        public Builder protocols(List<String> v) {
            protocols = v;
            return this;
        }

        /** Explicit cipher suites (IANA names); replaces the preset's. */
        public Builder cipherSuites(List<String> v) {
            cipherSuites = v;
            return this;
        }

        /** Explicit key-exchange groups in preference order; replaces {@link #DEFAULT_GROUPS}. */
        public Builder groups(List<String> v) {
            groups = v;
            return this;
        }

        /** Allows protocols below TLS 1.2 and suites that are not AEAD with forward secrecy (default off). */
        public Builder legacy(boolean v) {
            legacy = v;
            return this;
        }

        /**
         * What ALPN offers (default {@link Alpn#HTTP2_AND_HTTP1}: h2 for clients that offer it, {@code http/1.1} for
         * the others); {@link Alpn#HTTP1} keeps a listener to HTTP/1.1.
         */
        public Builder alpn(Alpn v) {
            alpn = v;
            return this;
        }

        /** Asks for client certificates verified against the CA bundle {@code caPem} (default {@link ClientAuth#NONE}). */
        public Builder clientAuth(ClientAuth v, Path caPem) {
            clientAuth = v;
            clientCa = Optional.of(caPem);
            return this;
        }

        /** How long a client has from connecting to finishing the handshake (default 10 s). */
        public Builder handshakeTimeout(Duration v) {
            handshakeTimeout = v;
            return this;
        }

        /** Whether sessions can be resumed with tickets (default on). */
        public Builder sessionTickets(boolean v) {
            sessionTickets = v;
            return this;
        }

        /**
         * Where the session-ticket keys come from (default {@link TicketKeys#DEFAULT}: made in memory, rotated every
         * 12 hours); {@link TicketKeys#fromFile} shares keys between instances.
         */
        public Builder ticketKeys(TicketKeys v) {
            ticketKeys = v;
            return this;
        }

        /** The dynamic-certificate hook (default none: the store picks by SNI). */
        public Builder selector(CertificateSelector v) {
            selector = Optional.of(v);
            return this;
        }

        /** @throws TlsConfigException if the settings are refused (see {@link ServerTls}) */
        public ServerTls build() {
            return new ServerTls(certificates, preset, protocols, cipherSuites, groups, legacy, alpn, clientAuth, clientCa,
                    handshakeTimeout, sessionTickets, ticketKeys, selector);
        }
    }
}

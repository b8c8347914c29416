package dev.merapi.gateway.config;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.proxy.TunnelOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A validated gateway configuration: immutable, every reference resolved (each route's upstream group exists),
 * every default filled in. Made by {@link ConfigLoader}; docs/configuration.md is the reference of its keys, and a
 * test keeps the two in step through each section's {@code KEYS}.
 *
 * @param source where it was read from, for messages ({@code <built-in>} for the embedded default)
 * @param server process-wide settings
 * @param listeners where the proxy accepts clients; at least one
 * @param upstreams the upstream groups, by unique name
 * @param routes the routes, in file order (docs/configuration.md, "Route precedence")
 * @param admin the admin listener
 * @param accessLog the access log
 * @param metrics the metrics
 * @param requestId the request id
 * @param version the configuration's version ({@code version:}), 0 if it has none; a remote bundle is taken only if
 *     its version is higher than the running one
 * @param remote where signed configuration bundles are fetched from, if anywhere
 */
public record GatewayConfig(String source, Server server, List<Listener> listeners, List<UpstreamGroup> upstreams,
        List<Route> routes, Admin admin, AccessLog accessLog, Metrics metrics, RequestId requestId, long version,
        Optional<Remote> remote) {

    /** The top-level keys. */
    public static final List<String> KEYS = List.of("server", "listeners", "upstreams", "routes", "admin", "access-log", "metrics",
            "request-id", "version", "remote");

    public GatewayConfig {
        listeners = List.copyOf(listeners);
        upstreams = List.copyOf(upstreams);
        routes = List.copyOf(routes);
        if (version < 0) {
            throw new IllegalArgumentException("version must be 0 or more; got " + version);
        }
    }

    /** A configuration of version 0 with no remote source. */
    public GatewayConfig(String source, Server server, List<Listener> listeners, List<UpstreamGroup> upstreams,
            List<Route> routes, Admin admin, AccessLog accessLog, Metrics metrics, RequestId requestId) {
        this(source, server, listeners, upstreams, routes, admin, accessLog, metrics, requestId, 0, Optional.empty());
    }

    /** The upstream group of that name. */
    public Optional<UpstreamGroup> upstream(String name) {
        return upstreams.stream().filter(u -> u.name().equals(name)).findFirst();
    }

    /**
     * Process-wide settings.
     *
     * @param threads event loops; empty for one per core
     * @param gracePeriod how long a stop (SIGTERM) lets requests finish
     */
    public record Server(Optional<Integer> threads, Duration gracePeriod) {
        public static final List<String> KEYS = List.of("threads", "grace-period");
        public static final Server DEFAULT = new Server(Optional.empty(), Duration.ofSeconds(30));
    }

    /**
     * One listener of the proxy.
     *
     * @param name unique among listeners
     * @param address {@code host:port}
     * @param protocols what it speaks; {@code h1} in this version
     * @param tls TLS on this listener, if any
     * @param maxConnections most client connections open at once
     * @param maxConnectionsPerIp most from one IP address; 0 for no cap
     * @param http1 HTTP/1.1 limits and timeouts of its connections; {@link Http1Options#allowConnect()} is on exactly
     *     when {@code tunnels} names a CONNECT target
     * @param http2 whether it also speaks HTTP/2 (default on): h2c to clients that start with the HTTP/2 connection
     *     preface on a plain listener, h2 to clients that pick it by ALPN on a TLS one; off, every client is served
     *     HTTP/1.1 and ALPN offers {@code http/1.1} only
     * @param tunnels its WebSocket/Upgrade and CONNECT tunnels: {@code connect.allow} (the CONNECT targets, none by
     *     default, so CONNECT is answered 405) and {@code tunnel-idle-timeout} (the library's default otherwise)
     */
    public record Listener(String name, String address, List<String> protocols, Optional<ListenerTls> tls, int maxConnections,
            int maxConnectionsPerIp, Http1Options http1, boolean http2, TunnelOptions tunnels) {
        public static final List<String> KEYS = List.of("name", "address", "protocols", "tls", "max-connections", "max-connections-per-ip",
                "max-request-line", "max-header-size", "max-headers", "first-byte-timeout", "header-timeout", "keep-alive-timeout",
                "body-timeout", "write-timeout", "max-requests-per-connection", "http2", "connect", "tunnel-idle-timeout");
        /** The keys of {@code listeners[].connect}. */
        public static final List<String> CONNECT_KEYS = List.of("allow");

        public Listener {
            protocols = List.copyOf(protocols);
        }

        /** The same listener on another address. */
        public Listener withAddress(String a) {
            return new Listener(name, a, protocols, tls, maxConnections, maxConnectionsPerIp, http1, http2, tunnels);
        }
    }

    /**
     * TLS on a listener. The certificate files were read and checked (readable, key matching, valid now) when the
     * configuration was loaded; the gateway reads them again when it binds the listener, and whenever they change on
     * disk.
     *
     * @param certificates the certificates, the first one the default; the others are chosen by the name the client
     *     asks for (SNI) against the names of each certificate
     * @param preset {@code intermediate} (TLS 1.2 and 1.3) or {@code modern} (TLS 1.3 only)
     * @param clientAuth {@code none}, {@code optional} or {@code required}
     * @param clientCa the CA bundle client certificates are verified against; present unless clientAuth is none
     * @param handshakeTimeout how long a client has from connecting to finishing the handshake
     * @param sessionTickets whether sessions can be resumed with tickets
     * @param protocols protocol versions instead of the preset's, such as {@code TLSv1.3}; empty for the preset's
     * @param cipherSuites cipher suites (IANA names) instead of the preset's; empty for the preset's
     * @param groups key-exchange groups in preference order; empty for the default
     * @param legacy whether protocols below TLS 1.2 and suites that are not AEAD with forward secrecy may be given
     * @param alpn what ALPN offers: {@code h2-and-h1} (the default: h2 preferred, {@code http/1.1} for clients that do
     *     not offer h2), {@code h2} or {@code h1}; the listener's {@code http2: false} means {@code h1}
     */
    public record ListenerTls(List<CertificateFiles> certificates, String preset, String clientAuth, Optional<Path> clientCa,
            Duration handshakeTimeout, boolean sessionTickets, List<String> protocols, List<String> cipherSuites, List<String> groups,
            boolean legacy, String alpn) {
        public static final List<String> KEYS = List.of("certificates", "preset", "client-auth", "client-ca", "handshake-timeout",
                "session-tickets", "protocols", "cipher-suites", "groups", "legacy", "alpn");
        public static final List<String> PRESETS = List.of("intermediate", "modern");
        public static final List<String> CLIENT_AUTH = List.of("none", "optional", "required");
        /** The values of {@code alpn}, the default first. */
        public static final List<String> ALPN = List.of("h2-and-h1", "h2", "h1");

        public ListenerTls {
            certificates = List.copyOf(certificates);
            protocols = List.copyOf(protocols);
            cipherSuites = List.copyOf(cipherSuites);
            groups = List.copyOf(groups);
        }

        /**
         * The listener's TLS settings, its certificates read from the files now (no file watch). Blocks on file I/O.
         *
         * @throws dev.merapi.core.tls.TlsConfigException naming the file and the reason
         */
        public ServerTls load() {
            CertificateStore.Builder store = CertificateStore.builder();
            certificates.forEach(c -> store.add(c.cert(), c.key()));
            ServerTls.Builder b = ServerTls.builder(store.build()).preset(ServerTls.Preset.valueOf(preset.toUpperCase(Locale.ROOT)))
                    .protocols(protocols).cipherSuites(cipherSuites).groups(groups).legacy(legacy).handshakeTimeout(handshakeTimeout)
                    .sessionTickets(sessionTickets).alpn(alpn(alpn));
            clientCa.ifPresent(ca -> b.clientAuth(ServerTls.ClientAuth.parse(clientAuth), ca));
            return b.build();
        }

        /** The ALPN offer a value of {@code alpn} names. */
        static ServerTls.Alpn alpn(String name) {
            return switch (name) {
                case "h1" -> ServerTls.Alpn.HTTP1;
                case "h2" -> ServerTls.Alpn.HTTP2;
                default -> ServerTls.Alpn.HTTP2_AND_HTTP1;
            };
        }
    }

    /**
     * One certificate of a TLS listener, from PEM files.
     *
     * @param cert the certificate chain, leaf first
     * @param key its private key (PKCS#8, PKCS#1 or SEC1; not encrypted)
     */
    public record CertificateFiles(Path cert, Path key) {
        public static final List<String> KEYS = List.of("cert", "key");
    }

    /**
     * TLS to the backends of an upstream group: the presence of the {@code tls} section turns it on, with the
     * certificate chain and the host name verified unless {@code insecure}.
     *
     * @param ca a CA bundle trusted instead of the JDK's trust store
     * @param sni the name sent as SNI and verified; empty for each backend's host (its DNS name with {@code dns})
     * @param verifyName a name verified instead of the SNI
     * @param clientCert a client certificate shown to backends that ask for one (upstream mTLS), with clientKey
     * @param clientKey the private key of clientCert
     * @param insecure whether verification is off (logged as a warning whenever the group is built)
     */
    public record UpstreamTlsSpec(Optional<Path> ca, Optional<String> sni, Optional<String> verifyName, Optional<Path> clientCert,
            Optional<Path> clientKey, boolean insecure) {
        public static final List<String> KEYS = List.of("ca", "sni", "verify-name", "client-cert", "client-key", "insecure");

        /**
         * The settings every backend of the group speaks TLS with, their files read now. Logs a warning when
         * {@code insecure}. Blocks on file I/O.
         *
         * @throws IllegalArgumentException naming the file and the reason
         */
        public UpstreamTls load() {
            UpstreamTls.Builder b = UpstreamTls.builder();
            ca.ifPresent(b::trustedCa);
            verifyName.ifPresent(b::verifyName);
            if (clientCert.isPresent() && clientKey.isPresent()) {
                b.clientCertificate(clientCert.get(), clientKey.get());
            }
            if (insecure) {
                b.insecure();
            }
            return b.build();
        }
    }

    /**
     * A group of interchangeable backends behind one name, which routes refer to.
     *
     * @param name unique among groups
     * @param algorithm how a backend is chosen: round-robin, random, hash, ketama, least-conn, p2c-ewma, maglev
     * @param hashKey what the hashing algorithms hash: uri, client-ip or header:NAME
     * @param backends the static backends; at least one unless {@code dns} gives them
     * @param dns backends found in DNS, instead of static ones
     * @param healthCheck an active HTTP health check, if any
     * @param tls TLS to every backend of the group and to their health checks, if any
     * @param connectTimeout upstream connect timeout
     * @param readTimeout upstream read timeout (between bytes of the response)
     * @param writeTimeout upstream write timeout
     * @param idleTimeout how long an idle pooled connection is kept
     * @param retries how many times a failed attempt that is safe to retry is tried again, on another backend
     * @param protocol the HTTP version spoken to every backend (default HTTP/1.1): {@code h2} is h2 by ALPN over TLS
     *     and h2c with prior knowledge on plain text; {@code h2-preferred} offers both by ALPN and falls back to
     *     HTTP/1.1 (plain-text backends speak HTTP/1.1)
     * @param maxStreamsPerConnection the most concurrent requests one HTTP/2 connection to a backend carries; the
     *     backend's own limit lowers it
     */
    public record UpstreamGroup(String name, String algorithm, String hashKey, List<BackendSpec> backends, Optional<DnsSpec> dns,
            Optional<HealthCheckSpec> healthCheck, Optional<UpstreamTlsSpec> tls, Duration connectTimeout, Duration readTimeout, Duration writeTimeout,
            Duration idleTimeout, int retries, UpstreamProtocol protocol, int maxStreamsPerConnection) {
        public static final List<String> KEYS = List.of("name", "algorithm", "hash-key", "backends", "dns", "health-check", "tls",
                "connect-timeout", "read-timeout", "write-timeout", "idle-timeout", "retries", "protocol", "max-streams-per-connection");
        /** The values of {@code protocol}, the default first. */
        public static final List<String> PROTOCOLS = java.util.Arrays.stream(UpstreamProtocol.values()).map(UpstreamProtocol::flag).toList();
        public static final List<String> ALGORITHMS = List.of("round-robin", "random", "hash", "ketama", "least-conn", "p2c-ewma", "maglev");

        public UpstreamGroup {
            backends = List.copyOf(backends);
        }
    }

    /**
     * One static backend.
     *
     * @param address {@code host:port}, or {@value #DEMO_ORIGIN}: the built-in demo origin, which then runs in the
     *     gateway's process on a loopback port of its own
     * @param weight its share, 1 to 10000
     */
    public record BackendSpec(String address, int weight) {
        public static final List<String> KEYS = List.of("address", "weight");
        /** The address that names the built-in demo origin. */
        public static final String DEMO_ORIGIN = "demo-origin";

        /** Whether this is the built-in demo origin. */
        public boolean isDemoOrigin() {
            return address.equals(DEMO_ORIGIN);
        }
    }

    /**
     * Backends from DNS: every A and AAAA address of {@code name} on {@code port}, or the targets, ports and weights
     * of the SRV records of {@code srv}. Asked again when the answer's TTL runs out, within {@code refresh}; a failed
     * query keeps the last good set.
     *
     * @param name a host name whose addresses are the backends (with {@code port}), or empty
     * @param port the port of every address of {@code name}; 0 with {@code srv}
     * @param srv a service name whose SRV records give the backends, or empty
     * @param nameServers the name servers to ask ({@code host:port}); empty for the system's
     * @param refresh the longest time between two queries
     * @param timeout the deadline of one query
     */
    public record DnsSpec(Optional<String> name, int port, Optional<String> srv, List<String> nameServers, Duration refresh,
            Duration timeout) {
        public static final List<String> KEYS = List.of("name", "port", "srv", "name-servers", "refresh", "timeout");

        public DnsSpec {
            nameServers = List.copyOf(nameServers);
        }
    }

    /**
     * An active HTTP health check: GET {@code path} every {@code interval}; 2xx and 3xx pass.
     *
     * @param path the path probed
     * @param interval time between probes
     * @param timeout the deadline of one probe
     * @param rise successes that mark a backend up
     * @param fall failures that mark it down
     */
    public record HealthCheckSpec(String path, Duration interval, Duration timeout, int rise, int fall) {
        public static final List<String> KEYS = List.of("path", "interval", "timeout", "rise", "fall");
    }

    /**
     * A route: when {@code match} matches a request, {@code action} handles it, through {@code filters}.
     *
     * @param name unique among routes; labels metrics and the access log
     * @param match what requests it takes
     * @param action what it does with them
     * @param filters per-route changes and limits
     */
    public record Route(String name, Match match, Action action, Filters filters) {
        public static final List<String> KEYS = List.of("name", "match", "upstream", "redirect", "respond",
                "request-headers", "response-headers", "strip-prefix", "rewrite", "max-request-body", "timeout", "cors");
    }

    /**
     * What a route matches. Every condition given must hold.
     *
     * @param host an exact host ({@code api.example.com}) or a wildcard ({@code *.example.com}, one or more
     *     labels); empty for any host
     * @param path how the normalised path must match
     * @param methods the methods it takes; empty for any
     * @param headers headers that must be present with exactly these values (names case-insensitive)
     * @param query query parameters that must be present with exactly these values
     */
    public record Match(Optional<String> host, PathMatch path, Set<String> methods, Map<String, String> headers, Map<String, String> query) {
        public static final List<String> KEYS = List.of("host", "path", "path-prefix", "path-regex", "methods", "headers", "query");

        public Match {
            methods = Set.copyOf(methods);
            headers = Map.copyOf(headers);
            query = Map.copyOf(query);
        }
    }

    /** How a route matches the normalised path. */
    public sealed interface PathMatch {
        /** Any path. */
        record Any() implements PathMatch {
        }

        /** Exactly this path. */
        record Exact(String path) implements PathMatch {
        }

        /** This prefix, at a segment boundary: {@code /api} takes {@code /api} and {@code /api/x}, not {@code /apix}. */
        record Prefix(String prefix) implements PathMatch {
        }

        /** A regular expression that must match the whole path. */
        record Regex(Pattern pattern) implements PathMatch {
        }
    }

    /** What a route does with a request it matched. */
    public sealed interface Action {
        /** Proxies to an upstream group. */
        record Proxy(String upstream) implements Action {
        }

        /** Answers with a redirect to {@code location} (3xx). */
        record Redirect(String location, int status) implements Action {
            public static final List<String> KEYS = List.of("location", "status");
        }

        /** Answers with a fixed response. */
        record Respond(int status, String body, String contentType) implements Action {
            public static final List<String> KEYS = List.of("status", "body", "content-type");
        }
    }

    /**
     * Per-route changes and limits, applied in this order to the request: size limit, path rewrite
     * ({@code stripPrefix}, then {@code rewrite}), request headers; and to the response: response headers.
     *
     * @param requestHeaders edits to the request that goes upstream
     * @param responseHeaders edits to the response that goes to the client
     * @param stripPrefix a prefix removed from the path before it goes upstream
     * @param rewrite a regular-expression rewrite of the path
     * @param maxRequestBody the largest request body taken (413 above it)
     * @param timeout the upstream read timeout of this route, instead of the group's
     * @param cors cross-origin resource sharing, if the route allows other origins
     */
    public record Filters(HeaderEdits requestHeaders, HeaderEdits responseHeaders, Optional<String> stripPrefix,
            Optional<Rewrite> rewrite, OptionalLong maxRequestBody, Optional<Duration> timeout, Optional<Cors> cors) {
        public static final Filters NONE = new Filters(HeaderEdits.NONE, HeaderEdits.NONE, Optional.empty(), Optional.empty(),
                OptionalLong.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * Cross-origin resource sharing (the Fetch standard's CORS protocol) for one route. The gateway answers
     * preflights itself, and adds {@code Access-Control-*} to the responses of allowed origins.
     *
     * @param allowOrigins origins allowed, such as {@code https://app.example.com}, or {@code *} for any
     * @param allowMethods methods a preflight may announce
     * @param allowHeaders request headers a preflight may announce (case-insensitive); {@code *} for any
     * @param exposeHeaders response headers scripts may read
     * @param allowCredentials whether cookies and credentials may be sent (never with {@code *} origins)
     * @param maxAge how long a browser may cache a preflight answer
     */
    public record Cors(List<String> allowOrigins, List<String> allowMethods, List<String> allowHeaders, List<String> exposeHeaders,
            boolean allowCredentials, Duration maxAge) {
        public static final List<String> KEYS = List.of("allow-origins", "allow-methods", "allow-headers", "expose-headers",
                "allow-credentials", "max-age");
        public static final List<String> DEFAULT_METHODS = List.of("GET", "HEAD", "POST");

        public Cors {
            allowOrigins = List.copyOf(allowOrigins);
            allowMethods = List.copyOf(allowMethods);
            allowHeaders = List.copyOf(allowHeaders);
            exposeHeaders = List.copyOf(exposeHeaders);
        }

        /** Whether any origin is allowed. */
        public boolean anyOrigin() {
            return allowOrigins.contains("*");
        }
    }

    /**
     * Header edits: {@code remove}, then {@code set} (replaces), then {@code add} (appends).
     *
     * @param add headers appended
     * @param set headers that replace any of the same name
     * @param remove header names removed
     */
    public record HeaderEdits(Map<String, String> add, Map<String, String> set, List<String> remove) {
        public static final List<String> KEYS = List.of("add", "set", "remove");
        public static final HeaderEdits NONE = new HeaderEdits(Map.of(), Map.of(), List.of());

        public HeaderEdits {
            add = Map.copyOf(add);
            set = Map.copyOf(set);
            remove = List.copyOf(remove);
        }

        public boolean isEmpty() {
            return add.isEmpty() && set.isEmpty() && remove.isEmpty();
        }
    }

    /** A path rewrite: the first match of {@code pattern} is replaced by {@code replacement} ({@code $1} groups). */
    public record Rewrite(Pattern pattern, String replacement) {
        public static final List<String> KEYS = List.of("pattern", "replacement");
    }

    /**
     * The admin listener: health endpoints, metrics and the admin API ({@code /api/v1/}, docs/admin-api.md).
     *
     * @param enabled whether it listens
     * @param address {@code host:port}; loopback by default, and any other address needs {@code tls}
     * @param tls TLS on the admin listener, with the keys of a listener's; with {@code client-ca}, client certificates
     *     can be mapped to identities by {@code clients}
     * @param tokens bearer tokens, by the hash of each (never the token itself)
     * @param clients client certificates (by subject or SHA-256 fingerprint) mapped to identities
     * @param requireBoth whether the {@code admin} role needs a token and a client certificate of the same identity
     * @param auditLog the append-only audit log (JSON lines, hash-chained); required once credentials are configured
     * @param maxBody the largest request body the admin API reads, in bytes; a larger one is answered 413
     */
    public record Admin(boolean enabled, String address, Optional<ListenerTls> tls, List<AdminToken> tokens, List<AdminClient> clients,
            boolean requireBoth, Optional<Path> auditLog, long maxBody) {
        public static final List<String> KEYS = List.of("enabled", "address", "tls", "tokens", "clients", "require-both", "audit-log",
                "max-body");
        /** The roles of the admin API, from the least to the most allowed. */
        public static final List<String> ROLES = List.of("viewer", "operator", "admin");
        public static final long DEFAULT_MAX_BODY = 1024 * 1024;
        public static final Admin DEFAULT = new Admin(true, "127.0.0.1:9901");

        public Admin {
            tokens = List.copyOf(tokens);
            clients = List.copyOf(clients);
        }

        /** An admin listener with no TLS and no credentials: health and metrics only, every {@code /api/v1/} call 401. */
        public Admin(boolean enabled, String address) {
            this(enabled, address, Optional.empty(), List.of(), List.of(), false, Optional.empty(), DEFAULT_MAX_BODY);
        }

        /** Whether any credential is configured; without one, the admin API answers 401 to everything. */
        public boolean hasCredentials() {
            return !tokens.isEmpty() || !clients.isEmpty();
        }
    }

    /**
     * One bearer token of the admin API.
     *
     * @param name the identity it authenticates, as the audit log names it
     * @param role {@code viewer}, {@code operator} or {@code admin}
     * @param hash {@code pbkdf2-sha256$ITERATIONS$SALT$HASH} (base64), as {@code merapi admin token} prints it
     */
    public record AdminToken(String name, String role, String hash) {
        public static final List<String> KEYS = List.of("name", "role", "hash");

        @Override
        public String toString() {
            return "AdminToken[name=" + name + ", role=" + role + ", hash=[redacted]]";
        }
    }

    /**
     * One client certificate of the admin API, matched by its subject or its fingerprint (one of the two).
     *
     * @param name the identity it authenticates
     * @param role {@code viewer}, {@code operator} or {@code admin}
     * @param subject the certificate's subject as RFC 2253 prints it, such as {@code CN=alice,O=ops}
     * @param sha256 the SHA-256 fingerprint of the certificate, lower-case hex (colons allowed in the file)
     */
    public record AdminClient(String name, String role, Optional<String> subject, Optional<String> sha256) {
        public static final List<String> KEYS = List.of("name", "role", "subject", "sha256");
    }

    /**
     * The access log: one flat JSON object per request, one a line.
     *
     * @param enabled whether it is written
     * @param output {@code stdout} or a file path
     * @param headers request headers whose values are logged
     * @param redactHeaders headers whose values are written as {@code [redacted]}, beside the ones always redacted
     * @param redactQuery query parameters whose values are redacted
     * @param buffer bytes of lines gathered before a write to the file; 0 writes each line as it comes
     * @param flushInterval with a buffer, the longest a line waits in it before it is written
     */
    public record AccessLog(boolean enabled, String output, List<String> headers, List<String> redactHeaders, List<String> redactQuery,
            long buffer, Duration flushInterval) {
        public static final List<String> KEYS = List.of("enabled", "output", "headers", "redact-headers", "redact-query", "buffer",
                "flush-interval");
        public static final List<String> DEFAULT_HEADERS = List.of("User-Agent", "Referer");
        public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);
        public static final AccessLog DEFAULT = new AccessLog(false, "stdout", DEFAULT_HEADERS, List.of(), List.of(), 0,
                DEFAULT_FLUSH_INTERVAL);

        public AccessLog {
            headers = List.copyOf(headers);
            redactHeaders = List.copyOf(redactHeaders);
            redactQuery = List.copyOf(redactQuery);
            java.util.Objects.requireNonNull(flushInterval, "flushInterval");
        }

        /** Whether lines are gathered in a buffer rather than written one at a time. */
        public boolean buffered() {
            return buffer > 0;
        }
    }

    /**
     * Prometheus metrics on the admin listener's {@code /metrics}.
     *
     * @param enabled whether they are collected
     */
    public record Metrics(boolean enabled) {
        public static final List<String> KEYS = List.of("enabled");
        public static final Metrics DEFAULT = new Metrics(true);
    }

    /**
     * The request id ({@code X-Request-Id}): the client's when valid, else a new one; always sent upstream and logged.
     *
     * @param respond whether it is also returned to the client
     */
    public record RequestId(boolean respond) {
        public static final List<String> KEYS = List.of("respond");
        public static final RequestId DEFAULT = new RequestId(true);
    }

    /**
     * Remote configuration: signed bundles fetched over verified HTTPS. A bundle is a whole configuration (YAML,
     * with a {@code version}) at {@code url}, with its detached Ed25519 signature (base64) at {@code url + ".sig"}.
     *
     * @param url where the bundle is fetched: {@code https://} only
     * @param publicKey the Ed25519 public key (PEM) a bundle's signature must verify with
     * @param interval time between two fetches, each within plus or minus 10% (jitter)
     * @param timeout the deadline of one fetch (connect and response)
     * @param maxBackoff the longest wait between fetches after errors (the wait doubles from {@code interval})
     * @param ca a CA bundle (PEM) trusted for the source's certificate instead of the JDK's trust store
     * @param clientCert a client certificate chain (PEM) shown to the source, with {@code clientKey}
     * @param clientKey the private key of {@code clientCert}
     * @param cacheDir where the last bundle taken and its signature are kept, for a start without the source
     * @param maxSize the largest bundle taken
     */
    public record Remote(java.net.URI url, Path publicKey, Duration interval, Duration timeout, Duration maxBackoff, Optional<Path> ca,
            Optional<Path> clientCert, Optional<Path> clientKey, Path cacheDir, long maxSize) {
        public static final List<String> KEYS = List.of("url", "public-key", "interval", "timeout", "max-backoff", "ca", "client-cert",
                "client-key", "cache-dir", "max-size");
        /** The default time between fetches. */
        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
        /** The default deadline of one fetch. */
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
        /** The default longest wait after errors. */
        public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(5);
        /** The default largest bundle. */
        public static final long DEFAULT_MAX_SIZE = 4L * 1024 * 1024;
    }
}

package dev.merapi.gateway.config;

import dev.merapi.gateway.config.Binder.Section;
import dev.merapi.gateway.config.GatewayConfig.AccessLog;
import dev.merapi.gateway.config.GatewayConfig.Action;
import dev.merapi.gateway.config.GatewayConfig.Admin;
import dev.merapi.gateway.config.GatewayConfig.BackendSpec;
import dev.merapi.gateway.config.GatewayConfig.Cors;
import dev.merapi.gateway.config.GatewayConfig.DnsSpec;
import dev.merapi.gateway.config.GatewayConfig.Filters;
import dev.merapi.gateway.config.GatewayConfig.HeaderEdits;
import dev.merapi.gateway.config.GatewayConfig.HealthCheckSpec;
import dev.merapi.gateway.config.GatewayConfig.Listener;
import dev.merapi.gateway.config.GatewayConfig.ListenerTls;
import dev.merapi.gateway.config.GatewayConfig.Match;
import dev.merapi.gateway.config.GatewayConfig.Metrics;
import dev.merapi.gateway.config.GatewayConfig.PathMatch;
import dev.merapi.gateway.config.GatewayConfig.RequestId;
import dev.merapi.gateway.config.GatewayConfig.Rewrite;
import dev.merapi.gateway.config.GatewayConfig.Route;
import dev.merapi.gateway.config.GatewayConfig.Server;
import dev.merapi.gateway.config.GatewayConfig.UpstreamGroup;
import dev.merapi.gateway.config.GatewayConfig.UpstreamTlsSpec;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.http.Http1Limits;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.proxy.ConnectTarget;
import dev.merapi.proxy.TunnelOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.jspecify.annotations.Nullable;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * Reads a gateway configuration from YAML and validates it whole: every problem is reported at once as
 * {@code FILE:LINE:COL: key.path: message} (unknown keys with a "did you mean", wrong types, out-of-range values,
 * duplicate names, routes to missing upstream groups, conflicting listeners, unreadable files). Stateless and
 * thread-safe; reading may resolve host names, so call it off the event loops.
 */
public final class ConfigLoader {
    /** The name that errors give to the embedded default. */
    public static final String BUILT_IN = "<built-in>";
    private static final List<String> PROTOCOLS = List.of("h1", "h2", "h2c");
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT");
    private static final Duration MAX_TIMEOUT = Duration.ofHours(24);
    private static final Duration MIN_TIMEOUT = Duration.ofMillis(1);

    private final Function<String, String> env;

    private ConfigLoader(Function<String, String> env) {
        this.env = env;
    }

    /** A loader that resolves {@code ${env:NAME}} from the process environment. */
    public static ConfigLoader of() {
        return new ConfigLoader(System::getenv);
    }

    /** A loader that resolves {@code ${env:NAME}} through {@code env} (null for unset). */
    public static ConfigLoader withEnvironment(Function<String, String> env) {
        return new ConfigLoader(env);
    }

    /** The embedded default: the text {@code merapi config example} prints. */
    public static String exampleText() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream("example.yaml")) {
            if (in == null) {
                throw new IllegalStateException("example.yaml is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the built-in example.yaml", e);
        }
    }

    /**
     * Reads and validates a file.
     *
     * @throws ConfigException with every problem found, including an unreadable file
     */
    public GatewayConfig load(Path file) {
        return parse(read(file), file.toString(), baseDir(file));
    }

    /**
     * The text of a configuration file.
     *
     * @throws ConfigException if it cannot be read
     */
    public static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException(List.of(new ConfigError(file.toString(), 0, 0, "", "cannot read the file ("
                    + e.getClass().getSimpleName() + ")")));
        }
    }

    /** Where the relative {@code ${file:...}} paths of a configuration file start: its directory. */
    public static Path baseDir(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        return dir == null ? Path.of(".") : dir;
    }

    /**
     * Reads and validates YAML text.
     *
     * @param name the file name errors give
     * @param baseDir where relative {@code ${file:...}} paths start
     * @throws ConfigException with every problem found
     */
    public GatewayConfig parse(String text, String name, Path baseDir) {
        Binder b = new Binder(name, baseDir, env);
        Node root;
        try {
            LoadSettings settings = LoadSettings.builder().setLabel(name).setMaxAliasesForCollections(20)
                    .setCodePointLimit(4 * 1024 * 1024).build();
            Optional<Node> composed = new Compose(settings).composeString(text);
            if (composed.isEmpty()) {
                throw new ConfigException(List.of(new ConfigError(name, 1, 1, "", "the file is empty; at least one listener and one route are needed")));
            }
            root = composed.get();
        } catch (MarkedYamlEngineException e) {
            Optional<Mark> m = e.getProblemMark();
            throw new ConfigException(List.of(new ConfigError(name, m.map(x -> x.getLine() + 1).orElse(0),
                    m.map(x -> x.getColumn() + 1).orElse(0), "", "invalid YAML: " + e.getProblem())));
        } catch (YamlEngineException e) {
            throw new ConfigException(List.of(new ConfigError(name, 0, 0, "", "invalid YAML: " + e.getMessage())));
        }
        GatewayConfig config = bind(b, root, name);
        if (!b.errors().isEmpty() || config == null) {
            List<ConfigError> errors = new ArrayList<>(b.errors());
            errors.sort(null);
            throw new ConfigException(errors);
        }
        return config;
    }

    private @Nullable GatewayConfig bind(Binder b, Node root, String name) {
        Optional<Section> top = b.section(root, "", GatewayConfig.KEYS);
        if (top.isEmpty()) {
            return null;
        }
        Section s = top.get();
        Server server = s.get("server").flatMap(n -> b.section(n, "server", Server.KEYS)).map(ConfigLoader::server).orElse(Server.DEFAULT);
        List<Listener> listeners = s.required("listeners").map(n -> b.list(n, "listeners", (item, p) -> b.section(item, p, Listener.KEYS)
                .flatMap(ConfigLoader::listener))).orElse(List.of());
        List<UpstreamGroup> upstreams = s.get("upstreams").map(n -> b.list(n, "upstreams", (item, p) -> b.section(item, p, UpstreamGroup.KEYS)
                .flatMap(ConfigLoader::upstream))).orElse(List.of());
        List<Route> routes = s.required("routes").map(n -> b.list(n, "routes", (item, p) -> b.section(item, p, Route.KEYS)
                .flatMap(ConfigLoader::route))).orElse(List.of());
        Admin admin = s.get("admin").flatMap(n -> b.section(n, "admin", Admin.KEYS))
                .map(AdminSection::read).orElse(Admin.DEFAULT);
        AccessLog log = s.get("access-log").flatMap(n -> b.section(n, "access-log", AccessLog.KEYS))
                .map(ConfigLoader::accessLog).orElse(AccessLog.DEFAULT);
        Metrics metrics = s.get("metrics").flatMap(n -> b.section(n, "metrics", Metrics.KEYS))
                .map(m -> new Metrics(m.bool("enabled", true))).orElse(Metrics.DEFAULT);
        RequestId requestId = s.get("request-id").flatMap(n -> b.section(n, "request-id", RequestId.KEYS))
                .map(r -> new RequestId(r.bool("respond", true))).orElse(RequestId.DEFAULT);
        long version = s.get("version").map(n -> RemoteSection.version(b, n)).orElse(0L);
        Optional<GatewayConfig.Remote> remote = s.get("remote").flatMap(n -> b.section(n, "remote", GatewayConfig.Remote.KEYS))
                .flatMap(RemoteSection::remote);
        crossCheck(b, s, listeners, upstreams, routes, admin);
        return new GatewayConfig(name, server, listeners, upstreams, routes, admin, log, metrics, requestId, version, remote);
    }

    /** Names unique, references resolved, addresses not shared. */
    private static void crossCheck(Binder b, Section top, List<Listener> listeners, List<UpstreamGroup> upstreams, List<Route> routes, Admin admin) {
        top.get("listeners").ifPresent(n -> {
            if (listeners.isEmpty() && b.errors().isEmpty()) {
                b.error(n, "listeners", "at least one listener is needed");
            }
        });
        unique(b, top, "listeners", listeners.stream().map(Listener::name).toList());
        unique(b, top, "upstreams", upstreams.stream().map(UpstreamGroup::name).toList());
        unique(b, top, "routes", routes.stream().map(Route::name).toList());
        Map<String, String> byAddress = new HashMap<>();
        for (int i = 0; i < listeners.size(); i++) {
            Listener l = listeners.get(i);
            String previous = byAddress.putIfAbsent(l.address(), l.name());
            if (previous != null && !l.address().endsWith(":0")) {
                b.error(nodeOf(top, "listeners", i, "address"), "listeners[" + i + "].address", "listener '" + l.name()
                        + "' conflicts with listener '" + previous + "': both listen on " + l.address());
            }
        }
        if (admin.enabled() && byAddress.containsKey(admin.address()) && !admin.address().endsWith(":0")) {
            b.error(top.get("admin").orElse(top.node()), "admin.address", "the admin listener conflicts with listener '"
                    + byAddress.get(admin.address()) + "': both listen on " + admin.address());
        }
        Set<String> groups = new LinkedHashSet<>(upstreams.stream().map(UpstreamGroup::name).toList());
        for (int i = 0; i < routes.size(); i++) {
            if (routes.get(i).action() instanceof Action.Proxy p && !groups.contains(p.upstream())) {
                b.error(nodeOf(top, "routes", i, "upstream"), "routes[" + i + "].upstream", "no upstream group is named '" + p.upstream()
                        + "'" + Names.suggestion(p.upstream(), groups).map(x -> "; did you mean '" + x + "'?")
                        .orElse(groups.isEmpty() ? "; define it under upstreams" : "; known groups: " + String.join(", ", groups)));
            }
        }
    }

    private static void unique(Binder b, Section top, String list, List<String> names) {
        Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            if (!seen.add(names.get(i))) {
                b.error(nodeOf(top, list, i, "name"), list + "[" + i + "].name", "the name '" + names.get(i) + "' is used twice in " + list);
            }
        }
    }

    /** The node of {@code list[i].key}, for the position of a cross-check error (the list's if not found). */
    private static Node nodeOf(Section top, String list, int i, String key) {
        Node listNode = top.get(list).orElse(top.node());
        if (listNode instanceof org.snakeyaml.engine.v2.nodes.SequenceNode seq && i < seq.getValue().size()
                && seq.getValue().get(i) instanceof org.snakeyaml.engine.v2.nodes.MappingNode m) {
            for (var t : m.getValue()) {
                if (t.getKeyNode() instanceof org.snakeyaml.engine.v2.nodes.ScalarNode k && k.getValue().equals(key)) {
                    return t.getValueNode();
                }
            }
            return m;
        }
        return listNode;
    }

    /** The access-log section: a buffer only for a file (standard output gets each line at once), a flush interval only with it. */
    private static AccessLog accessLog(Section a) {
        String output = a.string("output").orElse("stdout");
        long buffer = a.size("buffer", 1024, 64L * 1024 * 1024).orElse(0L);
        Duration flush = a.duration("flush-interval", Duration.ofMillis(10), Duration.ofMinutes(1), AccessLog.DEFAULT_FLUSH_INTERVAL);
        if (buffer > 0 && output.equals("stdout")) {
            a.binder().error(a.get("buffer").orElseThrow(), a.at("buffer"),
                    "a buffer needs a file 'output': standard output gets each line as it is written");
        }
        if (buffer == 0 && a.get("flush-interval").isPresent()) {
            a.binder().error(a.get("flush-interval").orElseThrow(), a.at("flush-interval"), "'flush-interval' needs a 'buffer'");
        }
        return new AccessLog(a.bool("enabled", true), output,
                a.get("headers").isPresent() ? a.strings("headers") : AccessLog.DEFAULT_HEADERS, a.strings("redact-headers"),
                a.strings("redact-query"), buffer, flush);
    }

    private static Server server(Section s) {
        Optional<Integer> threads = s.get("threads").flatMap(n -> s.binder().integer(n, s.at("threads"), 1, 1024));
        return new Server(threads, s.duration("grace-period", Duration.ZERO, Duration.ofHours(1), Server.DEFAULT.gracePeriod()));
    }

    private static Optional<Listener> listener(Section s) {
        Optional<String> name = s.requiredString("name");
        Optional<String> address = s.requiredString("address").filter(a -> checkAddress(s, "address", a));
        Optional<ListenerTls> tls = s.get("tls").flatMap(n -> s.binder().section(n, s.at("tls"), ListenerTls.KEYS)).flatMap(TlsSections::listener);
        List<String> protocols = s.get("protocols").map(n -> {
            List<String> out = new ArrayList<>();
            List<String> given = s.binder().strings(n, s.at("protocols"));
            for (String p : given) {
                if (!PROTOCOLS.contains(p)) {
                    s.binder().error(n, s.at("protocols"), "unknown protocol '" + p + "'; expected h1, h2 or h2c");
                } else if (!p.equals("h1")) {
                    s.binder().error(n, s.at("protocols"), "protocol '" + p + "' is not listed here: protocols is h1, and HTTP/2 is"
                            + " set with http2: true or false (on by default: h2c on a plain listener, h2 by ALPN with tls)");
                } else {
                    out.add(p);
                }
            }
            return out;
        }).orElse(List.of("h1"));
        int max = s.integer("max-connections", 1, 10_000_000, dev.merapi.core.listeners.ListenerConfig.DEFAULT_MAX_CONNECTIONS);
        int perIp = s.integer("max-connections-per-ip", 0, 10_000_000, 0);
        Http1Options d = Http1Options.DEFAULT;
        Http1Limits l = d.limits();
        Http1Limits limits = new Http1Limits(
                (int) s.size("max-request-line", 256, 1024 * 1024).orElse((long) l.maxRequestLine()).longValue(),
                (int) s.size("max-header-size", 1024, 1024 * 1024).orElse((long) l.maxHeaderBytes()).longValue(),
                s.integer("max-headers", 8, 10_000, l.maxHeaderCount()), l.maxChunkLine(), l.maxTrailerBytes());
        Http1Options http1 = d.toBuilder().limits(limits)
                .firstByteTimeout(s.duration("first-byte-timeout", MIN_TIMEOUT, MAX_TIMEOUT, d.firstByteTimeout()))
                .headerReadTimeout(s.duration("header-timeout", MIN_TIMEOUT, MAX_TIMEOUT, d.headerReadTimeout()))
                .keepAliveTimeout(s.duration("keep-alive-timeout", MIN_TIMEOUT, MAX_TIMEOUT, d.keepAliveTimeout()))
                .bodyReadTimeout(s.duration("body-timeout", MIN_TIMEOUT, MAX_TIMEOUT, d.bodyReadTimeout()))
                .writeTimeout(s.duration("write-timeout", MIN_TIMEOUT, MAX_TIMEOUT, d.writeTimeout()))
                .maxRequestsPerConnection(s.integer("max-requests-per-connection", 1, 10_000_000, d.maxRequestsPerConnection()))
                .build();
        TunnelOptions tunnels = tunnels(s);
        if (!tunnels.connectAllow().isEmpty()) {
            http1 = http1.toBuilder().allowConnect(true).build();
        }
        boolean http2 = s.bool("http2", true);
        if (!http2 && tls.isPresent() && !tls.get().alpn().equals("h1") && s.get("tls").filter(n -> hasKey(n, "alpn")).isPresent()) {
            s.binder().error(s.keyNode("http2"), s.at("http2"), "http2 is false but tls.alpn offers " + tls.get().alpn()
                    + "; remove tls.alpn or set it to h1");
        }
        if (name.isEmpty() || address.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Listener(name.get(), address.get(), protocols.isEmpty() ? List.of("h1") : protocols, tls, max, perIp, http1,
                http2, tunnels));
    }

    /**
     * A listener's {@code connect.allow} (each entry read as {@code merapi proxy --connect-allow} reads it, by
     * {@link ConnectTarget#of}) and {@code tunnel-idle-timeout}.
     */
    private static TunnelOptions tunnels(Section s) {
        TunnelOptions d = TunnelOptions.DEFAULT;
        List<ConnectTarget> allow = new ArrayList<>();
        s.get("connect").flatMap(n -> s.binder().section(n, s.at("connect"), Listener.CONNECT_KEYS)).ifPresent(c -> c.required("allow")
                .ifPresent(n -> {
                    List<Node> items = n instanceof ScalarNode ? List.of(n) : c.binder().items(n, c.at("allow"));
                    if (items.isEmpty() && n instanceof SequenceNode) {
                        c.binder().error(n, c.at("allow"), "name at least one HOST:PORT target, or remove connect to answer CONNECT with 405");
                    }
                    for (int i = 0; i < items.size(); i++) {
                        String at = c.at("allow") + "[" + i + "]";
                        Node item = items.get(i);
                        c.binder().string(item, at).ifPresent(spec -> {
                            try {
                                allow.add(ConnectTarget.of(spec.strip()));
                            } catch (IllegalArgumentException e) {
                                c.binder().error(item, at, String.valueOf(e.getMessage()));
                            }
                        });
                    }
                }));
        Duration idle = s.duration("tunnel-idle-timeout", MIN_TIMEOUT, MAX_TIMEOUT, d.idleTimeout());
        return d.toBuilder().connectAllow(allow).idleTimeout(idle).build();
    }

    /** Whether {@code node} is a mapping with the key {@code key}. */
    private static boolean hasKey(Node node, String key) {
        return node instanceof org.snakeyaml.engine.v2.nodes.MappingNode m && m.getValue().stream()
                .anyMatch(t -> t.getKeyNode() instanceof org.snakeyaml.engine.v2.nodes.ScalarNode k && k.getValue().equals(key));
    }

    private static boolean checkAddress(Section s, String key, String address) {
        try {
            dev.merapi.core.listeners.ListenerConfig.tcp(address);
            return true;
        } catch (IllegalArgumentException e) {
            s.binder().error(s.get(key).orElseThrow(), s.at(key), "expected host:port such as 127.0.0.1:8080 or [::]:8080; got '" + address + "'");
            return false;
        }
    }

    private static Optional<UpstreamGroup> upstream(Section s) {
        Binder b = s.binder();
        Optional<String> name = s.requiredString("name");
        String algorithm = s.choice("algorithm", UpstreamGroup.ALGORITHMS, "round-robin");
        String keySpec = s.string("hash-key").orElse("uri");
        if (!List.of("uri", "client-ip").contains(keySpec) && !(keySpec.startsWith("header:") && keySpec.length() > 7)) {
            b.error(s.get("hash-key").orElseThrow(), s.at("hash-key"), "expected uri, client-ip or header:NAME; got '" + keySpec + "'");
        }
        Optional<UpstreamTlsSpec> tls = s.get("tls").flatMap(n -> b.section(n, s.at("tls"), UpstreamTlsSpec.KEYS)).flatMap(TlsSections::upstream);
        Optional<DnsSpec> dns = s.get("dns").flatMap(n -> b.section(n, s.at("dns"), DnsSpec.KEYS)).flatMap(ConfigLoader::dns);
        if (s.get("dns").isPresent() && s.get("backends").isPresent()) {
            b.error(s.keyNode("dns"), s.at("dns"), "give either backends or dns, not both");
        }
        List<BackendSpec> backends = (s.get("dns").isPresent() ? s.get("backends") : s.required("backends"))
                .map(n -> b.list(n, s.at("backends"), (item, p) -> backend(b, item, p))).orElse(List.of());
        s.get("backends").ifPresent(n -> {
            if (backends.isEmpty() && n instanceof SequenceNode seq && seq.getValue().isEmpty()) {
                b.error(n, s.at("backends"), "at least one backend is needed");
            }
            Set<String> seen = new java.util.HashSet<>();
            for (BackendSpec be : backends) {
                if (!seen.add(be.address())) {
                    b.error(n, s.at("backends"), "backend " + be.address() + " is listed twice");
                }
            }
        });
        Optional<HealthCheckSpec> health = s.get("health-check").flatMap(n -> b.section(n, s.at("health-check"), HealthCheckSpec.KEYS))
                .flatMap(h -> {
                    Optional<String> path = h.requiredString("path");
                    path.filter(p -> !p.startsWith("/")).ifPresent(p -> b.error(h.get("path").orElseThrow(), h.at("path"), "must start with /"));
                    Duration interval = h.duration("interval", Duration.ofMillis(100), Duration.ofHours(1), Duration.ofSeconds(5));
                    Duration timeout = h.duration("timeout", Duration.ofMillis(10), Duration.ofMinutes(1), Duration.ofSeconds(1));
                    return path.map(p -> new HealthCheckSpec(p, interval, timeout, h.integer("rise", 1, 100, 2), h.integer("fall", 1, 100, 3)));
                });
        if (s.get("tls").isPresent() && backends.stream().anyMatch(BackendSpec::isDemoOrigin)) {
            b.error(s.keyNode("tls"), s.at("tls"), "the built-in demo-origin backend speaks plain HTTP; remove tls or the demo-origin backend");
        }
        if (health.isPresent() && backends.stream().anyMatch(BackendSpec::isDemoOrigin)) {
            b.error(s.keyNode("health-check"), s.at("health-check"), "a group with the built-in demo-origin backend takes no health check");
        }
        Duration connect = s.duration("connect-timeout", MIN_TIMEOUT, MAX_TIMEOUT, Duration.ofSeconds(5));
        Duration read = s.duration("read-timeout", MIN_TIMEOUT, MAX_TIMEOUT, Duration.ofSeconds(60));
        Duration write = s.duration("write-timeout", MIN_TIMEOUT, MAX_TIMEOUT, Duration.ofSeconds(60));
        Duration idle = s.duration("idle-timeout", MIN_TIMEOUT, MAX_TIMEOUT, Duration.ofSeconds(60));
        int retries = s.integer("retries", 0, dev.merapi.proxy.ProxyOptions.MAX_RETRIES, 1);
        UpstreamProtocol protocol = UpstreamProtocol.parse(s.choice("protocol", UpstreamGroup.PROTOCOLS, UpstreamProtocol.HTTP1.flag()));
        int maxStreams = s.integer("max-streams-per-connection", 1, PeerOptions.MAX_STREAMS_PER_CONNECTION,
                PeerOptions.DEFAULT.maxStreamsPerConnection());
        return name.map(n -> new UpstreamGroup(n, algorithm, keySpec, backends, dns, health, tls, connect, read, write, idle, retries,
                protocol, maxStreams));
    }

    /** A route's {@code cors} section. */
    private static Optional<Cors> cors(Section s) {
        Binder b = s.binder();
        boolean ok = true;
        List<String> origins = s.required("allow-origins").map(n -> b.strings(n, s.at("allow-origins"))).orElse(List.of());
        for (String o : origins) {
            if (!o.equals("*") && !o.matches("(?i)https?://[a-z0-9.\\-\\[\\]:]+")) {
                b.error(s.get("allow-origins").orElseThrow(), s.at("allow-origins"),
                        "an origin is scheme://host[:port] with no path, such as https://app.example.com, or *; got '" + o + "'");
                ok = false;
            }
        }
        List<String> methods = s.get("allow-methods").isPresent() ? s.strings("allow-methods") : Cors.DEFAULT_METHODS;
        for (String m : methods) {
            if (!METHODS.contains(m)) {
                b.error(s.get("allow-methods").orElseThrow(), s.at("allow-methods"), "unknown method '" + m + "'");
                ok = false;
            }
        }
        List<String> headers = s.strings("allow-headers");
        List<String> expose = s.strings("expose-headers");
        for (String h : java.util.stream.Stream.concat(headers.stream(), expose.stream()).toList()) {
            if (!h.equals("*") && !dev.merapi.http.Tokens.isToken(h)) {
                b.error(s.node(), s.path(), "not a header name: '" + h + "'");
                ok = false;
            }
        }
        boolean credentials = s.bool("allow-credentials", false);
        if (credentials && origins.contains("*")) {
            b.error(s.keyNode("allow-credentials"), s.at("allow-credentials"),
                    "credentials cannot be allowed for any origin (*): list the origins");
            ok = false;
        }
        Duration maxAge = s.duration("max-age", Duration.ZERO, Duration.ofDays(1), Duration.ofMinutes(10));
        return ok ? Optional.of(new Cors(origins, methods, headers, expose, credentials, maxAge)) : Optional.empty();
    }

    /** A {@code dns} section: {@code name} with {@code port}, or {@code srv}. */
    private static Optional<DnsSpec> dns(Section s) {
        Binder b = s.binder();
        Optional<String> name = s.string("name");
        Optional<String> srv = s.string("srv");
        int port = s.integer("port", 1, 65535, 0);
        boolean ok = true;
        if (name.isPresent() == srv.isPresent()) {
            b.error(s.node(), s.path(), "give either name (with port) or srv");
            ok = false;
        } else if (name.isPresent() && port == 0) {
            b.error(s.node(), s.at("port"), "'port' is required with name");
            ok = false;
        } else if (srv.isPresent() && s.get("port").isPresent()) {
            b.error(s.keyNode("port"), s.at("port"), "SRV records give the ports; remove 'port'");
            ok = false;
        }
        for (String host : name.map(List::of).orElse(srv.map(List::of).orElse(List.of()))) {
            if (host.startsWith("*") || !validHost(host.toLowerCase(Locale.ROOT).replace("_", ""))) {
                b.error(s.get(name.isPresent() ? "name" : "srv").orElseThrow(), s.at(name.isPresent() ? "name" : "srv"),
                        "not a DNS name: '" + host + "'");
                ok = false;
            }
        }
        List<String> servers = s.strings("name-servers");
        for (String server : servers) {
            try {
                Backend.of(server);
            } catch (IllegalArgumentException e) {
                b.error(s.get("name-servers").orElseThrow(), s.at("name-servers"), "expected host:port such as 10.0.0.2:53; got '" + server + "'");
                ok = false;
            }
        }
        Duration refresh = s.duration("refresh", Duration.ofSeconds(1), Duration.ofDays(1), Duration.ofSeconds(30));
        Duration timeout = s.duration("timeout", Duration.ofMillis(10), Duration.ofMinutes(1), Duration.ofSeconds(2));
        return ok ? Optional.of(new DnsSpec(name, port, srv, servers, refresh, timeout)) : Optional.empty();
    }

    /** A backend: {@code host:port}, or a mapping of address and weight. */
    private static Optional<BackendSpec> backend(Binder b, Node node, String path) {
        Optional<String> address;
        int weight = 1;
        Node at = node;
        if (node instanceof org.snakeyaml.engine.v2.nodes.ScalarNode) {
            address = b.string(node, path);
        } else {
            Optional<Section> s = b.section(node, path, BackendSpec.KEYS);
            if (s.isEmpty()) {
                return Optional.empty();
            }
            address = s.get().requiredString("address");
            at = s.get().get("address").orElse(node);
            weight = s.get().integer("weight", 1, Backend.MAX_WEIGHT, 1);
        }
        if (address.isEmpty()) {
            return Optional.empty();
        }
        if (address.get().equals(BackendSpec.DEMO_ORIGIN)) {
            return Optional.of(new BackendSpec(address.get(), weight));
        }
        try {
            Backend.of(address.get());
        } catch (IllegalArgumentException e) {
            b.error(at, path, "expected host:port such as 10.0.0.1:80, or demo-origin; got '" + address.get() + "'");
            return Optional.empty();
        }
        return Optional.of(new BackendSpec(address.get(), weight));
    }

    private static Optional<Route> route(Section s) {
        Binder b = s.binder();
        Optional<String> name = s.requiredString("name");
        Match match = s.get("match").flatMap(n -> b.section(n, s.at("match"), Match.KEYS)).map(ConfigLoader::match)
                .orElse(new Match(Optional.empty(), new PathMatch.Any(), Set.of(), Map.of(), Map.of()));
        List<String> actions = List.of("upstream", "redirect", "respond").stream().filter(k -> s.get(k).isPresent()).toList();
        Optional<Action> action = Optional.empty();
        if (actions.size() != 1) {
            b.error(actions.isEmpty() ? s.node() : s.keyNode(actions.get(1)), s.path(), actions.isEmpty()
                    ? "a route needs one action: upstream, redirect or respond"
                    : "a route has one action; it has " + String.join(" and ", actions));
        } else {
            action = switch (actions.getFirst()) {
                case "upstream" -> s.string("upstream").map(Action.Proxy::new);
                case "redirect" -> b.section(s.get("redirect").orElseThrow(), s.at("redirect"), Action.Redirect.KEYS).flatMap(r -> {
                    int status = r.integer("status", 300, 399, 302);
                    return r.requiredString("location").map(l -> new Action.Redirect(l, status));
                });
                default -> b.section(s.get("respond").orElseThrow(), s.at("respond"), Action.Respond.KEYS).map(r ->
                        new Action.Respond(r.integer("status", 200, 599, 200), r.string("body").orElse(""),
                                r.string("content-type").orElse("text/plain; charset=utf-8")));
            };
        }
        HeaderEdits req = s.get("request-headers").flatMap(n -> b.section(n, s.at("request-headers"), HeaderEdits.KEYS))
                .map(ConfigLoader::edits).orElse(HeaderEdits.NONE);
        HeaderEdits resp = s.get("response-headers").flatMap(n -> b.section(n, s.at("response-headers"), HeaderEdits.KEYS))
                .map(ConfigLoader::edits).orElse(HeaderEdits.NONE);
        Optional<String> strip = s.string("strip-prefix");
        strip.filter(p -> !p.startsWith("/")).ifPresent(p -> b.error(s.get("strip-prefix").orElseThrow(), s.at("strip-prefix"), "must start with /"));
        Optional<Rewrite> rewrite = s.get("rewrite").flatMap(n -> b.section(n, s.at("rewrite"), Rewrite.KEYS)).flatMap(r -> {
            Optional<Pattern> p = regex(r, "pattern");
            Optional<String> replacement = r.requiredString("replacement");
            return p.flatMap(x -> replacement.map(y -> new Rewrite(x, y)));
        });
        OptionalLong maxBody = s.size("max-request-body", 0, Long.MAX_VALUE).map(OptionalLong::of).orElse(OptionalLong.empty());
        Optional<Duration> timeout = s.optionalDuration("timeout", MIN_TIMEOUT, MAX_TIMEOUT);
        Optional<Cors> cors = s.get("cors").flatMap(n -> b.section(n, s.at("cors"), Cors.KEYS)).flatMap(ConfigLoader::cors);
        Filters filters = new Filters(req, resp, strip, rewrite, maxBody, timeout, cors);
        if (name.isEmpty() || action.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Route(name.get(), match, action.get(), filters));
    }

    private static Match match(Section m) {
        Binder b = m.binder();
        Optional<String> host = m.string("host").map(h -> h.toLowerCase(Locale.ROOT));
        host.filter(h -> !validHost(h)).ifPresent(h -> b.error(m.get("host").orElseThrow(), m.at("host"),
                "expected a host name such as api.example.com or *.example.com; got '" + h + "'"));
        List<String> paths = List.of("path", "path-prefix", "path-regex").stream().filter(k -> m.get(k).isPresent()).toList();
        PathMatch path = new PathMatch.Any();
        if (paths.size() > 1) {
            b.error(m.keyNode(paths.get(1)), m.path(), "give one of path, path-prefix and path-regex; it has " + String.join(" and ", paths));
        } else if (paths.size() == 1) {
            String key = paths.getFirst();
            if (key.equals("path-regex")) {
                path = regex(m, key).<PathMatch>map(PathMatch.Regex::new).orElse(path);
            } else {
                Optional<String> p = m.string(key);
                if (p.isPresent() && (!p.get().startsWith("/") || !p.get().equals(PathNormalizer.normalize(p.get())))) {
                    b.error(m.get(key).orElseThrow(), m.at(key), "must be a normalised path starting with / (no . or .. segments, no //); got '" + p.get() + "'");
                } else if (p.isPresent()) {
                    path = key.equals("path") ? new PathMatch.Exact(p.get()) : new PathMatch.Prefix(p.get());
                }
            }
        }
        Set<String> methods = new LinkedHashSet<>();
        for (String method : m.strings("methods")) {
            String upper = method.toUpperCase(Locale.ROOT);
            if (METHODS.contains(upper)) {
                methods.add(upper);
            } else {
                b.error(m.get("methods").orElseThrow(), m.at("methods"), "unknown method '" + method + "'");
            }
        }
        Map<String, String> headers = new HashMap<>();
        m.stringMap("headers").forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v));
        return new Match(host, path, methods, headers, m.stringMap("query"));
    }

    /** A host name of letters, digits and inner hyphens per label, with an optional leading {@code *.}. */
    static boolean validHost(String host) {
        String h = host.startsWith("*.") ? host.substring(2) : host;
        if (h.isEmpty() || h.length() > 253) {
            return false;
        }
        for (String label : h.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")
                    || !label.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private static Optional<Pattern> regex(Section s, String key) {
        return (key.equals("pattern") ? s.requiredString(key) : s.string(key)).flatMap(r -> {
            try {
                return Optional.of(Pattern.compile(r));
            } catch (PatternSyntaxException e) {
                s.binder().error(s.get(key).orElseThrow(), s.at(key), "invalid regular expression: " + e.getDescription());
                return Optional.empty();
            }
        });
    }

    private static HeaderEdits edits(Section s) {
        HeaderEdits e = new HeaderEdits(checked(s, "add"), checked(s, "set"), s.strings("remove"));
        for (String name : e.remove()) {
            checkField(s, "remove", name, "x");
        }
        return e;
    }

    /** A mapping of header names to values, each a valid field, so that no request fails on it later. */
    private static Map<String, String> checked(Section s, String key) {
        Map<String, String> m = s.stringMap(key);
        m.forEach((name, value) -> checkField(s, key, name, value));
        return m;
    }

    private static void checkField(Section s, String key, String name, String value) {
        try {
            new dev.merapi.http.Headers(1).add(name, value);
        } catch (dev.merapi.error.ProxyError e) {
            // the message names the rule, never the value, which may come from a secret
            s.binder().error(s.get(key).orElseThrow(), s.at(key) + "." + name, "not a valid header: the name must be a token and the value"
                    + " must hold no control character, no character above U+00FF and no space at either end");
        }
    }
}

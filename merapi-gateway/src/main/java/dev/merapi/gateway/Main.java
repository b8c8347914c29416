package dev.merapi.gateway;

import dev.merapi.core.SystemSettings;
import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.proxy.ForwardedHeaders;
import dev.merapi.proxy.ConnectTarget;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.health.HealthCheck;
import dev.merapi.loadbalancing.health.HttpProbe;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyOptions;
import dev.merapi.proxy.TunnelOptions;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.GatewayConfig;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import org.jspecify.annotations.Nullable;

/** The {@code merapi} command line. */
@Command(name = "merapi", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {
            "Merapi: a fast, secure, programmable HTTP proxy.",
            "",
            "With no command, runs the embedded default: a proxy on 127.0.0.1:8080 in front of a built-in demo origin,",
            "and the admin listener on 127.0.0.1:9901; its configuration is the one 'merapi config example' prints.",
        },
        subcommands = {Main.ProxyCommand.class, RunCommand.class, CheckCommand.class, ConfigCommand.class, AdminCommand.class, AuditCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
    static final String VERSION = versionOf();

    @Spec
    CommandSpec spec; // its out and err writers: System.out/err unless the caller set others

    @Option(names = "--listen", defaultValue = "127.0.0.1:8080", paramLabel = "ADDR", description = "Where the demo proxy listens (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--admin", defaultValue = "127.0.0.1:9901", paramLabel = "ADDR",
            description = "Where the demo's admin listener (/livez, /readyz, /metrics) listens (default: ${DEFAULT-VALUE}).")
    String admin;

    @Option(names = "--threads", description = "Event loops (default: the number of cores).")
    Integer threads;

    @Option(names = "--transport", description = "epoll (default), io_uring or nio.")
    String transport;

    @Option(names = "--grace-period", defaultValue = "30s", description = "How long SIGTERM lets requests finish (default: ${DEFAULT-VALUE}).")
    String gracePeriod;

    /** Runs the command line; exits with its status. */
    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }

    /**
     * The command line of every Merapi command. Before any command runs (help and version aside), the
     * {@code -Dmerapi.*} system properties are read once ({@link SystemSettings#current()}): a bad value is a usage
     * error, exit code 2, one line naming the command and the property.
     */
    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setExecutionStrategy(Main::runWithSettingsChecked);
        return commandLine;
    }

    private static int runWithSettingsChecked(ParseResult parsed) {
        ParseResult last = parsed;
        while (last.hasSubcommand()) {
            last = last.subcommand();
        }
        if (!last.isUsageHelpRequested() && !last.isVersionHelpRequested()) {
            try {
                SystemSettings.current();
            } catch (IllegalArgumentException e) {
                last.commandSpec().commandLine().getErr().println(last.commandSpec().qualifiedName() + ": " + e.getMessage());
                return 2;
            }
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /**
     * Runs the embedded default: the built-in configuration ({@code merapi config example}) with the command line's
     * listen, admin, threads, transport and grace-period in place of the file's.
     */
    @Override
    public Integer call() {
        Gateway gateway;
        try {
            GatewayConfig config = embeddedDefault(listen, admin, threads, gracePeriod);
            gateway = Gateway.of(config, transport == null ? Optional.empty() : Optional.of(Transport.parse(transport)));
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("merapi: " + e.getMessage());
            return 2;
        }
        return RunCommand.serve(gateway, spec, "merapi", out -> {
            String proxyAt = ListenerConfig.describe(gateway.boundAddresses().getFirst());
            out.println("Merapi " + VERSION + " is running its embedded default (merapi config example prints it):");
            out.println("  listening on http://" + proxyAt + " (proxy)  ->  http://"
                    + gateway.demoOriginBound().map(ListenerConfig::describe).orElse("?") + " (built-in demo origin)");
            gateway.adminAddress().ifPresent(a -> out.println("  admin on http://" + ListenerConfig.describe(a) + " (/livez, /readyz, /metrics)"));
            out.println("Try it:  curl -i http://" + proxyAt + "/");
            out.println("Stop with Ctrl-C, or SIGTERM for a graceful stop.");
        });
    }

    /**
     * The built-in configuration with the first listener on {@code listen} and the admin listener on {@code admin}.
     *
     * @throws IllegalArgumentException if an address, the thread count or the grace period is invalid
     */
    static GatewayConfig embeddedDefault(String listen, String admin, Integer threads, String gracePeriod) {
        ListenerConfig.tcp(listen); // says what is wrong with a bad address, in the words merapi proxy uses
        ListenerConfig.tcp(admin);
        ServerConfig checked = serverConfig(threads, null, gracePeriod);
        GatewayConfig c = ConfigLoader.of().parse(ConfigLoader.exampleText(), ConfigLoader.BUILT_IN, Path.of("."));
        List<GatewayConfig.Listener> listeners = new ArrayList<>(c.listeners());
        GatewayConfig.Listener first = listeners.getFirst();
        listeners.set(0, first.withAddress(listen));
        GatewayConfig.Server server = new GatewayConfig.Server(threads == null ? c.server().threads() : Optional.of(threads), checked.gracePeriod());
        return new GatewayConfig(c.source(), server, listeners, c.upstreams(), c.routes(), new GatewayConfig.Admin(c.admin().enabled(), admin),
                c.accessLog(), c.metrics(), c.requestId());
    }

    static ServerConfig serverConfig(@Nullable Integer threads, @Nullable String transport, String grace) {
        ServerConfig.Builder b = ServerConfig.builder().gracePeriod(parseDuration(grace));
        if (threads != null) {
            b.threads(threads);
        }
        if (transport != null) {
            b.transport(Transport.parse(transport));
        }
        return b.build();
    }

    static ProxyOptions proxyOptions(String via, List<String> trustedProxies) {
        return ProxyOptions.builder().via(via).forwardedHeaders(ForwardedHeaders.trusting(trustedProxies)).build();
    }

    static Duration parseDuration(String s) {
        String v = s.trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            }
            if (v.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
            }
            if (v.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            }
            return Duration.ofSeconds(Long.parseLong(v));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid duration '" + s + "': use for example 30s, 500ms or 2m", e);
        }
    }

    private static String versionOf() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /** {@code merapi proxy}: a plain reverse proxy with no config file. */
    @Command(name = "proxy", mixinStandardHelpOptions = true,
            description = {"Runs a plain reverse proxy: every request on --listen goes to --upstream.",
                "With several upstreams, a load balancer chooses one per request, e.g.:",
                "  merapi proxy --listen 127.0.0.1:8080 --upstream 10.0.0.1:80 --upstream 10.0.0.2:80,weight=2 --health-check /healthz",
                "TLS to the upstream, verified against a private CA:",
                "  merapi proxy --listen 127.0.0.1:8080 --upstream https://origin.internal:443 --upstream-ca ca.pem"})
    static final class ProxyCommand implements Callable<Integer> {
        @Option(names = "--listen", required = true, description = "Address to listen on, such as 127.0.0.1:8080 or [::]:8080.")
        String listen;

        @Option(names = "--upstream", required = true, paramLabel = "[https://]HOST:PORT[,weight=N]",
                description = {"An upstream; repeat it for several, balanced by --balance. HOST:PORT or http://HOST:PORT speaks"
                    + " plain HTTP; https://HOST:PORT speaks TLS 1.2 or 1.3, sends HOST as SNI (unless an IP address), verifies the certificate chain"
                    + " (the JDK's trust store unless --upstream-ca) and that the certificate names HOST."})
        List<String> upstreams;

        // TLS to https:// upstreams: the same settings for each of them
        @Option(names = "--upstream-ca", paramLabel = "FILE",
                description = "Trusts the CA certificates of this PEM bundle, instead of the JDK's trust store, for https:// upstreams.")
        Path upstreamCa;

        @Option(names = "--upstream-sni", paramLabel = "NAME",
                description = "The name sent as SNI to https:// upstreams and verified in their certificates (default: the upstream's HOST).")
        String upstreamSni;

        @Option(names = "--upstream-client-cert", paramLabel = "FILE",
                description = "A PEM client certificate (and chain) shown to https:// upstreams that ask for one; needs --upstream-client-key.")
        Path upstreamClientCert;

        @Option(names = "--upstream-client-key", paramLabel = "FILE",
                description = "The PEM (PKCS#8) private key of --upstream-client-cert.")
        Path upstreamClientKey;

        @Option(names = "--upstream-insecure",
                description = "Turns certificate and host-name verification off for https:// upstreams (for tests only: anyone on the"
                    + " path could read and change the traffic); says so on stderr at start.")
        boolean upstreamInsecure;

        @Option(names = "--upstream-protocol", defaultValue = "h1", paramLabel = "h1|h2|h2-preferred",
                description = {"The HTTP version spoken to the upstreams (default: ${DEFAULT-VALUE}, as nginx does). h2: HTTP/2"
                    + " only, h2c with prior knowledge to HOST:PORT, h2 by ALPN to https://; requests share a connection, up to"
                    + " 100 streams each. h2-preferred: for https://, offers h2 and http/1.1 by ALPN and remembers an upstream"
                    + " that picks http/1.1; plain upstreams get HTTP/1.1."})
        String upstreamProtocol;

        @Option(names = "--balance", defaultValue = "round-robin",
                description = "How to choose among upstreams: round-robin, random, hash, ketama, least-conn, p2c-ewma or maglev (default: ${DEFAULT-VALUE}).")
        String balance;

        @Option(names = "--hash-key", defaultValue = "uri",
                description = "What hash, ketama and maglev hash: uri, client-ip or header:NAME (default: ${DEFAULT-VALUE}).")
        String hashKey;

        @Option(names = "--health-check", paramLabel = "PATH",
                description = "Checks every upstream with GET PATH every 5 s (2xx-3xx passes; 3 failures mark it down, 2 successes up).")
        String healthCheck;

        @Option(names = "--threads", description = "Event loops (default: the number of cores).")
        Integer threads;

        @Option(names = "--transport", description = "epoll (default), io_uring or nio.")
        String transport;

        @Option(names = "--grace-period", defaultValue = "30s", description = "How long SIGTERM lets requests finish (default: ${DEFAULT-VALUE}).")
        String gracePeriod;

        @Option(names = "--via", defaultValue = ProxyOptions.DEFAULT_VIA, paramLabel = "NAME",
                description = {"The name this proxy writes in Via on requests and responses (default: ${DEFAULT-VALUE});"
                    + " a request whose Via already names it gets 508 Loop Detected. Give each proxy of a chain its own"
                    + " name; --via= turns Via and loop detection off."})
        String via;

        @Option(names = "--trusted-proxy", paramLabel = "CIDR",
                description = {"A proxy in front of this one whose X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host,"
                    + " X-Real-IP and Forwarded are kept and appended to, such as 10.0.0.0/8 (repeatable). From every"
                    + " other client they are replaced by the client's own address."})
        List<String> trustedProxies = new ArrayList<>();

        @Option(names = "--max-connections", paramLabel = "N",
                description = "Most client connections open at once; more are closed when accepted (default: half the open-file limit, now "
                        + "${DEFAULT-VALUE}).")
        int maxConnections = ListenerConfig.DEFAULT_MAX_CONNECTIONS;

        @Option(names = "--max-connections-per-ip", paramLabel = "N",
                description = "Most client connections open at once from one IP address; 0 for no cap (default: ${DEFAULT-VALUE}).")
        int maxConnectionsPerIp;

        // listener TLS: --tls-cert and --tls-key make the listener TLS; --tls-client-ca turns on client certificates
        @Option(names = "--tls-cert", paramLabel = "FILE",
                description = {"Serve TLS on --listen with this certificate chain (PEM, leaf first); needs --tls-key.",
                    "Mozilla intermediate settings: TLS 1.2 and 1.3, ECDHE with AES-GCM or ChaCha20-Poly1305 only.",
                    "The files are checked every 60 s and a changed certificate is loaded without a restart."})
        Path tlsCert;

        @Option(names = "--tls-key", paramLabel = "FILE", description = "The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1; not encrypted).")
        Path tlsKey;

        @Option(names = "--tls-client-ca", paramLabel = "FILE",
                description = "Ask clients for a certificate issued by a CA of this PEM bundle (mTLS); see --tls-client-auth.")
        Path tlsClientCa;

        @Option(names = "--tls-client-auth", paramLabel = "optional|required",
                description = "With --tls-client-ca: required (the default) refuses a client without a valid certificate;"
                        + " optional lets it in without one.")
        String tlsClientAuth;

        // tunnels: WebSocket and other upgrades pass through after the origin's 101; CONNECT only with --connect-allow
        @Option(names = "--connect-allow", paramLabel = "HOST:PORT[,HOST:PORT...]", split = ",",
                description = {"Lets CONNECT through to these targets only (repeatable): each an exact host and port, or * for"
                    + " any host on one port (*:443) or any port of one host (db.internal:*), never both. A CONNECT to any"
                    + " other target gets 403; without this flag every CONNECT gets 405."})
        List<String> connectAllow = new ArrayList<>();

        @Option(names = "--tunnel-idle-timeout", paramLabel = "DURATION", defaultValue = "60m",
                description = "How long a WebSocket or CONNECT tunnel may carry no byte either way before both sides are"
                    + " closed, such as 90s or 10m (default: ${DEFAULT-VALUE}).")
        String tunnelIdleTimeout;

        @Option(names = "--grpc-web",
                description = {"Bridges gRPC-web to gRPC: a POST with Content-Type application/grpc-web[+proto] goes to the"
                    + " upstream as gRPC over HTTP/2 (h2c to HOST:PORT, h2 to https://, whatever --upstream-protocol says),"
                    + " and its answer comes back as gRPC-web, the trailers (grpc-status, grpc-message) in the trailer frame"
                    + " at the end of the body. application/grpc-web-text gets 415. Off by default: gRPC-web passes as is."})
        boolean grpcWeb;

        @Option(names = "--no-h2",
                description = "Serve HTTP/1.1 only. By default a plain --listen also speaks HTTP/2 to clients that start"
                        + " with its preface (h2c with prior knowledge) on the same port, and a TLS one (--tls-cert) offers h2"
                        + " then http/1.1 by ALPN; with --no-h2 ALPN offers http/1.1 only.")
        boolean noH2;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            List<Backend> backends;
            try {
                backends = UpstreamSpec.parse(upstreams);
            } catch (IllegalArgumentException e) {
                err.println("merapi proxy: --upstream: " + e.getMessage());
                return 2;
            }
            try {
                backends = UpstreamSpec.withTls(backends, upstreamTls(), upstreamSni);
            } catch (IllegalArgumentException e) {
                err.println("merapi proxy: " + e.getMessage());
                return 2;
            }
            UpstreamProtocol protocol;
            try {
                protocol = UpstreamProtocol.parse(upstreamProtocol);
            } catch (IllegalArgumentException e) {
                err.println("merapi proxy: --upstream-protocol: " + e.getMessage());
                return 2;
            }
            UnaryOperator<HttpPeer> speaking = protocol == UpstreamProtocol.HTTP1 ? UnaryOperator.identity()
                    : peer -> peer.withOptions(peer.options().toBuilder().protocol(protocol).build());
            if (upstreamInsecure) {
                err.println("merapi proxy: WARNING: --upstream-insecure: the certificates and host names of https:// upstreams are"
                        + " not verified; anyone on the path can read and change that traffic");
            }
            Server server;
            ListeningService service;
            Optional<LoadBalancer> balancer;
            Optional<ServerTls> tls;
            try {
                server = new Server(serverConfig(threads, transport, gracePeriod));
                if (maxConnections <= 0) {
                    throw new IllegalArgumentException("--max-connections must be positive: " + maxConnections);
                }
                if (maxConnectionsPerIp < 0) {
                    throw new IllegalArgumentException("--max-connections-per-ip must be 0 (no cap) or more: " + maxConnectionsPerIp);
                }
                balancer = balancer(backends);
                tls = listenerTls();
                ProxyOptions options = proxyOptions(via, trustedProxies).toBuilder().tunnels(tunnelOptions()).grpcWeb(grpcWeb).build();
                service = (balancer.isPresent()
                        ? ListeningService.http("proxy", HttpProxy.of(new BalancingProxy(balancer.get(), UpstreamSpec.hashKey(hashKey), speaking), options))
                        : ListeningService.http("proxy", HttpProxy.of(new ForwardProxy(speaking.apply(backends.getFirst().peer())), options)))
                        .addListener(withTls(ListenerConfig.tcp(listen).toBuilder(), tls).maxConnections(maxConnections)
                                .maxConnectionsPerIp(maxConnectionsPerIp).http2(!noH2).build());
                if (!connectAllow.isEmpty()) {
                    service.http1Options(service.http1Options().toBuilder().allowConnect(true).build());
                }
            } catch (IllegalArgumentException e) {
                err.println("merapi proxy: " + e.getMessage());
                return 2;
            }
            balancer.ifPresent(lb -> server.addService(lb.backgroundService()));
            // the listener's certificate files are read again when they change, for the life of the process
            tls.ifPresent(t -> server.addService(BackgroundService.every("tls-certificate-watch", Duration.ofSeconds(60),
                    t.certificates()::reloadIfChanged)));
            server.addService(service);
            try {
                server.start();
            } catch (IllegalStateException e) {
                err.println("merapi proxy: " + e.getMessage());
                return 1;
            } catch (IllegalArgumentException e) { // TLS settings the TLS library refuses: nothing listens
                err.println("merapi proxy: " + e.getMessage());
                return 2;
            }
            server.installSignalHandlers(); // before announcing: a SIGTERM right after the announcement is graceful
            spec.commandLine().getOut().println("Merapi " + VERSION + " proxy: " + (tlsCert != null ? "https://" : "http://")
                    + ListenerConfig.describe(service.boundAddresses().getFirst())
                    + " -> " + describe(backends, balancer) + " (" + server.config().threads() + " event loop(s), " + server.config().transport() + ")");
            server.run();
            return 0;
        }

        /**
         * The tunnel settings of {@code --connect-allow} and {@code --tunnel-idle-timeout}.
         *
         * @throws IllegalArgumentException naming the flag and what is wrong with its value
         */
        private TunnelOptions tunnelOptions() {
            List<ConnectTarget> targets = new ArrayList<>();
            for (String t : connectAllow) {
                targets.add(flag("--connect-allow", () -> ConnectTarget.of(t.strip())));
            }
            Duration idle = flag("--tunnel-idle-timeout", () -> parseDuration(tunnelIdleTimeout));
            return flag("--tunnel-idle-timeout", () -> TunnelOptions.builder().connectAllow(targets).idleTimeout(idle).build());
        }

        /**
         * The TLS settings of the {@code --upstream-*} flags, files read; {@code null} when none is given.
         *
         * @throws IllegalArgumentException naming the flag, for a file that cannot be read or does not hold what it should,
         *     or flags that contradict each other
         */
        private @Nullable UpstreamTls upstreamTls() {
            if (upstreamCa == null && upstreamClientCert == null && upstreamClientKey == null && !upstreamInsecure) {
                return null;
            }
            if ((upstreamClientCert == null) != (upstreamClientKey == null)) {
                throw new IllegalArgumentException("--upstream-client-cert and --upstream-client-key go together");
            }
            if (upstreamInsecure && upstreamCa != null) {
                throw new IllegalArgumentException("--upstream-insecure verifies nothing, so --upstream-ca would not be used; give one of them");
            }
            UpstreamTls.Builder b = UpstreamTls.builder();
            if (upstreamCa != null) {
                flag("--upstream-ca", () -> b.trustedCa(upstreamCa));
            }
            if (upstreamClientCert != null) {
                flag("--upstream-client-cert", () -> b.clientCertificate(upstreamClientCert, upstreamClientKey));
            }
            if (upstreamInsecure) {
                b.insecure();
            }
            return flag(upstreamClientCert != null ? "--upstream-client-cert/--upstream-client-key" : "--upstream-ca", b::build);
        }

        private static <T> T flag(String name, java.util.function.Supplier<T> step) {
            try {
                return step.get();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
        }

        /**
         * The listener's TLS from the {@code --tls-*} flags, its files read and checked now; empty without
         * {@code --tls-cert}. Watches the certificate files for changes.
         *
         * @throws IllegalArgumentException (a {@link dev.merapi.core.tls.TlsConfigException} for the files) naming the
         *     flag or the file and the reason
         */
        private Optional<ServerTls> listenerTls() {
            if (tlsCert == null && tlsKey == null) {
                if (tlsClientCa != null || tlsClientAuth != null) {
                    throw new IllegalArgumentException("--tls-client-ca and --tls-client-auth need --tls-cert and --tls-key");
                }
                return Optional.empty();
            }
            if (tlsCert == null || tlsKey == null) {
                throw new IllegalArgumentException("--tls-cert and --tls-key go together");
            }
            if (tlsClientAuth != null && tlsClientCa == null) {
                throw new IllegalArgumentException("--tls-client-auth needs --tls-client-ca");
            }
            CertificateStore certificates = CertificateStore.of(tlsCert, tlsKey);
            ServerTls.Builder b = ServerTls.builder(certificates);
            if (tlsClientCa != null) {
                ServerTls.ClientAuth auth;
                try {
                    auth = tlsClientAuth == null ? ServerTls.ClientAuth.REQUIRED : ServerTls.ClientAuth.parse(tlsClientAuth);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--tls-client-auth: " + e.getMessage(), e);
                }
                if (auth == ServerTls.ClientAuth.NONE) {
                    throw new IllegalArgumentException("--tls-client-auth: expected optional or required with --tls-client-ca");
                }
                if (!java.nio.file.Files.isReadable(tlsClientCa)) {
                    throw new IllegalArgumentException("cannot read the --tls-client-ca file " + tlsClientCa);
                }
                b.clientAuth(auth, tlsClientCa);
            }
            ServerTls tls = b.build();
            return Optional.of(tls);
        }

        private static ListenerConfig.Builder withTls(ListenerConfig.Builder listener, Optional<ServerTls> tls) {
            tls.ifPresent(listener::tls);
            return listener;
        }

        /** A balancer when there is more than one upstream, or a balancing option; none for a plain proxy. */
        private Optional<LoadBalancer> balancer(List<Backend> backends) {
            SelectionAlgorithm algorithm = SelectionAlgorithm.parse(balance);
            UpstreamSpec.hashKey(hashKey); // refuses a bad --hash-key even with one upstream
            if (backends.size() == 1 && healthCheck == null && backends.getFirst().weight() == 1) {
                return Optional.empty();
            }
            LoadBalancer.Builder b = LoadBalancer.builder(algorithm).name("upstreams").backends(backends);
            if (healthCheck != null) {
                b.healthCheck(HealthCheck.builder(HttpProbe.of(healthCheck)).build());
            }
            return Optional.of(b.build());
        }

        private static String describe(List<Backend> backends, Optional<LoadBalancer> balancer) {
            String list = String.join(", ", backends.stream().map(b -> b.tls() ? b.toString() : "http://" + b).toList());
            return balancer.map(lb -> list + " [" + lb.algorithm().name() + "]").orElse(list);
        }
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"merapi " + VERSION};
        }
    }
}

package dev.merapi.gateway;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.files.FileStamp;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.gateway.admin.AdminApp;
import dev.merapi.gateway.admin.GatewayControl;
import dev.merapi.gateway.config.ConfigError;
import dev.merapi.gateway.config.ConfigException;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.GatewayConfig.Listener;
import dev.merapi.gateway.observability.AccessLog;
import dev.merapi.gateway.observability.GatewayMetrics;
import dev.merapi.gateway.remote.ConfigTarget;
import dev.merapi.gateway.remote.RemoteConfig;
import dev.merapi.gateway.remote.RemoteStatus;
import dev.merapi.loadbalancing.discovery.DnsDiscovery;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyOptions;
import dev.merapi.proxy.TunnelOptions;
import dev.merapi.core.listeners.Transport;
import java.net.InetSocketAddress;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gateway run from a configuration file: a {@link Server} with one proxy service per configured listener (all
 * sharing one proxy and its connection pools), and {@link #reload()} to read the file again and swap the routes and
 * upstream groups in at once.
 *
 * <p>Reload: parse, validate, build (groups whose backends and balancing did not change keep their balancer, so
 * their health state and pooled connections carry over), warm (a first health check of new groups), then one
 * atomic swap. Requests in flight finish on the snapshot they started with. A reload that fails keeps the running
 * configuration and logs every error as {@code FILE:LINE:COL}. Listeners that a reload leaves as they were keep
 * their sockets and connections; removed ones stop accepting at once and their connections drain within the grace
 * period; added ones are bound before the swap (one that cannot be bound fails the reload). A listener whose address,
 * limits or TLS settings change is removed and added, so for a moment new connections to it are refused. A TLS
 * listener's certificate files are checked for a change every {@link #CERTIFICATE_CHECK} while it is bound, and read
 * again when one changed, with no reload.
 *
 * <p>Reloads come from SIGHUP, from a change of the file (its modification time or size, checked every second),
 * from code and from the admin API, which can also {@link #apply} a posted text through the same path (and writes it
 * to the file, so that a later reload keeps it). Each one is kept in a short history ({@link #reloads()}); each
 * applied one gets the next configuration version.
 *
 * <p>With a {@code remote} section, the configuration in force is the last signed bundle taken from the remote source
 * ({@link RemoteConfig}; the local file only names the source and is the fallback when neither the source nor the
 * cached bundle gives a valid one at start). Bundles go through {@link #apply} like a reload of the file; SIGHUP and a
 * change of the file then fetch from the source at once instead of reading the file.
 *
 * <p>The access log and metrics settings take effect at start; a reload keeps them.
 *
 * <p>Threading: {@link #reload()} may be called from any thread (SIGHUP, a file watch, code); reloads run one at a time.
 */
final class Gateway implements GatewayControl {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    private final Optional<Path> file;
    private final ConfigLoader loader;
    private final Server server;
    private final GatewayProxy proxy;
    private final HttpProxy<GatewayProxy.Ctx> app;
    /** The engines of listeners whose tunnel settings are not the default ones ({@link #engine}); under {@link #reloading}. */
    private final Map<TunnelOptions, HttpProxy<GatewayProxy.Ctx>> engines = new HashMap<>();
    /** One listening service per configured listener, by listener, in file order; changed only under {@link #reloading}. */
    private final Map<Listener, ListeningService> listeners = new LinkedHashMap<>();
    /** A copy of {@link #listeners} for readers on other threads (the admin listener's scrape): never waits for a reload. */
    private volatile Map<Listener, ListeningService> listening = Map.of();
    private final ReentrantLock reloading = new ReentrantLock();
    private final AtomicLong reloadsOk = new AtomicLong();
    private final AtomicLong reloadsFailed = new AtomicLong();
    private final GatewayMetrics metrics;
    private final Optional<AccessLog> accessLog;
    private final AtomicBoolean ready = new AtomicBoolean();
    private final Optional<ListeningService> admin;
    private final Optional<AdminApp> adminApps;
    private final Optional<ListeningService> demoOrigin;
    /** How often the certificate files of TLS listeners are checked for a change. */
    static final Duration CERTIFICATE_CHECK = Duration.ofSeconds(5);
    /**
     * The certificates of each bound TLS listener, checked for a file change every {@link #CERTIFICATE_CHECK}; changed
     * only under {@link #reloading} or in the constructor.
     */
    private final Map<Listener, CertificateStore> certificates = new java.util.concurrent.ConcurrentHashMap<>();
    /** Remote configuration, if the file has a remote section. */
    private final Optional<RemoteConfig> remote;

    /** The configuration in force and its text; changed only under {@link #reloading} or in the constructor. */
    private volatile ConfigVersion version;
    private volatile String text;
    private final AtomicLong versions = new AtomicLong();
    /** The recent reloads, the newest last; guarded by itself. */
    private final java.util.ArrayDeque<ReloadRecord> history = new java.util.ArrayDeque<>();
    /** How many reloads {@link #reloads()} keeps. */
    static final int HISTORY = 50;
    private final java.time.Instant startedAt = java.time.Instant.now();

    private Gateway(Optional<Path> file, ConfigLoader loader, GatewayConfig config, String text, Optional<Transport> transport,
            Optional<RemoteConfig> remote) {
        this.file = file;
        this.loader = loader;
        this.remote = remote;
        this.text = text;
        this.version = new ConfigVersion(versions.incrementAndGet(), sha256(text), config.source());
        this.fileStamp = stamp();
        ServerConfig.Builder sc = ServerConfig.builder().gracePeriod(config.server().gracePeriod());
        config.server().threads().ifPresent(sc::threads);
        transport.ifPresent(sc::transport);
        this.server = new Server(sc.build());
        // the demo origin listens on a loopback port of its own, known once bound: its peer is made when a request needs it
        this.demoOrigin = GatewaySnapshot.usesDemoOrigin(config)
                ? Optional.of(ListeningService.http("demo-origin", new DemoOrigin(Main.VERSION)).addTcp("127.0.0.1:0"))
                : Optional.empty();
        GatewaySnapshot snapshot = GatewaySnapshot.build(config, null, this::demoOriginAddress);
        warm(snapshot, null);
        this.metrics = new GatewayMetrics(this::health, this::openConnections);
        this.accessLog = AccessLog.of(config.accessLog());
        accessLog.ifPresent(a -> metrics.watchAccessLogDrops(a::dropped));
        remote.ifPresent(r -> metrics.watchRemoteConfig(r::fetchCounts, () -> r.status().runningVersion()));
        this.proxy = new GatewayProxy(snapshot, metrics, accessLog);
        // the engine's bound is the most any group may set: GatewayProxy bounds each request by its group's retries,
        // which a reload may raise or lower
        this.app = HttpProxy.of(proxy, ProxyOptions.builder().maxRetries(ProxyOptions.MAX_RETRIES).build());
        // bound in this order: a busy proxy port stops the start before the admin listener or the demo origin listens
        for (Listener l : config.listeners()) {
            ListeningService s = service(l);
            listeners.put(l, s);
            server.addService(s);
        }
        publishListeners();
        // each balancer's own service runs only what is due, so a short period costs little
        server.addService(BackgroundService.every("health-checks", Duration.ofMillis(250), this::runBalancers));
        if (file.isPresent()) {
            server.addService(BackgroundService.every("config-watch", Duration.ofSeconds(1), this::reloadIfChanged));
        }
        server.addService(BackgroundService.every("tls-certificate-watch", CERTIFICATE_CHECK,
                () -> certificates.values().forEach(CertificateStore::reloadIfChanged)));
        if (config.accessLog().buffered()) {
            accessLog.ifPresent(a -> server.addService(BackgroundService.every("access-log-flush",
                    config.accessLog().flushInterval(), a::flush)));
        }
        if (config.admin().enabled()) {
            AdminApp adminApp = AdminApp.of(metrics, ready::get, config.admin(), this);
            ListenerConfig.Builder ac = ListenerConfig.tcp(config.admin().address()).toBuilder().http2(false); // the admin API is HTTP/1.1 only, ALPN included
            config.admin().tls().ifPresent(t -> ac.tls(t.load()));
            ListeningService a = ListeningService.http("admin", adminApp).addListener(ac.build());
            server.addService(a);
            adminApps = Optional.of(adminApp);
            admin = Optional.of(a);
        } else {
            admin = Optional.empty();
            adminApps = Optional.empty();
        }
        demoOrigin.ifPresent(server::addService);
    }

    /** Where the built-in demo origin listens; only once the server has started. */
    private InetSocketAddress demoOriginAddress() {
        return (InetSocketAddress) demoOrigin.orElseThrow(() -> new IllegalStateException("the built-in demo origin does not run"))
                .boundAddresses().getFirst();
    }

    /** Where the built-in demo origin listens, once started, if this configuration runs it. */
    Optional<SocketAddress> demoOriginBound() {
        return demoOrigin.map(d -> d.boundAddresses().getFirst());
    }

    /** Starts every listener; ready ({@code /readyz}) once they are bound, the first health checks having run at build. */
    void start() {
        server.start();
        ready.set(true);
        remote.ifPresent(r -> r.start(new ConfigTarget() {
            @Override
            public GatewayConfig running() {
                return config();
            }

            @Override
            public boolean apply(GatewayConfig next, String text, String what) {
                return Gateway.this.apply(next, text, what);
            }
        }));
    }

    /** Marks the gateway not ready, then stops it gracefully (SIGTERM). */
    void shutdownGracefully() {
        ready.set(false);
        server.shutdownGracefully();
        closeAll();
    }

    /** Marks the gateway not ready, then stops it at once (SIGINT). */
    void shutdownFast() {
        ready.set(false);
        server.shutdownFast();
        closeAll();
    }

    private void closeAll() {
        remote.ifPresent(RemoteConfig::close);
        certificates.clear();
        accessLog.ifPresent(AccessLog::close);
        adminApps.ifPresent(AdminApp::close);
        proxy.snapshot().groups().values().forEach(g -> g.discovery().ifPresent(DnsDiscovery::close));
    }

    boolean ready() {
        return ready.get();
    }

    GatewayMetrics metrics() {
        return metrics;
    }

    /** Where the admin listener listens, once started. */
    Optional<SocketAddress> adminAddress() {
        return admin.map(a -> a.boundAddresses().getFirst());
    }

    /** Open client connections by listener name, for the scrape; runs on the admin listener's event loop. */
    private Map<String, Integer> openConnections() {
        Map<String, Integer> out = new LinkedHashMap<>();
        listening.forEach((l, s) -> out.put(l.name(), s.openConnections()));
        return out;
    }

    /** Publishes the listeners to readers on other threads; after each change, under {@link #reloading} or in the constructor. */
    private void publishListeners() {
        listening = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(listeners));
    }

    private List<GatewayMetrics.BackendHealth> health() {
        return proxy.snapshot().groups().values().stream().flatMap(g -> g.balancer().status().stream()
                .map(s -> new GatewayMetrics.BackendHealth(g.spec().name(), s.backend().name(), s.available()))).toList();
    }

    /**
     * A gateway for the configuration in {@code file}, not started.
     *
     * @throws ConfigException if the file is not a valid configuration
     */
    static Gateway of(Path file, ConfigLoader loader) {
        String text = ConfigLoader.read(file);
        GatewayConfig local = loader.parse(text, file.toString(), ConfigLoader.baseDir(file));
        if (local.remote().isEmpty()) {
            return new Gateway(Optional.of(file), loader, local, text, Optional.empty(), Optional.empty());
        }
        Path dir = file.toAbsolutePath().getParent();
        RemoteConfig remote = RemoteConfig.of(local.remote().get(), loader, dir == null ? Path.of(".") : dir);
        try {
            GatewayConfig initial = remote.initial(local);
            String initialText = remote.runningBundle().map(b -> new String(b.config(), java.nio.charset.StandardCharsets.UTF_8)).orElse(text);
            return new Gateway(Optional.of(file), loader, initial, initialText, Optional.empty(), Optional.of(remote));
        } catch (RuntimeException e) {
            remote.close();
            throw e;
        }
    }

    /**
     * A gateway for a configuration that no file holds (the embedded default), not started; {@link #reload()} keeps
     * it. {@code transport} overrides the default transport.
     */
    static Gateway of(GatewayConfig config, Optional<Transport> transport) {
        return new Gateway(Optional.empty(), ConfigLoader.of(), config, ConfigLoader.exampleText(), transport, Optional.empty());
    }

    Server server() {
        return server;
    }

    /** Where the proxy listens, once started: each listener's address, in file order. */
    List<SocketAddress> boundAddresses() {
        return listening.values().stream().flatMap(s -> s.boundAddresses().stream()).toList();
    }

    /**
     * The listening service of one configured listener: the gateway's proxy on its address, with its limits and its
     * TLS. A TLS listener's certificates are read now, and read again whenever their files change (checked every
     * {@link #CERTIFICATE_CHECK}) until the listener is removed.
     *
     * @throws IllegalArgumentException (a {@link dev.merapi.core.tls.TlsConfigException}) if a certificate file
     *     changed since the configuration was checked and is no longer usable
     */
    private ListeningService service(Listener l) {
        ListenerConfig.Builder config = ListenerConfig.tcp(l.address()).toBuilder().maxConnections(l.maxConnections())
                .maxConnectionsPerIp(l.maxConnectionsPerIp()).http2(l.http2());
        if (l.tls().isPresent()) {
            ServerTls tls = l.tls().get().load();
            config.tls(tls);
            certificates.put(l, tls.certificates());
        }
        return ListeningService.http("listener " + l.name(), engine(l.tunnels())).http1Options(l.http1()).addListener(config.build());
    }

    /**
     * The engine for listeners with these tunnel settings: {@link #app} for the defaults, else one per distinct setting
     * (with its own upstream pools), made when first needed and kept, so a reload that goes back to a setting reuses
     * its engine and pools (their idle connections are evicted on their own). Under {@link #reloading} or in the
     * constructor.
     */
    private HttpProxy<GatewayProxy.Ctx> engine(TunnelOptions tunnels) {
        if (tunnels.equals(app.options().tunnels())) {
            return app;
        }
        return engines.computeIfAbsent(tunnels, t -> HttpProxy.of(proxy, app.options().toBuilder().tunnels(t).build()));
    }

    /** Stops watching the certificate files of a listener that is gone. */
    private void unwatch(Listener l) {
        certificates.remove(l);
    }

    GatewayConfig config() {
        return proxy.snapshot().config();
    }

    long reloadsOk() {
        return reloadsOk.get();
    }

    long reloadsFailed() {
        return reloadsFailed.get();
    }

    /** Remote configuration, if the file has a remote section. */
    Optional<RemoteConfig> remote() {
        return remote;
    }

    /** What remote configuration is doing, for the status endpoint, if the file has a remote section. */
    @Override
    public Optional<RemoteStatus> remoteStatus() {
        return remote.map(RemoteConfig::status);
    }

    @Override
    public Optional<RemoteConfig.Outcome> fetchRemote() {
        return remote.map(RemoteConfig::poll);
    }

    @Override
    public Optional<RemoteConfig.Outcome> rollbackRemote() {
        return remote.map(RemoteConfig::rollback);
    }

    /**
     * Reads the file again and, if it is valid, makes it the configuration of every request that arrives from now on.
     *
     * @return whether the new configuration is in force
     */
    boolean reload() {
        return reload("reload").applied();
    }

    @Override
    public ReloadRecord reload(String trigger) {
        if (file.isEmpty()) {
            log.info("nothing to reload: the embedded default is built in; run a file with merapi run --config FILE");
            return refused(trigger, ConfigLoader.BUILT_IN, "nothing to reload: the embedded default is built in; run a file with"
                    + " merapi run --config FILE");
        }
        if (remote.isPresent()) {
            log.info("{} names a remote source: fetching from {} now (changes to the local file take effect at the next start)",
                    file.get(), remote.get().spec().url());
            RemoteConfig.Outcome o = remote.get().poll();
            if (o.result() == RemoteConfig.Result.APPLIED) {
                return reloads().getLast();
            }
            ConfigVersion now = version;
            return new ReloadRecord(java.time.Instant.now(), trigger, remote.get().spec().url().toString(), false, now, now,
                    List.of(new ConfigError(remote.get().spec().url().toString(), 0, 0, "", o.message())));
        }
        String next;
        try {
            fileStamp = stamp(); // the file watch need not read what this reload reads
            next = ConfigLoader.read(file.get());
        } catch (ConfigException e) {
            return refused(trigger, file.get().toString(), e.errors());
        }
        return applyText(next, file.get().toString(), trigger, false);
    }

    @Override
    public List<ConfigError> validate(String candidate, String name) {
        try {
            GatewayConfig next = loader.parse(candidate, name, baseDir());
            return demoOriginError(next, name).map(List::of).orElse(List.of());
        } catch (ConfigException e) {
            return e.errors();
        }
    }

    private Path baseDir() {
        return file.map(ConfigLoader::baseDir).orElse(Path.of("."));
    }

    private Optional<ConfigError> demoOriginError(GatewayConfig next, String name) {
        return GatewaySnapshot.usesDemoOrigin(next) && demoOrigin.isEmpty()
                ? Optional.of(new ConfigError(name, 0, 0, "", "it adds the demo-origin backend, which only starts with the gateway"))
                : Optional.empty();
    }

    /**
     * Validates, builds, warms and swaps in a posted {@code candidate} (the admin API's apply). When the gateway runs
     * from a local file without a {@code remote} section, the applied text is also written to that file (the old one
     * kept as {@code FILE.previous}), so that the next reload or start reads what is in force; if it cannot be written,
     * the apply is refused before anything changes. A configuration that fails keeps the running one and says why, in
     * the log and in the record.
     */
    @Override
    public ReloadRecord apply(String candidate, String name, String trigger) {
        return applyText(candidate, name, trigger, file.isPresent() && remote.isEmpty());
    }

    /** Parses and applies {@code candidate}, writing it to the file if {@code keep}: the path of every reload. */
    private ReloadRecord applyText(String candidate, String name, String trigger, boolean keep) {
        reloading.lock();
        try {
            GatewayConfig next;
            try {
                next = loader.parse(candidate, name, baseDir());
            } catch (ConfigException e) {
                return refused(trigger, name, e.errors());
            }
            if (!keep) {
                return applyParsed(next, candidate, name, trigger);
            }
            Path f = file.orElseThrow();
            ConfigFileUpdate update;
            try {
                update = ConfigFileUpdate.prepare(f, candidate);
            } catch (IOException e) {
                return refused(trigger, name, "cannot write the configuration to " + f + " (" + e + "); nothing was applied: an apply is"
                        + " kept in the file the gateway runs from, so the gateway needs write access to it and its directory");
            }
            ReloadRecord r = applyParsed(next, candidate, name, trigger);
            if (!r.applied()) {
                update.discard();
                return r;
            }
            try {
                update.commit();
                log.info("{} now holds the configuration applied by {}; the one before is {}{}", f, trigger, update.target(),
                        ConfigFileUpdate.PREVIOUS);
            } catch (IOException e) {
                update.discard();
                log.error("the configuration applied by {} is in force but could not be written to {} ({}); a reload or a restart"
                        + " reads the file as it is", trigger, f, e.toString());
            }
            fileStamp = stamp(); // the file watch need not read what this apply wrote
            return r;
        } finally {
            reloading.unlock();
        }
    }

    /**
     * Makes {@code next}, a validated configuration (a signed bundle from the remote source), the configuration of
     * every request that arrives from now on, through the same path as {@link #apply(String, String, String)}.
     *
     * @param text the text {@code next} was read from, for its version hash
     * @param what what {@code next} is (its source), for messages
     * @return whether {@code next} is in force
     */
    boolean apply(GatewayConfig next, String text, String what) {
        reloading.lock();
        try {
            return applyParsed(next, text, what, "remote").applied();
        } finally {
            reloading.unlock();
        }
    }

    /** Builds, warms and swaps in {@code next}; under {@link #reloading}. */
    private ReloadRecord applyParsed(GatewayConfig next, String candidate, String name, String trigger) {
        Optional<ConfigError> demo = demoOriginError(next, name);
        if (demo.isPresent()) {
            return refused(trigger, name, List.of(demo.get()));
        }
        GatewaySnapshot old = proxy.snapshot();
        GatewaySnapshot built = GatewaySnapshot.build(next, old, this::demoOriginAddress);
        warm(built, old);
        List<Listener> removed = listeners.keySet().stream().filter(l -> !next.listeners().contains(l)).toList();
        List<Listener> added = next.listeners().stream().filter(l -> !listeners.containsKey(l)).toList();
        Optional<String> bindError = swapListeners(removed, added, name);
        publishListeners();
        if (bindError.isPresent()) {
            built.retiredBy(old).forEach(g -> g.discovery().ifPresent(DnsDiscovery::close)); // the groups never used
            return refused(trigger, name, List.of(new ConfigError(name, 0, 0, "", bindError.get())));
        }
        proxy.swap(built);
        adminApps.ifPresent(a -> a.credentials(next.admin()));
        old.retiredBy(built).forEach(g -> g.discovery().ifPresent(DnsDiscovery::close));
        ConfigVersion before = version;
        text = candidate;
        version = new ConfigVersion(versions.incrementAndGet(), sha256(candidate), name);
        reloadsOk.incrementAndGet();
        metrics.reload(true);
        GatewayConfig was = old.config();
        if (!withoutCredentials(next.admin()).equals(withoutCredentials(was.admin())) || !next.accessLog().equals(was.accessLog())
                || !next.metrics().equals(was.metrics()) || !next.server().equals(was.server())) {
            log.warn("reload of {}: the server, access-log and metrics sections and the admin listener (enabled, address, tls, audit-log,"
                    + " max-body) take effect at the next start", name);
        }
        if (!credentialsOf(next.admin()).equals(credentialsOf(was.admin()))) {
            log.info("reload of {}: the admin API credentials in force are now {} token(s) and {} client identit(ies){}", name,
                    next.admin().tokens().size(), next.admin().clients().size(), next.admin().requireBoth() ? ", require-both" : "");
        }
        log.info("reloaded {}: {} upstream group(s), {} route(s)", name, next.upstreams().size(), next.routes().size());
        return remember(new ReloadRecord(java.time.Instant.now(), trigger, name, true, before, version, List.of()));
    }

    /** An admin section's listener settings, its credentials left out: what a reload cannot change. */
    private static GatewayConfig.Admin withoutCredentials(GatewayConfig.Admin a) {
        return new GatewayConfig.Admin(a.enabled(), a.address(), a.tls(), List.of(), List.of(), false, a.auditLog(), a.maxBody());
    }

    /** An admin section's credentials: what a reload puts in force at once. */
    private static List<Object> credentialsOf(GatewayConfig.Admin a) {
        return List.of(a.tokens(), a.clients(), a.requireBoth());
    }

    private ReloadRecord refused(String trigger, String name, String why) {
        return refused(trigger, name, List.of(new ConfigError(name, 0, 0, "", why)));
    }

    private ReloadRecord refused(String trigger, String name, List<ConfigError> errors) {
        reloadsFailed.incrementAndGet();
        metrics.reload(false);
        log.error("reload of {} failed; the running configuration stays:", name);
        errors.forEach(err -> log.error("  {}", err));
        ConfigVersion now = version;
        return remember(new ReloadRecord(java.time.Instant.now(), trigger, name, false, now, now, errors));
    }

    private static String sha256(String s) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private ReloadRecord remember(ReloadRecord r) {
        synchronized (history) {
            history.addLast(r);
            while (history.size() > HISTORY) {
                history.removeFirst();
            }
        }
        return r;
    }

    @Override
    public List<ReloadRecord> reloads() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    @Override
    public String version() {
        return Main.VERSION;
    }

    @Override
    public java.time.Instant startedAt() {
        return startedAt;
    }

    @Override
    public ConfigVersion configVersion() {
        return version;
    }

    @Override
    public String configText() {
        return text;
    }

    @Override
    public Map<String, List<SocketAddress>> listeners() {
        Map<String, List<SocketAddress>> out = new LinkedHashMap<>();
        listening.forEach((l, s) -> out.put(l.name(), s.boundAddresses()));
        return out;
    }

    @Override
    public Map<String, dev.merapi.loadbalancing.LoadBalancer> balancers() {
        Map<String, dev.merapi.loadbalancing.LoadBalancer> out = new java.util.TreeMap<>();
        proxy.snapshot().groups().forEach((n, g) -> out.put(n, g.balancer()));
        return out;
    }

    /**
     * Stops the removed listeners (their sockets close now; their connections drain in the background within the
     * grace period), then starts the added ones. A listener whose address or limits changed is one of each, so it is
     * closed before it is bound again. If an added one cannot be bound, the added ones are stopped again and the
     * removed ones bound again, and the reload fails.
     *
     * @return why an added listener could not be bound, or empty when every one was
     */
    private Optional<String> swapListeners(List<Listener> removed, List<Listener> added, String name) {
        Duration grace = server.config().gracePeriod();
        for (Listener l : removed) {
            server.stopListening(Objects.requireNonNull(listeners.remove(l), "listener"), grace);
            unwatch(l);
            log.info("listener '{}' on {} removed: it accepts no more and its connections drain", l.name(), l.address());
        }
        List<Listener> started = new ArrayList<>();
        for (Listener l : added) {
            ListeningService s;
            try {
                s = service(l);
                server.startListening(s);
            } catch (IllegalStateException | IllegalArgumentException e) { // address taken; certificate files changed since the check
                unwatch(l);
                String why = "listener '" + l.name() + "': " + e.getMessage();
                log.error("reload of {} failed: {}; the running configuration stays", name, why);
                for (Listener back : started) {
                    server.stopListening(Objects.requireNonNull(listeners.remove(back), "listener"), Duration.ZERO);
                    unwatch(back);
                }
                for (Listener back : removed) {
                    restart(back);
                }
                return Optional.of(why);
            }
            listeners.put(l, s);
            started.add(l);
            log.info("listener '{}' added: listening on {}", l.name(), ListenerConfig.describe(s.boundAddresses().getFirst()));
        }
        return Optional.empty();
    }

    /** Binds a removed listener again after a failed reload; says so if its address was taken meanwhile. */
    private void restart(Listener l) {
        try {
            ListeningService s = service(l);
            server.startListening(s);
            listeners.put(l, s);
        } catch (IllegalStateException | IllegalArgumentException e) {
            unwatch(l);
            log.error("listener '{}' could not be bound again after the failed reload: {}", l.name(), e.getMessage());
        }
    }

    /** A first health check of the groups that {@code previous} did not have, before they take requests. */
    private static void warm(GatewaySnapshot next, @Nullable GatewaySnapshot previous) {
        for (GatewaySnapshot.Group g : next.groups().values()) {
            boolean known = previous != null && previous.groups().values().stream().anyMatch(o -> o.balancer() == g.balancer());
            if (!known && g.discovery().isPresent() && (!g.balancer().update() || g.balancer().backends().isEmpty())) {
                log.warn("upstream group '{}': DNS gave no backend yet; asking again in the background", g.spec().name());
            }
            if (!known && g.spec().healthCheck().isPresent()) {
                try {
                    g.balancer().runHealthChecks();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** The file's modification time and size as last seen. */
    private volatile FileStamp fileStamp;

    private FileStamp stamp() {
        return file.map(FileStamp::of).orElse(FileStamp.MISSING);
    }

    /** Reloads when the file's modification time or size changes; a rename onto it counts too. Runs every second. */
    private void reloadIfChanged() {
        if (remote.isPresent()) { // a reload fetches, under the remote lock, which is taken before the reload lock
            reloadIfChangedNow();
            return;
        }
        reloading.lock(); // an apply writing the file finishes first, and sets the stamp of what it wrote
        try {
            reloadIfChangedNow();
        } finally {
            reloading.unlock();
        }
    }

    private void reloadIfChangedNow() {
        FileStamp now = stamp();
        if (now.exists() && !now.equals(fileStamp)) {
            fileStamp = now;
            reload("file-change");
        }
    }

    /** Keeps the balancers of the groups in force current: discovery, health checks, returning ejected backends. */
    private void runBalancers() throws Exception {
        for (GatewaySnapshot.Group g : proxy.snapshot().groups().values()) {
            g.balancer().backgroundService().runOnce();
        }
    }
}

package dev.merapi.gateway;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.gateway.admin.AdminApp;
import dev.merapi.gateway.config.ConfigException;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.GatewayConfig.Listener;
import dev.merapi.gateway.observability.AccessLog;
import dev.merapi.gateway.observability.GatewayMetrics;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyOptions;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gateway run from a configuration file: a {@link Server} with one proxy service over the configured listeners,
 * and {@link #reload()} to read the file again and swap the routes and upstream groups in at once.
 *
 * <p>Reload: parse, validate, build (groups whose backends and balancing did not change keep their balancer, so
 * their health state and pooled connections carry over), warm (a first health check of new groups), then one
 * atomic swap. Requests in flight finish on the snapshot they started with. A reload that fails keeps the running
 * configuration and logs every error as {@code FILE:LINE:COL}. Listeners are bound at start: a reload that changes
 * them is refused, and a restart applies it.
 *
 * <p>Reloads come from SIGHUP, from a change of the file (its modification time or size, checked every second) and
 * from code.
 *
 * <p>The access log and metrics settings take effect at start; a reload keeps them.
 *
 * <p>Threading: {@link #reload()} may be called from any thread (SIGHUP, a file watch, code); reloads run one at a time.
 */
final class Gateway {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    private final Path file;
    private final ConfigLoader loader;
    private final Server server;
    private final GatewayProxy proxy;
    private final ListeningService service;
    private final ReentrantLock reloading = new ReentrantLock();
    private final AtomicLong reloadsOk = new AtomicLong();
    private final AtomicLong reloadsFailed = new AtomicLong();
    private final GatewayMetrics metrics;
    private final java.util.Optional<AccessLog> accessLog;
    private final java.util.concurrent.atomic.AtomicBoolean ready = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.Optional<ListeningService> admin;

    private Gateway(Path file, ConfigLoader loader, GatewayConfig config) {
        this.file = file;
        this.loader = loader;
        this.fileStamp = stamp();
        ServerConfig.Builder sc = ServerConfig.builder().gracePeriod(config.server().gracePeriod());
        config.server().threads().ifPresent(sc::threads);
        this.server = new Server(sc.build());
        GatewaySnapshot snapshot = GatewaySnapshot.build(config, null);
        warm(snapshot, null);
        this.metrics = new GatewayMetrics(this::health);
        this.accessLog = AccessLog.of(config.accessLog());
        this.proxy = new GatewayProxy(snapshot, metrics, accessLog);
        ListeningService s = ListeningService.http("gateway", HttpProxy.of(proxy, ProxyOptions.defaults().toBuilder()
                .maxRetries(config.upstreams().stream().mapToInt(GatewayConfig.UpstreamGroup::retries).max().orElse(0)).build()));
        for (Listener l : config.listeners()) {
            s.addListener(ListenerConfig.tcp(l.address()).toBuilder().maxConnections(l.maxConnections())
                    .maxConnectionsPerIp(l.maxConnectionsPerIp()).build());
        }
        this.service = s;
        server.addService(service);
        server.addService(new HealthChecks(proxy));
        server.addService(new FileWatch(this));
        if (config.admin().enabled()) {
            ListeningService a = ListeningService.http("admin", new AdminApp(metrics, ready::get)).addTcp(config.admin().address());
            server.addService(a);
            admin = java.util.Optional.of(a);
        } else {
            admin = java.util.Optional.empty();
        }
    }

    /** Starts every listener; ready ({@code /readyz}) once they are bound, the first health checks having run at build. */
    void start() {
        server.start();
        ready.set(true);
    }

    /** Marks the gateway not ready, then stops it gracefully (SIGTERM). */
    void shutdownGracefully() {
        ready.set(false);
        server.shutdownGracefully();
        accessLog.ifPresent(AccessLog::close);
    }

    /** Marks the gateway not ready, then stops it at once (SIGINT). */
    void shutdownFast() {
        ready.set(false);
        server.shutdownFast();
        accessLog.ifPresent(AccessLog::close);
    }

    boolean ready() {
        return ready.get();
    }

    GatewayMetrics metrics() {
        return metrics;
    }

    /** Where the admin listener listens, once started. */
    java.util.Optional<SocketAddress> adminAddress() {
        return admin.map(a -> a.boundAddresses().getFirst());
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
        return new Gateway(file, loader, loader.load(file));
    }

    Server server() {
        return server;
    }

    /** Where the proxy listens, once started. */
    List<SocketAddress> boundAddresses() {
        return service.boundAddresses();
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

    /**
     * Reads the file again and, if it is valid, makes it the configuration of every request that arrives from now on.
     *
     * @return whether the new configuration is in force
     */
    boolean reload() {
        reloading.lock();
        try {
            GatewayConfig next;
            try {
                next = loader.load(file);
            } catch (ConfigException e) {
                reloadsFailed.incrementAndGet();
                metrics.reload(false);
                log.error("reload of {} failed; the running configuration stays:", file);
                e.errors().forEach(err -> log.error("  {}", err));
                return false;
            }
            if (!next.listeners().equals(config().listeners())) {
                reloadsFailed.incrementAndGet();
                metrics.reload(false);
                log.error("reload of {} failed: it changes the listeners, which a restart applies; the running configuration stays", file);
                return false;
            }
            GatewaySnapshot old = proxy.snapshot();
            GatewaySnapshot built = GatewaySnapshot.build(next, old);
            warm(built, old);
            proxy.swap(built);
            reloadsOk.incrementAndGet();
            metrics.reload(true);
            log.info("reloaded {}: {} upstream group(s), {} route(s)", file, next.upstreams().size(), next.routes().size());
            return true;
        } finally {
            reloading.unlock();
        }
    }

    /** A first health check of the groups that {@code previous} did not have, before they take requests. */
    private static void warm(GatewaySnapshot next, @Nullable GatewaySnapshot previous) {
        for (GatewaySnapshot.Group g : next.groups().values()) {
            boolean known = previous != null && previous.groups().values().stream().anyMatch(o -> o.balancer() == g.balancer());
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

    /** The file's modification time and size as last seen, or null if it could not be read. */
    private volatile @Nullable String fileStamp;

    private @Nullable String stamp() {
        try {
            return java.nio.file.Files.getLastModifiedTime(file) + "/" + java.nio.file.Files.size(file);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Reloads when the file's modification time or size changes (checked every second); a rename onto it counts too. */
    private static final class FileWatch implements dev.merapi.core.services.BackgroundService {
        private final Gateway gateway;

        FileWatch(Gateway gateway) {
            this.gateway = gateway;
        }

        @Override
        public String name() {
            return "config-watch";
        }

        @Override
        public java.time.Duration period() {
            return java.time.Duration.ofSeconds(1);
        }

        @Override
        public void runOnce() {
            String now = gateway.stamp();
            if (now != null && !now.equals(gateway.fileStamp)) {
                gateway.fileStamp = now;
                gateway.reload();
            }
        }
    }

    /** Keeps the balancers of the groups in force current (health checks, returning ejected backends). */
    private static final class HealthChecks implements dev.merapi.core.services.BackgroundService {
        private final GatewayProxy proxy;

        HealthChecks(GatewayProxy proxy) {
            this.proxy = proxy;
        }

        @Override
        public String name() {
            return "health-checks";
        }

        @Override
        public java.time.Duration period() {
            return java.time.Duration.ofMillis(250); // each balancer's own service runs only what is due
        }

        @Override
        public void runOnce() throws Exception {
            for (GatewaySnapshot.Group g : proxy.snapshot().groups().values()) {
                g.balancer().backgroundService().runOnce();
            }
        }
    }

    static List<LoadBalancer> balancers(GatewaySnapshot s) {
        return s.groups().values().stream().map(GatewaySnapshot.Group::balancer).toList();
    }
}

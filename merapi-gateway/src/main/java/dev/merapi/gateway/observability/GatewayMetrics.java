package dev.merapi.gateway.observability;

import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tunnels.Tunnel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The gateway's metrics, in Micrometer's Prometheus registry, scraped on the admin listener's {@code /metrics}:
 * <ul>
 *   <li>{@code merapi_requests_total{route, group, status_class}} and the latency histogram
 *       {@code merapi_request_duration_seconds{route, group}};</li>
 *   <li>{@code merapi_upstream_errors_total{group, kind}} (errors that ended a request) and
 *       {@code merapi_upstream_retries_total{group}};</li>
 *   <li>{@code merapi_upstream_connect_errors_total{group}}: every failed connect, retried or not;</li>
 *   <li>{@code merapi_upstream_connections_total{group, reused="true"|"false"}}: the upstream connection of each
 *       attempt that got one, from the pool or new (pool reuse);</li>
 *   <li>{@code merapi_config_reloads_total{result="ok"|"failed"}};</li>
 *   <li>with remote configuration, {@code merapi_remote_config_fetches_total{result}} (how each fetch ended:
 *       {@code applied}, {@code not-modified}, {@code bad-signature}, ...) and {@code merapi_remote_config_version}
 *       (the version running);</li>
 *   <li>{@code merapi_backend_up{group, backend}} (1 healthy, 0 not), {@code merapi_connections_active{listener}}
 *       (open client connections) and {@code merapi_security_events_total{rule}} (the process's
 *       {@link SecurityEvents}), read at each scrape;</li>
 *   <li>{@code merapi_tunnels_open} and {@code merapi_tunnels_opened_total}: WebSocket, Upgrade and CONNECT tunnels
 *       ({@link Tunnel}), read at each scrape.</li>
 * </ul>
 * Thread-safe. Meters are looked up in a map per label set, so recording costs a hash lookup and an atomic add.
 */
public final class GatewayMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<List<String>, Counter> requests = new ConcurrentHashMap<>();
    private final Map<List<String>, Timer> latency = new ConcurrentHashMap<>();
    private final Map<List<String>, Counter> upstreamErrors = new ConcurrentHashMap<>();
    private final Map<String, Counter> retries = new ConcurrentHashMap<>();
    private final Map<String, Counter> connectErrors = new ConcurrentHashMap<>();
    private final Map<List<String>, Counter> upstreamConnections = new ConcurrentHashMap<>();
    private final MultiGauge activeConnections;
    private final Supplier<Map<String, Integer>> connections;
    private final Counter reloadsOk;
    private final Counter reloadsFailed;
    private final MultiGauge backendUp;
    private final Supplier<List<BackendHealth>> health;

    /** The health of one backend, as the scrape reports it. */
    public record BackendHealth(String group, String backend, boolean up) {
    }

    /**
     * Metrics whose backend health is read from {@code health}, and open client connections by listener from
     * {@code connections}, at each scrape.
     */
    public GatewayMetrics(Supplier<List<BackendHealth>> health, Supplier<Map<String, Integer>> connections) {
        this.health = health;
        this.connections = connections;
        this.activeConnections = MultiGauge.builder("merapi.connections.active").description("open client connections by listener")
                .register(registry);
        this.reloadsOk = Counter.builder("merapi.config.reloads").tag("result", "ok").description("configuration reloads").register(registry);
        this.reloadsFailed = Counter.builder("merapi.config.reloads").tag("result", "failed").description("configuration reloads").register(registry);
        this.backendUp = MultiGauge.builder("merapi.backend.up").description("1 if the backend is healthy, else 0").register(registry);
        Gauge.builder("merapi.tunnels.open", Tunnel::openTunnels).description("open WebSocket, Upgrade and CONNECT tunnels")
                .register(registry);
        FunctionCounter.builder("merapi.tunnels.opened", this, m -> Tunnel.openedTunnels())
                .description("WebSocket, Upgrade and CONNECT tunnels opened").register(registry);
    }

    /** One request finished. {@code group} is empty for a route that does not proxy (or no route: route "none"). */
    public void request(String route, String group, int status, long durationNanos, int retryCount) {
        String statusClass = status <= 0 ? "none" : (status / 100) + "xx";
        requests.computeIfAbsent(List.of(route, group, statusClass), k -> Counter.builder("merapi.requests")
                .description("requests by route, upstream group and status class")
                .tags("route", route, "group", group, "status_class", statusClass).register(registry)).increment();
        latency.computeIfAbsent(List.of(route, group), k -> Timer.builder("merapi.request.duration")
                .description("time from the request head to the end of the response").tags("route", route, "group", group)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry)).record(durationNanos, TimeUnit.NANOSECONDS);
        if (retryCount > 0) {
            retries.computeIfAbsent(group, g -> Counter.builder("merapi.upstream.retries").description("retries on another backend")
                    .tag("group", g).register(registry)).increment(retryCount);
        }
    }

    /** A request to {@code group} ended with an upstream error of this kind. */
    public void upstreamError(String group, String kind) {
        upstreamErrors.computeIfAbsent(List.of(group, kind), k -> Counter.builder("merapi.upstream.errors")
                .description("requests an upstream error ended, by kind").tags("group", group, "kind", kind).register(registry)).increment();
    }

    /** A connect to a backend of {@code group} failed (whether or not the request was then retried). */
    public void connectError(String group) {
        connectErrors.computeIfAbsent(group, g -> Counter.builder("merapi.upstream.connect.errors")
                .description("failed connects to upstream backends").tag("group", g).register(registry)).increment();
    }

    /** An attempt got its upstream connection to {@code group}: from the pool ({@code reused}) or new. */
    public void upstreamConnection(String group, boolean reused) {
        upstreamConnections.computeIfAbsent(List.of(group, Boolean.toString(reused)), k -> Counter.builder("merapi.upstream.connections")
                .description("upstream connections used by attempts, pooled (reused) or new").tags("group", group, "reused", k.get(1))
                .register(registry)).increment();
    }

    /** Counts the access-log lines dropped because its writer was behind: {@code merapi_access_log_dropped_total}. */
    public void watchAccessLogDrops(java.util.function.LongSupplier dropped) {
        FunctionCounter.builder("merapi.access.log.dropped", dropped, d -> d.getAsLong())
                .description("access-log lines dropped because the writer was behind").register(registry);
    }

    /** A reload ended. */
    public void reload(boolean ok) {
        (ok ? reloadsOk : reloadsFailed).increment();
    }

    /**
     * Reports remote configuration: fetch counts by result from {@code fetches} and the running version from
     * {@code version}, read at each scrape.
     */
    public void watchRemoteConfig(Supplier<Map<String, Long>> fetches, java.util.function.LongSupplier version) {
        this.remoteFetches = fetches;
        io.micrometer.core.instrument.Gauge.builder("merapi.remote.config.version", version, v -> v.getAsLong())
                .description("the version of the configuration running").register(registry);
    }

    private volatile Supplier<Map<String, Long>> remoteFetches = Map::of;

    /** The Prometheus text exposition of every metric, backend health read now. */
    public String scrape() {
        for (String result : remoteFetches.get().keySet()) {
            // registered once per result (later calls find it); the count is read at each scrape
            FunctionCounter.builder("merapi.remote.config.fetches", remoteFetches, f -> f.get().getOrDefault(result, 0L))
                    .description("remote configuration fetches, by how they ended").tag("result", result).register(registry);
        }
        for (String rule : SecurityEvents.counts().keySet()) {
            // registered once per rule (later calls find it); the count is read from SecurityEvents at each scrape
            FunctionCounter.builder("merapi.security.events", rule, SecurityEvents::count)
                    .description("requests and connections refused, by rule").tag("rule", rule).register(registry);
        }
        activeConnections.register(connections.get().entrySet().stream()
                .map(e -> MultiGauge.Row.of(Tags.of("listener", e.getKey()), e.getValue())).toList(), true);
        backendUp.register(health.get().stream().map(h -> MultiGauge.Row.of(Tags.of("group", h.group(), "backend", h.backend()), h.up() ? 1 : 0))
                .toList(), true);
        return registry.scrape();
    }
}

package dev.merapi.gateway;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.GatewayConfig.BackendSpec;
import dev.merapi.gateway.config.GatewayConfig.DnsSpec;
import dev.merapi.loadbalancing.discovery.DnsDiscovery;
import java.time.Duration;
import dev.merapi.gateway.config.GatewayConfig.UpstreamGroup;
import dev.merapi.gateway.config.GatewayConfig.UpstreamTlsSpec;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.gateway.routing.Router;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.health.HealthCheck;
import dev.merapi.loadbalancing.health.HttpProbe;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.proxy.Session;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.net.InetSocketAddress;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Everything one request of the gateway needs, built from one {@link GatewayConfig}: the router and a load
 * balancer per upstream group. Immutable once built (the balancers inside keep their own thread-safe state); a
 * request reads the current snapshot once and uses it to the end, so a reload never changes a request midway.
 *
 * @param config the configuration it was built from
 * @param router the routes
 * @param groups the upstream groups, by name
 */
record GatewaySnapshot(GatewayConfig config, Router router, Map<String, Group> groups) {

    /**
     * One upstream group, ready to serve.
     *
     * @param spec its configuration
     * @param balancer its load balancer
     * @param discovery its DNS discovery, which the gateway closes when the group is retired
     * @param hashKey what hashing algorithms hash
     * @param peers each backend's peer with the group's timeouts
     */
    record Group(UpstreamGroup spec, LoadBalancer balancer, Optional<DnsDiscovery> discovery, Function<Session, byte[]> hashKey,
            Map<Backend, HttpPeer> peers, Supplier<HttpPeer> demoOrigin) {
        HttpPeer peer(Backend b) {
            HttpPeer p = peers.get(b);
            if (p != null) {
                return p;
            }
            // the demo origin's port is known once the server has bound it; else a backend the balancer learned since
            return b.name().equals(DEMO_ORIGIN_NAME) ? demoOrigin.get() : b.peer().withOptions(options(spec));
        }
    }

    /** The backend name of the built-in demo origin ({@code demo-origin} in the configuration). */
    static final String DEMO_ORIGIN_NAME = BackendSpec.DEMO_ORIGIN + ":80";

    /** Whether a configuration names the built-in demo origin as a backend. */
    static boolean usesDemoOrigin(GatewayConfig config) {
        return config.upstreams().stream().anyMatch(g -> g.backends().stream().anyMatch(BackendSpec::isDemoOrigin));
    }

    /**
     * Builds a snapshot. {@code previous} lends its balancers to groups whose backends and balancing did not change,
     * so that their health state, and the pooled connections to their peers, carry over a reload.
     */
    static GatewaySnapshot build(GatewayConfig config, @Nullable GatewaySnapshot previous) {
        return build(config, previous, () -> {
            throw new IllegalStateException("the built-in demo origin does not run in this gateway");
        });
    }

    /**
     * Builds a snapshot whose {@code demo-origin} backends are at the address {@code demoOrigin} gives (read per
     * request to such a backend, once the server has bound it).
     */
    static GatewaySnapshot build(GatewayConfig config, @Nullable GatewaySnapshot previous, Supplier<InetSocketAddress> demoOrigin) {
        Map<String, Group> groups = new HashMap<>();
        for (UpstreamGroup g : config.upstreams()) {
            @Nullable Group old = previous == null ? null : previous.groups().get(g.name());
            Optional<DnsDiscovery> discovery;
            LoadBalancer lb;
            if (old != null && sameBalancing(old.spec(), g)) {
                discovery = old.discovery();
                lb = old.balancer();
            } else {
                Optional<UpstreamTls> tls = g.tls().map(UpstreamTlsSpec::load);
                discovery = g.dns().map(d -> discovery(d, g.tls(), tls));
                lb = balancer(g, discovery, tls);
            }
            PeerOptions options = options(g);
            Map<Backend, HttpPeer> peers = new HashMap<>();
            for (Backend b : lb.backends()) {
                if (!b.name().equals(DEMO_ORIGIN_NAME)) {
                    peers.put(b, b.peer().withOptions(options));
                }
            }
            groups.put(g.name(), new Group(g, lb, discovery, UpstreamSpec.hashKey(g.hashKey()), Map.copyOf(peers),
                    () -> HttpPeer.of(demoOrigin.get(), false, "").withOptions(options)));
        }
        return new GatewaySnapshot(config, Router.of(config.routes()), Map.copyOf(groups));
    }

    /** A static backend; with TLS, its SNI the group's {@code sni} or else its host. */
    private static Backend backend(BackendSpec s, UpstreamGroup g, Optional<UpstreamTls> tls) {
        Backend.Builder b = Backend.builder(s.isDemoOrigin() ? DEMO_ORIGIN_NAME : s.address()).weight(s.weight());
        tls.ifPresent(t -> b.tls(true).upstreamTls(t));
        g.tls().flatMap(UpstreamTlsSpec::sni).ifPresent(b::sni);
        return b.build();
    }

    /** The groups of this snapshot whose balancer {@code next} does not use any more. */
    List<Group> retiredBy(GatewaySnapshot next) {
        return groups.values().stream().filter(o -> next.groups().values().stream().noneMatch(g -> g.balancer() == o.balancer())).toList();
    }

    private static boolean sameBalancing(UpstreamGroup a, UpstreamGroup b) {
        return a.backends().equals(b.backends()) && a.dns().equals(b.dns()) && a.algorithm().equals(b.algorithm())
                && a.healthCheck().equals(b.healthCheck()) && a.tls().equals(b.tls())
                && a.protocol() == b.protocol() && a.maxStreamsPerConnection() == b.maxStreamsPerConnection();
    }

    static PeerOptions options(UpstreamGroup g) {
        return PeerOptions.builder().connectTimeout(g.connectTimeout()).readTimeout(g.readTimeout()).writeTimeout(g.writeTimeout())
                .idleTimeout(g.idleTimeout()).protocol(g.protocol()).maxStreamsPerConnection(g.maxStreamsPerConnection()).build();
    }

    /**
     * The DNS discovery of a {@code dns} section; it owns a resolver thread until closed. With TLS, each backend found
     * speaks it with {@code tls}, its SNI the DNS name unless the section gives one.
     */
    private static DnsDiscovery discovery(DnsSpec d, Optional<UpstreamTlsSpec> spec, Optional<UpstreamTls> tls) {
        DnsDiscovery.Builder dns = DnsDiscovery.builder().timeout(d.timeout())
                .nameServers(d.nameServers().stream().map(a -> Backend.of(a).address()).toList());
        tls.ifPresent(t -> dns.tls(true).upstreamTls(t));
        spec.flatMap(UpstreamTlsSpec::sni).ifPresent(dns::sni);
        d.name().ifPresent(n -> dns.name(n).port(d.port()));
        d.srv().ifPresent(dns::srv);
        return dns.build();
    }

    private static LoadBalancer balancer(UpstreamGroup g, Optional<DnsDiscovery> discovery, Optional<UpstreamTls> tls) {
        LoadBalancer.Builder b = LoadBalancer.builder(SelectionAlgorithm.parse(g.algorithm())).name(g.name());
        if (discovery.isPresent()) {
            // the gateway warms the group (a first discovery) before it takes requests; the health-check service asks
            // again when the answer's TTL runs out, within refresh
            Duration refresh = g.dns().orElseThrow().refresh();
            b.discovery(discovery.get()).refreshInterval(refresh)
                    .minRefreshInterval(Duration.ofSeconds(1).compareTo(refresh) < 0 ? Duration.ofSeconds(1) : refresh);
        } else {
            b.backends(g.backends().stream().map(s -> backend(s, g, tls)).toList());
        }
        g.healthCheck().ifPresent(h -> b.healthCheck(HealthCheck.builder(HttpProbe.of(h.path())).interval(h.interval()).timeout(h.timeout())
                .rise(h.rise()).fall(h.fall()).build()));
        return b.build();
    }
}

package dev.merapi.gateway;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.GatewayConfig.UpstreamGroup;
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
import java.util.function.Function;
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
     * @param hashKey what hashing algorithms hash
     * @param peers each backend's peer with the group's timeouts
     */
    record Group(UpstreamGroup spec, LoadBalancer balancer, Function<Session, byte[]> hashKey, Map<Backend, HttpPeer> peers) {
        HttpPeer peer(Backend b) {
            HttpPeer p = peers.get(b);
            return p != null ? p : b.peer().withOptions(options(spec)); // a backend the balancer learned since
        }
    }

    /**
     * Builds a snapshot. {@code previous} lends its balancers to groups whose backends and balancing did not change,
     * so that their health state, and the pooled connections to their peers, carry over a reload.
     */
    static GatewaySnapshot build(GatewayConfig config, @Nullable GatewaySnapshot previous) {
        Map<String, Group> groups = new HashMap<>();
        for (UpstreamGroup g : config.upstreams()) {
            Group old = previous == null ? null : previous.groups().get(g.name());
            LoadBalancer lb = old != null && sameBalancing(old.spec(), g) ? old.balancer() : balancer(g);
            Map<Backend, HttpPeer> peers = new HashMap<>();
            for (Backend b : lb.backends()) {
                peers.put(b, b.peer().withOptions(options(g)));
            }
            groups.put(g.name(), new Group(g, lb, UpstreamSpec.hashKey(g.hashKey()), Map.copyOf(peers)));
        }
        return new GatewaySnapshot(config, Router.of(config.routes()), Map.copyOf(groups));
    }

    /** The balancers of this snapshot that {@code next} does not use any more. */
    List<LoadBalancer> retiredBy(GatewaySnapshot next) {
        return groups.values().stream().map(Group::balancer)
                .filter(lb -> next.groups().values().stream().noneMatch(g -> g.balancer() == lb)).toList();
    }

    private static boolean sameBalancing(UpstreamGroup a, UpstreamGroup b) {
        return a.backends().equals(b.backends()) && a.algorithm().equals(b.algorithm()) && a.healthCheck().equals(b.healthCheck());
    }

    static PeerOptions options(UpstreamGroup g) {
        return PeerOptions.builder().connectTimeout(g.connectTimeout()).readTimeout(g.readTimeout()).writeTimeout(g.writeTimeout())
                .idleTimeout(g.idleTimeout()).build();
    }

    private static LoadBalancer balancer(UpstreamGroup g) {
        LoadBalancer.Builder b = LoadBalancer.builder(SelectionAlgorithm.parse(g.algorithm())).name(g.name())
                .backends(g.backends().stream().map(s -> Backend.of(s.address(), s.weight())).toList());
        g.healthCheck().ifPresent(h -> b.healthCheck(HealthCheck.builder(HttpProbe.of(h.path())).interval(h.interval()).timeout(h.timeout())
                .rise(h.rise()).fall(h.fall()).build()));
        return b.build();
    }
}

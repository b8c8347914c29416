package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.core.upstreams.UpstreamProtocol;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GatewaySnapshotTest {

    private static GatewayConfig config(String appBackend) {
        return ConfigLoader.of().parse("""
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams:
                  - {name: app, backends: ["%s"]}
                  - {name: other, backends: ["127.0.0.1:2"]}
                routes: [{name: all, upstream: app}]
                admin: {enabled: false}
                """.formatted(appBackend), "gw.yaml", Path.of("."));
    }

    @Test
    void aGroupWhoseBalancingDidNotChangeKeepsItsBalancerAcrossARebuild() {
        GatewaySnapshot first = GatewaySnapshot.build(config("127.0.0.1:1"), null);
        GatewaySnapshot second = GatewaySnapshot.build(config("127.0.0.1:1"), first);

        assertThat(second.groups().get("app").balancer()).isSameAs(first.groups().get("app").balancer());
        assertThat(second.groups().get("other").balancer()).isSameAs(first.groups().get("other").balancer());
        assertThat(first.retiredBy(second)).isEmpty();
    }

    @Test
    void aGroupWhoseBackendsChangedGetsANewBalancerAndOnlyItsOldOneRetires() {
        GatewaySnapshot first = GatewaySnapshot.build(config("127.0.0.1:1"), null);
        GatewaySnapshot second = GatewaySnapshot.build(config("127.0.0.1:3"), first);

        assertThat(second.groups().get("app").balancer()).isNotSameAs(first.groups().get("app").balancer());
        assertThat(second.groups().get("app").balancer().backends()).extracting(b -> b.name()).containsExactly("127.0.0.1:3");
        assertThat(second.groups().get("other").balancer()).isSameAs(first.groups().get("other").balancer());
        assertThat(first.retiredBy(second)).extracting(g -> g.spec().name()).containsExactly("app");
    }

    @Test
    void aGroupWhoseUpstreamProtocolChangedGetsANewBalancerAndPeersThatSpeakIt() {
        GatewaySnapshot first = GatewaySnapshot.build(config("127.0.0.1:1"), null);
        GatewayConfig h2 = ConfigLoader.of().parse("""
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams:
                  - {name: app, protocol: h2, max-streams-per-connection: 7, backends: ["127.0.0.1:1"]}
                  - {name: other, backends: ["127.0.0.1:2"]}
                routes: [{name: all, upstream: app}]
                admin: {enabled: false}
                """, "gw.yaml", Path.of("."));
        GatewaySnapshot second = GatewaySnapshot.build(h2, first);

        assertThat(second.groups().get("app").balancer()).isNotSameAs(first.groups().get("app").balancer());
        assertThat(second.groups().get("app").peers().values()).singleElement().satisfies(p -> {
            assertThat(p.options().protocol()).isEqualTo(UpstreamProtocol.HTTP2);
            assertThat(p.options().maxStreamsPerConnection()).isEqualTo(7);
        });
        assertThat(first.groups().get("app").peers().values()).singleElement()
                .satisfies(p -> assertThat(p.options().protocol()).isEqualTo(UpstreamProtocol.HTTP1));
        assertThat(first.retiredBy(second)).extracting(g -> g.spec().name()).containsExactly("app");
    }

    @Test
    void aFirstBuildMakesABalancerPerGroup() {
        GatewaySnapshot snapshot = GatewaySnapshot.build(config("127.0.0.1:1"), null);

        assertThat(snapshot.groups()).containsOnlyKeys("app", "other");
        assertThat(snapshot.groups().get("other").peers()).hasSize(1);
    }
}

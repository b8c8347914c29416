package dev.merapi.loadbalancing.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.testkit.TestDnsServer;
import io.netty.handler.codec.dns.DnsResponseCode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** DNS discovery against a real DNS server on loopback that the test runs. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsDiscoveryIT {
    private TestDnsServer dns;

    @BeforeEach
    void startDns() {
        dns = TestDnsServer.start();
    }

    @AfterEach
    void stopDns() {
        dns.close();
    }

    private DnsDiscovery.Builder discovery() {
        return DnsDiscovery.builder().nameServers(List.of(dns.address())).timeout(Duration.ofMillis(500));
    }

    @Test
    void aAndAaaaRecordsBecomeBackendsWithTheSmallestTtl() throws Exception {
        dns.a("app.test", 30, "127.0.0.2", "127.0.0.1", "::1");
        try (DnsDiscovery d = discovery().name("app.test").port(8080).weight(3).build()) {
            ServiceDiscovery.Discovered found = d.discover();
            assertThat(found.backends()).extracting(Backend::name).containsExactly("127.0.0.1:8080", "127.0.0.2:8080", "[::1]:8080");
            assertThat(found.backends()).extracting(Backend::weight).containsOnly(3);
            assertThat(found.validFor()).contains(Duration.ofSeconds(30));
        }
    }

    @Test
    void srvRecordsGivePortsAndWeightsOfTheLowestPriority() throws Exception {
        dns.a("a.app.test", 60, "127.0.0.1").a("b.app.test", 20, "127.0.0.2").a("backup.app.test", 60, "127.0.0.9");
        dns.srv("_http._tcp.app.test", 45,
                new TestDnsServer.Srv(10, 3, 8081, "a.app.test"),
                new TestDnsServer.Srv(10, 1, 8082, "b.app.test"),
                new TestDnsServer.Srv(20, 1, 8083, "backup.app.test"));
        try (DnsDiscovery d = discovery().srv("_http._tcp.app.test").tls(true).build()) {
            ServiceDiscovery.Discovered found = d.discover();
            assertThat(found.backends()).extracting(Backend::toString)
                    .containsExactly("https://127.0.0.1:8081,weight=3", "https://127.0.0.2:8082");
            assertThat(found.backends()).extracting(Backend::sni).containsExactly("a.app.test", "b.app.test");
            assertThat(found.validFor()).contains(Duration.ofSeconds(20));
        }
    }

    @Test
    void aChangedAnswerIsSwappedInAndAFailedOneKeepsTheLastGoodSet() throws Exception {
        dns.a("app.test", 1, "127.0.0.1", "127.0.0.2");
        try (DnsDiscovery d = discovery().name("app.test").port(80).ipv6(false).build()) {
            LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.roundRobin()).discovery(d).build();
            assertThat(lb.backends()).isEmpty();
            assertThat(lb.update()).isTrue();
            assertThat(lb.backends()).extracting(Backend::name).containsExactly("127.0.0.1:80", "127.0.0.2:80");

            dns.a("app.test", 1, "127.0.0.3");
            assertThat(lb.update()).isTrue();
            assertThat(lb.backends()).extracting(Backend::name).containsExactly("127.0.0.3:80");
            assertThat(lb.update()).as("the same answer is no change").isFalse();

            dns.failWith(DnsResponseCode.SERVFAIL);
            assertThat(lb.update()).isFalse();
            dns.failWith(null).remove("app.test"); // NXDOMAIN
            assertThat(lb.update()).isFalse();
            dns.silence(true); // no answer at all: a timeout
            assertThat(lb.update()).isFalse();
            assertThat(lb.backends()).extracting(Backend::name).containsExactly("127.0.0.3:80");
            assertThat(lb.discoveryFailures()).isEqualTo(3);
            assertThat(lb.select("x")).map(Backend::name).contains("127.0.0.3:80");
        }
    }

    @Test
    void errorsAreThrownToTheBalancer() {
        dns.failWith(DnsResponseCode.REFUSED);
        try (DnsDiscovery d = discovery().name("app.test").port(80).build()) {
            assertThatThrownBy(d::discover).isInstanceOf(IOException.class).hasMessageContaining("Refused");
        }
        assertThatThrownBy(() -> DnsDiscovery.builder().name("x").build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DnsDiscovery.builder().name("x").port(1).srv("_x._tcp").build()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theBackgroundServiceResolvesAgainWhenTheTtlRunsOut() throws Exception {
        dns.a("app.test", 1, "127.0.0.1");
        try (DnsDiscovery d = discovery().name("app.test").port(80).ipv6(false).build()) {
            LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.ketama()).discovery(d)
                    .minRefreshInterval(Duration.ofMillis(100)).refreshInterval(Duration.ofSeconds(60)).build();
            Server server = new Server(ServerConfig.builder().threads(1).name("dns").build());
            server.addService(lb.backgroundService());
            server.start();
            try {
                awaitBackends(lb, List.of("127.0.0.1:80"));
                int asked = dns.questionCount();
                dns.a("app.test", 1, "127.0.0.1", "127.0.0.4");
                awaitBackends(lb, List.of("127.0.0.1:80", "127.0.0.4:80"));
                assertThat(dns.questionCount()).isGreaterThan(asked);
            } finally {
                server.shutdownFast();
            }
        }
    }

    private static void awaitBackends(LoadBalancer lb, List<String> names) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!lb.backends().stream().map(Backend::name).toList().equals(names) && System.nanoTime() - deadline < 0) {
            Thread.sleep(20);
        }
        assertThat(lb.backends()).extracting(Backend::name).containsExactlyElementsOf(names);
    }
}

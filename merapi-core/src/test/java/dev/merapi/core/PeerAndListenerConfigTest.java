package dev.merapi.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PeerAndListenerConfigTest {

    @Test
    void aPeerIsWrittenAsLogsShouldShowIt() {
        assertThat(HttpPeer.of("127.0.0.1:9")).hasToString("127.0.0.1:9");
        assertThat(HttpPeer.of("[::1]:8443", true, "origin.example")).hasToString("[::1]:8443 (tls, sni=origin.example)");
        assertThat(HttpPeer.of("origin.internal:80", true, "")).hasToString("origin.internal:80 (tls)");
        assertThat(HttpPeer.unix(java.nio.file.Path.of("/run/o.sock"))).hasToString("unix:/run/o.sock");
    }

    @Test
    void aNamedPeerIsWrittenWithItsNameFirst() {
        assertThat(HttpPeer.of("10.0.0.1:8000").withName("api-1")).hasToString("api-1 (10.0.0.1:8000)");
        assertThat(HttpPeer.of("[::1]:8443", true, "origin.example").withName("api-2"))
                .hasToString("api-2 ([::1]:8443, tls, sni=origin.example)");
        assertThat(HttpPeer.unix(java.nio.file.Path.of("/run/o.sock")).withName("local")).hasToString("local (unix:/run/o.sock)");
        assertThat(HttpPeer.of("10.0.0.1:8000").name()).isEmpty();
        assertThat(HttpPeer.of("10.0.0.1:8000").withName("api-1").name()).contains("api-1");
        assertThat(HttpPeer.of("10.0.0.1:8000").withName("api-1").withName("")).hasToString("10.0.0.1:8000");
    }

    @Test
    void aPeerNameKeepsTheReuseKeyAndSurvivesNewOptions() {
        HttpPeer plain = HttpPeer.of("127.0.0.1:1");
        HttpPeer named = plain.withName("api-1");
        assertThat(named.reuseKey()).isEqualTo(plain.reuseKey());
        assertThat(named).isNotEqualTo(plain).isEqualTo(HttpPeer.of("127.0.0.1:1").withName("api-1"));
        assertThat(named.withOptions(PeerOptions.DEFAULT).name()).contains("api-1");
    }

    @Test
    void aPeerNameCannotForgeALogLine() {
        assertThatThrownBy(() -> HttpPeer.of("127.0.0.1:1").withName("a\nupstream-failure peer=x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpPeer.of("127.0.0.1:1").withName("a\u007f")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void peersRefuseRetriesOfNonIdempotentRequestsUnlessTheyOptIn() {
        assertThat(PeerOptions.DEFAULT.retryNonIdempotent()).isFalse();
        assertThat(PeerOptions.builder().retryNonIdempotent(true).build().retryNonIdempotent()).isTrue();
    }

    @Test
    void ipLiteralsAreResolvedWithoutALookupAndNamesStayUnresolved() {
        InetSocketAddress v4 = (InetSocketAddress) HttpPeer.of("127.0.0.1:8080").address();
        assertThat(v4.isUnresolved()).isFalse();
        assertThat(v4.getPort()).isEqualTo(8080);
        InetSocketAddress v6 = (InetSocketAddress) HttpPeer.of("[::1]:443", true, "example.org").address();
        assertThat(v6.isUnresolved()).isFalse();
        InetSocketAddress named = (InetSocketAddress) HttpPeer.of("origin.internal:80").address();
        assertThat(named.isUnresolved()).isTrue();
    }

    @Test
    void badPeerAddressesAreRejected() {
        assertThatThrownBy(() -> HttpPeer.of("nohost")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpPeer.of("h:0")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpPeer.of("h:99999")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpPeer.of("h:abc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void reuseKeyIgnoresOptionsButNotTlsOrSni() {
        HttpPeer a = HttpPeer.of("127.0.0.1:1", false, "");
        HttpPeer b = a.withOptions(PeerOptions.builder().readTimeout(Duration.ofSeconds(1)).build());
        assertThat(a.reuseKey()).isEqualTo(b.reuseKey());
        assertThat(HttpPeer.of("127.0.0.1:1", true, "").reuseKey()).isNotEqualTo(a.reuseKey());
        assertThat(HttpPeer.of("127.0.0.1:1", false, "x").reuseKey()).isNotEqualTo(a.reuseKey());
    }

    @Test
    void noTimeoutMayBeInfiniteOrZero() {
        assertThatThrownBy(() -> PeerOptions.builder().connectTimeout(Duration.ZERO).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PeerOptions.builder().readTimeout(Duration.ofSeconds(-1)).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Http1Options.builder().headerReadTimeout(Duration.ZERO).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Http1Options.builder().keepAliveTimeout(Duration.ZERO).build()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void defaultsAreBoundedAndStrict() {
        Http1Options d = Http1Options.DEFAULT;
        assertThat(d.allowConnect()).isFalse();
        assertThat(d.allowTrace()).isFalse();
        assertThat(d.maxUnprocessedBytes()).isEqualTo(64 * 1024);
        assertThat(d.headerReadTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(60));
        assertThat(d.firstByteTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(60));
        assertThat(d.keepAliveTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(120));
        assertThat(d.bodyReadTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(120));
        assertThat(d.writeTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(120));
        assertThat(PeerOptions.DEFAULT.connectTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(10));
        assertThat(d.limits().maxHeaderBytes()).isLessThanOrEqualTo(64 * 1024);
        assertThat(d.limits().maxRequestLine()).isLessThanOrEqualTo(16 * 1024);
        assertThat(d.limits().maxHeaderCount()).isLessThanOrEqualTo(200);
    }

    @Test
    void theUnprocessedBytesBoundCannotBeTooSmall() {
        assertThatThrownBy(() -> Http1Options.builder().maxUnprocessedBytes(1023).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxUnprocessedBytes");
        assertThat(Http1Options.builder().maxUnprocessedBytes(1024).build().maxUnprocessedBytes()).isEqualTo(1024);
    }

    @Test
    void listenerAddressesParse() {
        assertThat(ListenerConfig.tcp("127.0.0.1:0").address()).isEqualTo(new InetSocketAddress("127.0.0.1", 0));
        assertThat(((InetSocketAddress) ListenerConfig.tcp("[::1]:8080").address()).getPort()).isEqualTo(8080);
        assertThat(ListenerConfig.tcp("127.0.0.1:80").tcpNoDelay()).isTrue();
        assertThatThrownBy(() -> ListenerConfig.tcp("127.0.0.1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ListenerConfig.tcp("127.0.0.1:70000")).isInstanceOf(IllegalArgumentException.class);
    }
}

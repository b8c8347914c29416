package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@code merapi} command line, run in-process through picocli with captured output. Only invocations that
 * end on their own are run here; the ones that start a server are in {@link GracefulShutdownIT}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MainTest {

    /** One in-process run: the exit code and what was written to out and err. */
    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void helpListsEveryCommand() {
        Run r = run("--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Usage: merapi", "Commands:", "proxy", "help", "--listen", "--admin", "--grace-period", "--version");
        assertThat(r.out().replaceAll("\\s+", " ")).contains("admin listener on 127.0.0.1:9901", "'merapi config example' prints");
        assertThat(r.out()).containsPattern("(?m)^\\s+proxy\\s+Runs a plain reverse proxy");
        assertThat(r.out()).containsPattern("(?m)^\\s+help\\s+");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void proxyHelpDocumentsItsOptions() {
        Run r = run("proxy", "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Usage: merapi proxy", "--listen", "--upstream", "--threads", "--transport", "--grace-period",
                "--via=NAME", "--trusted-proxy=CIDR", "508 Loop Detected", "X-Forwarded-For",
                "--balance", "least-conn", "p2c-ewma", "maglev", "--hash-key", "--health-check",
                "--max-connections=N", "--max-connections-per-ip=N");
        assertThat(r.out().replaceAll("\\s+", " ")).contains("(default: half the open-file limit, now "
                + dev.merapi.core.listeners.ListenerConfig.DEFAULT_MAX_CONNECTIONS + ")", "0 for no cap (default: 0)");
    }

    @Test
    void badTrustedProxyIsAClearErrorWithExitCode2() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--trusted-proxy", "10.0.0.0/33");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi proxy: invalid prefix length in trusted proxy '10.0.0.0/33'");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void badViaNameIsAClearErrorWithExitCode2() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--via", "two words");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi proxy: via, the Via pseudonym, must be empty or a token");
    }

    @Test
    void connectionCapsMustBePositive() {
        Run zero = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--max-connections", "0");
        assertThat(zero.exitCode()).isEqualTo(2);
        assertThat(zero.err()).isEqualTo("merapi proxy: --max-connections must be positive: 0" + System.lineSeparator());

        Run negative = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--max-connections-per-ip", "-1");
        assertThat(negative.exitCode()).isEqualTo(2);
        assertThat(negative.err()).startsWith("merapi proxy: --max-connections-per-ip must be 0 (no cap) or more");

        Run word = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--max-connections", "many");
        assertThat(word.exitCode()).isEqualTo(2);
        assertThat(word.err()).contains("'many'", "--max-connections");
    }

    @Test
    void helpCommandShowsTheUsageOfAnotherCommand() {
        Run r = run("help", "proxy");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Usage: merapi proxy", "--upstream");
    }

    @Test
    void versionNamesTheProgram() {
        Run r = run("--version");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).startsWith("merapi ");
    }

    @Test
    void badUpstreamIsAClearErrorWithExitCode2() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "not-a-host-port");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("merapi proxy: --upstream: expected host:port, got 'not-a-host-port'" + System.lineSeparator());
        assertThat(r.out()).isEmpty();
    }

    @Test
    void upstreamPortOutOfRangeIsRejected() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:70000");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi proxy: --upstream: ").contains("port out of range");
    }

    @Test
    void missingUpstreamIsAUsageError() {
        Run r = run("proxy", "--listen", "127.0.0.1:0");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("Missing required option", "--upstream").contains("Usage: merapi proxy");
    }

    @Test
    void unknownOptionIsAUsageError() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--bogus");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--bogus'");
    }

    @Test
    void badListenAddressIsRejected() {
        Run r = run("proxy", "--listen", "127.0.0.1", "--upstream", "127.0.0.1:9");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi proxy: ").contains("expected host:port", "'127.0.0.1'");
    }

    @Test
    void badGracePeriodIsRejected() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--grace-period", "soon");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("invalid duration 'soon'", "30s");
    }

    @Test
    void zeroThreadsIsRejected() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--threads", "0");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("threads must be 1 to 4096: ");
    }

    @Test
    void unknownUpstreamProtocolIsRejectedWithOneLine() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--upstream-protocol", "spdy");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("merapi proxy: --upstream-protocol: unknown upstream protocol 'spdy': expected h1, h2 or h2-preferred"
                + System.lineSeparator());
        assertThat(run("proxy", "--help").out()).contains("--upstream-protocol=h1|h2|h2-preferred");
    }

    @Test
    void unknownTransportIsRejected() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--transport", "carrier-pigeon");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("unknown transport 'carrier-pigeon'");
    }

    @Test
    void demoWithBadListenAddressIsRejected() {
        Run r = run("--listen", "localhost");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi: ").contains("expected host:port");
    }

    @Test
    void listenAddressInUseFailsWithExitCode1() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Run r = run("proxy", "--listen", "127.0.0.1:" + taken.getLocalPort(), "--upstream", "127.0.0.1:9", "--threads", "1");

            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err()).isEqualTo("merapi proxy: 127.0.0.1:" + taken.getLocalPort() + " is already in use" + System.lineSeparator());
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void proxyHelpDocumentsTheTunnelFlags() {
        Run r = run("proxy", "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("--connect-allow=HOST:PORT[,HOST:PORT...]", "--tunnel-idle-timeout=DURATION");
        assertThat(r.out().replaceAll("\\s+", " ")).contains("without this flag every CONNECT gets 405", "(default: 60m)");
    }

    @Test
    void badTunnelFlagsAreRefusedNamingTheFlag() {
        Run open = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--connect-allow", "*:*");
        assertThat(open.exitCode()).isEqualTo(2);
        assertThat(open.err()).contains("--connect-allow", "'*:*' would tunnel anywhere");
        Run zero = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--tunnel-idle-timeout", "0s");
        assertThat(zero.exitCode()).isEqualTo(2);
        assertThat(zero.err()).contains("--tunnel-idle-timeout");
    }

    @Test
    void proxyHelpDocumentsTheUpstreamTlsFlags() {
        Run r = run("proxy", "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("[https://]HOST:PORT[,weight=N]", "--upstream-ca=FILE", "--upstream-sni=NAME",
                "--upstream-client-cert=FILE", "--upstream-client-key=FILE", "--upstream-insecure", "JDK's trust store");
    }

    @Test
    void upstreamTlsFlagsWithoutAnHttpsUpstreamAreRejected() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--upstream-insecure");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("merapi proxy: the --upstream-* TLS flags need an https:// upstream" + System.lineSeparator());
    }

    @Test
    void anUnreadableUpstreamCaExitsWithTwoAndOneLineNamingTheFlag() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "https://127.0.0.1:9", "--upstream-ca", "/nonexistent/ca.pem");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi proxy: --upstream-ca: cannot read the CA bundle file /nonexistent/ca.pem")
                .hasLineCount(1);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aClientCertificateNeedsItsKeyAndAKeyMustBePem(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
        java.nio.file.Path cert = java.nio.file.Files.writeString(dir.resolve("c.pem"), "not a certificate\n");
        Run alone = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "https://127.0.0.1:9", "--upstream-client-cert", cert.toString());
        assertThat(alone.exitCode()).isEqualTo(2);
        assertThat(alone.err()).contains("--upstream-client-cert and --upstream-client-key go together");

        Run bad = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "https://127.0.0.1:9", "--upstream-client-cert", cert.toString(),
                "--upstream-client-key", cert.toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).startsWith("merapi proxy: --upstream-client-cert/--upstream-client-key: invalid upstream TLS settings")
                .hasLineCount(1);
    }

    @Test
    void insecureWithACaIsRejectedAsContradictory() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "https://127.0.0.1:9", "--upstream-insecure",
                "--upstream-ca", "/nonexistent/ca.pem");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--upstream-insecure verifies nothing");
    }

    @Test
    void httpAndBareUpstreamsStayPlainAndHttpsOnesSpeakTls() {
        assertThat(UpstreamSpec.parseOne("127.0.0.1:80").tls()).isFalse();
        assertThat(UpstreamSpec.parseOne("http://127.0.0.1:80/").tls()).isFalse();
        dev.merapi.loadbalancing.Backend tls = UpstreamSpec.parseOne("https://origin.test:8443,weight=3");
        assertThat(tls.tls()).isTrue();
        assertThat(tls.weight()).isEqualTo(3);
        assertThat(tls.peer().tlsServerName()).isEqualTo("origin.test");
        assertThat(tls.peer().tlsVerifyName()).isEqualTo("origin.test");
        assertThat(tls.peer().upstreamTls().verify()).isTrue();
        assertThat(UpstreamSpec.withTls(java.util.List.of(tls), null, "api.test").getFirst().peer().tlsServerName()).isEqualTo("api.test");
    }

    @Test
    void badUpstreamWeightsAndDuplicatesAreRejected() {
        assertThat(run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9,weight=0").err())
                .contains("weight must be 1 to 10000");
        assertThat(run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9,weight=x").err())
                .contains("weight must be a number");
        assertThat(run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9,backup").err())
                .contains("unknown option 'backup'");
        Run twice = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--upstream", "127.0.0.1:9");
        assertThat(twice.exitCode()).isEqualTo(2);
        assertThat(twice.err()).contains("'127.0.0.1:9' is given twice");
    }

    @Test
    void badBalanceHashKeyAndHealthCheckAreRejected() {
        Run balance = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--balance", "fastest");
        assertThat(balance.exitCode()).isEqualTo(2);
        assertThat(balance.err()).startsWith("merapi proxy: unknown balancing algorithm 'fastest'");
        Run key = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--hash-key", "cookie");
        assertThat(key.exitCode()).isEqualTo(2);
        assertThat(key.err()).contains("--hash-key: expected uri, client-ip or header:NAME");
        Run check = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--health-check", "healthz");
        assertThat(check.exitCode()).isEqualTo(2);
        assertThat(check.err()).contains("a health-check path starts with '/'");
    }

    @Test
    void embeddedDefaultOnABusyPortSaysSoAndNeverStartsTheDemoOrigin() throws IOException {
        ch.qos.logback.classic.Logger serverLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                dev.merapi.core.server.Server.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines = new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        serverLog.addAppender(lines);
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Run r = run("--listen", "127.0.0.1:" + taken.getLocalPort(), "--threads", "1");

            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err()).isEqualTo("merapi: 127.0.0.1:" + taken.getLocalPort() + " is already in use" + System.lineSeparator());
            assertThat(r.out()).isEmpty();
            assertThat(lines.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .noneMatch(l -> l.contains("listening on"));
        } finally {
            serverLog.detachAppender(lines);
        }
    }

    @Test
    void theEmbeddedDefaultIsTheExampleWithTheCommandLineAddresses() {
        dev.merapi.gateway.config.GatewayConfig example = dev.merapi.gateway.config.ConfigLoader.of()
                .parse(dev.merapi.gateway.config.ConfigLoader.exampleText(), "example", java.nio.file.Path.of("."));

        dev.merapi.gateway.config.GatewayConfig c = Main.embeddedDefault("127.0.0.1:18080", "127.0.0.1:19901", 2, "10s");

        assertThat(c.listeners().getFirst().address()).isEqualTo("127.0.0.1:18080");
        assertThat(c.admin().address()).isEqualTo("127.0.0.1:19901");
        assertThat(c.server().threads()).hasValue(2);
        assertThat(c.server().gracePeriod()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.routes()).isEqualTo(example.routes());
        assertThat(c.upstreams()).isEqualTo(example.upstreams());
        assertThat(c.upstreams()).anyMatch(g -> g.backends().stream().anyMatch(b -> b.isDemoOrigin()));
        assertThat(c.accessLog()).isEqualTo(example.accessLog());
        assertThat(c.requestId().respond()).as("the demo answer stays as the README shows it").isFalse();
    }

    @Test
    void demoWithBadAdminAddressIsRejected() {
        Run r = run("--admin", "nowhere");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi: ").contains("expected host:port");
    }

    @Test
    void durationsAcceptMillisecondsSecondsAndMinutes() {
        assertThat(Main.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Main.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Main.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Main.parseDuration("7")).isEqualTo(Duration.ofSeconds(7));
        assertThatThrownBy(() -> Main.parseDuration("1h")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid duration '1h'");
    }

    @Test
    void proxyHelpDocumentsTheTlsFlags() {
        Run r = run("proxy", "--help");

        assertThat(r.out()).contains("--tls-cert=FILE", "--tls-key=FILE", "--tls-client-ca=FILE",
                "--tls-client-auth=optional|required", "Mozilla intermediate");
    }

    @Test
    void tlsCertWithoutKeyIsAClearErrorWithExitCode2() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--tls-cert", "/nonexistent/cert.pem");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("merapi proxy: --tls-cert and --tls-key go together" + System.lineSeparator());
        assertThat(r.out()).isEmpty();
    }

    @Test
    void unreadableTlsFilesAreAClearErrorWithExitCode2() {
        Run r = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--tls-cert", "/nonexistent/cert.pem",
                "--tls-key", "/nonexistent/key.pem");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("merapi proxy: cannot read the certificate file /nonexistent/cert.pem");
        assertThat(r.err().lines().count()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void clientAuthWithoutTlsOrWithABadValueIsAClearErrorWithExitCode2() {
        Run alone = run("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--tls-client-auth", "required");
        assertThat(alone.exitCode()).isEqualTo(2);
        assertThat(alone.err()).startsWith("merapi proxy: --tls-client-ca and --tls-client-auth need --tls-cert and --tls-key");
    }
}

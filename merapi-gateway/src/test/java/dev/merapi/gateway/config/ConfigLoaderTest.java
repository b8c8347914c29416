package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.merapi.gateway.config.GatewayConfig.Action;
import dev.merapi.gateway.config.GatewayConfig.PathMatch;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.proxy.ConnectTarget;
import dev.merapi.proxy.TunnelOptions;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ConfigLoader}: defaults, units, references, and every kind of error with its exact position. */
class ConfigLoaderTest {
    private static final String HEAD = """
            listeners:
              - name: main
                address: 127.0.0.1:8080
            upstreams:
              - name: app
                backends: [127.0.0.1:9001]
            """;

    private static GatewayConfig parse(String yaml) {
        return ConfigLoader.withEnvironment(Map.of("TOKEN", "s3cret-value")::get).parse(yaml, "gw.yaml", Path.of("."));
    }

    private static List<String> errors(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void theExampleIsValid() {
        GatewayConfig c = parse(ConfigLoader.exampleText());

        assertThat(c.listeners()).extracting(GatewayConfig.Listener::address).containsExactly("127.0.0.1:8080");
        assertThat(c.upstreams()).extracting(GatewayConfig.UpstreamGroup::name).containsExactly("app", "demo");
        assertThat(c.upstream("demo").orElseThrow().backends()).extracting(GatewayConfig.BackendSpec::address).containsExactly("demo-origin");
        assertThat(c.routes()).hasSize(4);
        assertThat(c.admin().address()).isEqualTo("127.0.0.1:9901");
    }

    @Test
    void aDnsGroupNeedsANameWithAPortOrAnSrvNameAndNoStaticBackends() {
        String head = "listeners: [{name: main, address: \"127.0.0.1:0\"}]\nroutes: [{name: all, upstream: app}]\nupstreams:\n";
        GatewayConfig ok = parse(head + "  - {name: app, dns: {name: app.internal, port: 8080}}\n");
        assertThat(ok.upstreams().getFirst().dns()).hasValueSatisfying(d -> {
            assertThat(d.name()).hasValue("app.internal");
            assertThat(d.port()).isEqualTo(8080);
            assertThat(d.refresh()).isEqualTo(java.time.Duration.ofSeconds(30));
        });
        assertThat(ok.upstreams().getFirst().backends()).isEmpty();

        assertThat(errors(head + "  - {name: app, dns: {name: app.internal}}\n")).singleElement().asString()
                .contains("upstreams[0].dns.port: 'port' is required with name");
        assertThat(errors(head + "  - {name: app, dns: {srv: _http._tcp.app, port: 80}}\n")).singleElement().asString()
                .contains("upstreams[0].dns.port: SRV records give the ports");
        assertThat(errors(head + "  - {name: app, dns: {port: 80}}\n")).singleElement().asString()
                .contains("upstreams[0].dns: give either name (with port) or srv");
        assertThat(errors(head + "  - {name: app, backends: [127.0.0.1:1], dns: {name: a.b, port: 80}}\n")).singleElement().asString()
                .contains("upstreams[0].dns: give either backends or dns, not both");
        assertThat(errors(head + "  - {name: app, dns: {name: a.b, port: 80, name-servers: [nowhere]}}\n")).singleElement().asString()
                .contains("upstreams[0].dns.name-servers: expected host:port");
        assertThat(errors(head + "  - {name: app}\n")).singleElement().asString().contains("upstreams[0]: 'backends' is required");
    }

    @Test
    void corsRefusesCredentialsForAnyOriginAndOriginsWithAPath() {
        String head = "listeners: [{name: main, address: \"127.0.0.1:0\"}]\nupstreams: [{name: app, backends: [\"127.0.0.1:1\"]}]\n";
        GatewayConfig ok = parse(head + "routes: [{name: all, upstream: app, cors: {allow-origins: [\"https://a.example\"]}}]\n");
        assertThat(ok.routes().getFirst().filters().cors()).hasValueSatisfying(c -> {
            assertThat(c.allowMethods()).containsExactly("GET", "HEAD", "POST");
            assertThat(c.maxAge()).isEqualTo(java.time.Duration.ofMinutes(10));
            assertThat(c.allowCredentials()).isFalse();
        });

        assertThat(errors(head + "routes: [{name: all, upstream: app, cors: {allow-origins: [\"*\"], allow-credentials: true}}]\n"))
                .singleElement().asString().contains("routes[0].cors.allow-credentials: credentials cannot be allowed for any origin");
        assertThat(errors(head + "routes: [{name: all, upstream: app, cors: {allow-origins: [\"https://a.example/app\"]}}]\n"))
                .singleElement().asString().contains("routes[0].cors.allow-origins: an origin is scheme://host[:port] with no path");
        assertThat(errors(head + "routes: [{name: all, upstream: app, cors: {allow-methods: [GET]}}]\n"))
                .singleElement().asString().contains("routes[0].cors: 'allow-origins' is required");
    }

    @Test
    void theDemoOriginBackendTakesNoHealthCheck() {
        assertThat(errors("""
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: demo, backends: [demo-origin], health-check: {path: /}}]
                routes: [{name: all, upstream: demo}]
                """)).singleElement().asString().matches("gw\\.yaml:2:\\d+: upstreams\\[0]\\.health-check: "
                + "a group with the built-in demo-origin backend takes no health check");
    }

    @Test
    void defaultsFillEverythingNotGiven() {
        GatewayConfig c = parse(HEAD + "routes:\n  - name: all\n    upstream: app\n");

        GatewayConfig.UpstreamGroup g = c.upstreams().getFirst();
        assertThat(g.algorithm()).isEqualTo("round-robin");
        assertThat(g.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(g.retries()).isEqualTo(1);
        assertThat(g.backends()).containsExactly(new GatewayConfig.BackendSpec("127.0.0.1:9001", 1));
        assertThat(c.listeners().getFirst().protocols()).containsExactly("h1");
        assertThat(c.routes().getFirst().match().path()).isEqualTo(new PathMatch.Any());
        assertThat(c.admin()).isEqualTo(GatewayConfig.Admin.DEFAULT);
        assertThat(c.server().gracePeriod()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void durationsAndSizesTakeUnits() {
        GatewayConfig c = parse(HEAD.replace("backends:", "read-timeout: 1m30s\n    connect-timeout: 250ms\n    backends:")
                + "routes:\n  - name: all\n    upstream: app\n    max-request-body: 1MiB\n    timeout: 2s\n");

        assertThat(c.upstreams().getFirst().readTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.upstreams().getFirst().connectTimeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(c.routes().getFirst().filters().maxRequestBody()).hasValue(1024 * 1024);
        assertThat(c.routes().getFirst().filters().timeout()).hasValue(Duration.ofSeconds(2));
    }

    @Test
    void unknownKeySuggestsTheNearestOne() {
        assertThat(errors(HEAD + "routes:\n  - name: all\n    upstraem: app\n")).containsExactly(
                "gw.yaml:8:5: routes[0]: a route needs one action: upstream, redirect or respond",
                "gw.yaml:9:5: routes[0].upstraem: unknown key 'upstraem'; did you mean 'upstream'?");
    }

    @Test
    void wrongTypeNamesTheKeyPathAndPosition() {
        assertThat(errors(HEAD + "routes:\n  - name: all\n    upstream: app\n    max-request-body: [1]\n"))
                .containsExactly("gw.yaml:10:23: routes[0].max-request-body: expected a value; got a list");
    }

    @Test
    void outOfRangeValuesAreRefused() {
        assertThat(errors(HEAD.replace("backends:", "retries: 99\n    backends:") + "routes:\n  - name: all\n    upstream: app\n"))
                .containsExactly("gw.yaml:6:14: upstreams[0].retries: must be from 0 to 16; got '99'");
    }

    @Test
    void badDurationsAndSizesAreRefused() {
        assertThat(errors(HEAD.replace("backends:", "read-timeout: soon\n    backends:")
                + "routes:\n  - name: all\n    upstream: app\n    max-request-body: 1 lightyear\n")).containsExactly(
                "gw.yaml:6:19: upstreams[0].read-timeout: expected a duration such as 30s, 500ms, 2m or 1h; got 'soon'",
                "gw.yaml:11:23: routes[0].max-request-body: expected a size such as 1MiB, 512KiB, 10MB or 4096 (bytes); got '1 lightyear'");
    }

    @Test
    void duplicateNamesAreRefused() {
        assertThat(errors(HEAD + "routes:\n  - name: all\n    upstream: app\n  - name: all\n    respond: {status: 204}\n"))
                .containsExactly("gw.yaml:10:11: routes[1].name: the name 'all' is used twice in routes");
    }

    @Test
    void duplicateKeysAreRefused() {
        assertThat(errors(HEAD + "routes:\n  - name: all\n    upstream: app\n    upstream: app\n"))
                .containsExactly("gw.yaml:10:5: routes[0].upstream: 'upstream' is given twice in the same mapping");
    }

    @Test
    void aRouteToAMissingGroupIsADanglingReference() {
        assertThat(errors(HEAD + "routes:\n  - name: all\n    upstream: ap\n"))
                .containsExactly("gw.yaml:9:15: routes[0].upstream: no upstream group is named 'ap'; did you mean 'app'?");
    }

    @Test
    void twoListenersOnOneAddressConflict() {
        assertThat(errors(HEAD.replace("upstreams:", "  - name: second\n    address: 127.0.0.1:8080\nupstreams:")
                + "routes:\n  - name: all\n    upstream: app\nadmin:\n  address: 127.0.0.1:8080\n")).containsExactly(
                "gw.yaml:5:14: listeners[1].address: listener 'second' conflicts with listener 'main': both listen on 127.0.0.1:8080",
                "gw.yaml:13:3: admin.address: the admin listener conflicts with listener 'main': both listen on 127.0.0.1:8080");
    }

    @Test
    void everyErrorIsReportedAtOnceInFileOrder() {
        List<String> errors = errors("""
                listeners:
                  - name: main
                    address: nowhere
                    protocol: [h1]
                upstreams:
                  - name: app
                    algorithm: round-robbin
                    backends: []
                routes:
                  - name: all
                    upstream: missing
                """);

        assertThat(errors).containsExactly(
                "gw.yaml:3:14: listeners[0].address: expected host:port such as 127.0.0.1:8080 or [::]:8080; got 'nowhere'",
                "gw.yaml:4:5: listeners[0].protocol: unknown key 'protocol'; did you mean 'protocols'?",
                "gw.yaml:7:16: upstreams[0].algorithm: expected one of round-robin, random, hash, ketama, least-conn, p2c-ewma, maglev;"
                        + " got 'round-robbin' (did you mean 'round-robin'?)",
                "gw.yaml:8:15: upstreams[0].backends: at least one backend is needed",
                "gw.yaml:11:15: routes[0].upstream: no upstream group is named 'missing'; known groups: app");
    }

    @Test
    void invalidYamlIsReportedWithItsPosition() {
        assertThat(errors("listeners:\n  - name: [main\n")).singleElement().asString().startsWith("gw.yaml:3:1: invalid YAML:");
    }

    @Test
    void anUnreadableFileIsAnError(@TempDir Path dir) {
        Path missing = dir.resolve("missing.yaml");
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.of().load(missing));

        assertThat(e.errors()).singleElement().asString().isEqualTo(missing + ":0:0: cannot read the file (NoSuchFileException)");
    }

    @Test
    void secretsComeFromTheEnvironmentAndFilesAndAreNeverEchoed(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("key.txt"), "file-secret\n");
        String yaml = HEAD + "routes:\n  - name: all\n    upstream: app\n    request-headers:\n      set:\n"
                + "        Authorization: \"Bearer ${env:TOKEN}\"\n        X-Key: ${file:key.txt}\n";
        GatewayConfig c = ConfigLoader.withEnvironment(Map.of("TOKEN", "s3cret-value")::get).parse(yaml, "gw.yaml", dir);

        assertThat(c.routes().getFirst().filters().requestHeaders().set())
                .containsEntry("Authorization", "Bearer s3cret-value").containsEntry("X-Key", "file-secret");

        List<String> errs = errors(HEAD.replace("retries", "x") + "routes:\n  - name: all\n    upstream: app\n    timeout: ${env:TOKEN}\n"
                + "    request-headers:\n      set: {X-A: \"${env:UNSET}\"}\n");
        assertThat(errs).containsExactly(
                "gw.yaml:10:14: routes[0].timeout: expected a duration such as 30s, 500ms, 2m or 1h; got '${env:TOKEN}'",
                "gw.yaml:12:18: routes[0].request-headers.set.X-A: environment variable UNSET is not set");
        assertThat(String.join("\n", errs)).doesNotContain("s3cret-value");
    }

    @Test
    void routesReadEveryMatchAndAction() {
        GatewayConfig c = parse(HEAD + """
                routes:
                  - name: r1
                    match: {host: "*.Example.com", path-regex: "/v[0-9]+/.*", methods: [get], headers: {X-Env: prod}, query: {debug: "1"}}
                    redirect: {location: "https://example.com/", status: 308}
                  - name: r2
                    match: {path: /ping}
                    respond: {status: 204}
                """);

        GatewayConfig.Route r1 = c.routes().getFirst();
        assertThat(r1.match().host()).hasValue("*.example.com");
        assertThat(r1.match().methods()).containsExactly("GET");
        assertThat(r1.match().headers()).containsEntry("x-env", "prod");
        assertThat(r1.action()).isEqualTo(new Action.Redirect("https://example.com/", 308));
        assertThat(c.routes().get(1).action()).isEqualTo(new Action.Respond(204, "", "text/plain; charset=utf-8"));
    }

    @Test
    void aRoutePathMustBeNormalised() {
        assertThat(errors(HEAD + "routes:\n  - name: r\n    match: {path-prefix: /api/../admin}\n    upstream: app\n"))
                .containsExactly("gw.yaml:9:26: routes[0].match.path-prefix: must be a normalised path starting with /"
                        + " (no . or .. segments, no //); got '/api/../admin'");
    }

    @Test
    void h2InListenerProtocolsIsRefusedWithAPointerToHttp2() {
        assertThat(errors(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    protocols: [h1, h2c]")
                + "routes:\n  - name: all\n    upstream: app\n")).containsExactly(
                "gw.yaml:4:16: listeners[0].protocols: protocol 'h2c' is not listed here: protocols is h1, and HTTP/2 is set with"
                        + " http2: true or false (on by default: h2c on a plain listener, h2 by ALPN with tls)");
    }

    @Test
    void http2IsOnByDefaultAndUpstreamsSpeakHttp11ByDefault() {
        GatewayConfig c = parse(HEAD + "routes:\n  - name: all\n    upstream: app\n");

        assertThat(c.listeners().getFirst().http2()).isTrue();
        GatewayConfig.UpstreamGroup g = c.upstreams().getFirst();
        assertThat(g.protocol()).isEqualTo(UpstreamProtocol.HTTP1);
        assertThat(g.maxStreamsPerConnection()).isEqualTo(PeerOptions.DEFAULT.maxStreamsPerConnection());
        assertThat(parse(ConfigLoader.exampleText()).listeners().getFirst().http2()).isTrue();
    }

    @Test
    void connectIsOffAndTunnelsIdleAsTheLibrarysDefaultWhenAbsent() {
        GatewayConfig.Listener l = parse(HEAD + "routes: [{name: all, upstream: app}]\n").listeners().getFirst();

        assertThat(l.tunnels()).isEqualTo(TunnelOptions.DEFAULT);
        assertThat(l.http1().allowConnect()).as("CONNECT answered 405").isFalse();
    }

    @Test
    void connectAllowAndTunnelIdleTimeoutAreReadAsTheFlagsAre() {
        GatewayConfig.Listener l = parse(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    tunnel-idle-timeout: 90s\n    connect:\n      allow: [db.internal:5432, \"*:443\", \"GIT.example.com:*\", \"[::1]:22\"]")
                + "routes: [{name: all, upstream: app}]\n").listeners().getFirst();

        assertThat(l.tunnels().connectAllow()).containsExactly(ConnectTarget.of("db.internal:5432"), ConnectTarget.of("*:443"),
                ConnectTarget.of("git.example.com:*"), ConnectTarget.of("[::1]:22"));
        assertThat(l.tunnels().idleTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(l.http1().allowConnect()).isTrue();
        assertThat(parse(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    connect: {allow: \"*:443\"}")
                + "routes: [{name: all, upstream: app}]\n").listeners().getFirst().tunnels().connectAllow())
                .as("a lone target").containsExactly(ConnectTarget.of("*:443"));
    }

    @Test
    void anOpenProxyOrABadConnectTargetIsRefusedAtItsPosition() {
        assertThat(errors(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    connect:\n      allow: [db.internal:5432, \"*:*\", \"db internal:80\", \"host:70000\", nohost]")
                + "routes: [{name: all, upstream: app}]\n")).containsExactly(
                "gw.yaml:5:33: listeners[0].connect.allow[1]: '*:*' would tunnel anywhere: name a host or a port",
                "gw.yaml:5:40: listeners[0].connect.allow[2]: not a host name or address: 'db internal'",
                "gw.yaml:5:58: listeners[0].connect.allow[3]: port must be 1 to 65535 or *: 'host:70000'",
                "gw.yaml:5:72: listeners[0].connect.allow[4]: a CONNECT target is HOST:PORT (either may be *): 'nohost'");
    }

    @Test
    void anEmptyOrMissingAllowListAndABadIdleTimeoutAreRefused() {
        assertThat(errors(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    tunnel-idle-timeout: 0s\n    connect: {allow: []}") + "routes: [{name: all, upstream: app}]\n")).containsExactly(
                "gw.yaml:4:26: listeners[0].tunnel-idle-timeout: must be from 1ms to 24h; got '0s'",
                "gw.yaml:5:22: listeners[0].connect.allow: name at least one HOST:PORT target, or remove connect to answer CONNECT with 405");
        assertThat(errors(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    connect: {allow-all: true}")
                + "routes: [{name: all, upstream: app}]\n")).anySatisfy(e -> assertThat(e).contains("listeners[0].connect", "allow-all"))
                .anySatisfy(e -> assertThat(e).contains("listeners[0].connect: 'allow' is required"));
    }

    @Test
    void http2AndUpstreamProtocolAndStreamLimitAreRead() {
        GatewayConfig c = parse(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    http2: false")
                .replace("    backends:", "    protocol: h2-preferred\n    max-streams-per-connection: 8\n    backends:")
                + "routes:\n  - name: all\n    upstream: app\n");

        assertThat(c.listeners().getFirst().http2()).isFalse();
        assertThat(c.upstreams().getFirst().protocol()).isEqualTo(UpstreamProtocol.HTTP2_PREFERRED);
        assertThat(c.upstreams().getFirst().maxStreamsPerConnection()).isEqualTo(8);
        assertThat(parse(HEAD.replace("    backends:", "    protocol: H2\n    backends:") + "routes: [{name: all, upstream: app}]\n")
                .upstreams().getFirst().protocol()).isEqualTo(UpstreamProtocol.HTTP2);
    }

    @Test
    void badHttp2ProtocolAndStreamLimitValuesNameTheAllowedValues() {
        assertThat(errors(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    http2: maybe")
                .replace("    backends:", "    protocol: h3\n    max-streams-per-connection: 0\n    backends:")
                + "routes:\n  - name: all\n    upstream: app\n")).containsExactly(
                "gw.yaml:4:12: listeners[0].http2: expected true or false; got 'maybe'",
                "gw.yaml:7:15: upstreams[0].protocol: expected one of h1, h2, h2-preferred; got 'h3' (did you mean 'h1'?)",
                "gw.yaml:8:33: upstreams[0].max-streams-per-connection: must be from 1 to 10000; got '0'");
    }

    @Test
    void tlsAlpnDefaultsToH2AndHttp11AndH1KeepsTheListenerToHttp11(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "good", pki.certificate("good").dns("good.test"));

        GatewayConfig byDefault = ConfigLoader.of().parse(tlsListener("certificates: [{cert: good.crt, key: good.key}]\n"), "gw.yaml", dir);
        GatewayConfig.ListenerTls tls = byDefault.listeners().getFirst().tls().orElseThrow();
        assertThat(tls.alpn()).isEqualTo("h2-and-h1");
        assertThat(tls.load().alpn()).isEqualTo(ServerTls.Alpn.HTTP2_AND_HTTP1);
        GatewayConfig h1 = ConfigLoader.of().parse(tlsListener("certificates: [{cert: good.crt, key: good.key}]\nalpn: h1\n"), "gw.yaml", dir);
        assertThat(h1.listeners().getFirst().tls().orElseThrow().load().alpn()).isEqualTo(ServerTls.Alpn.HTTP1);
        GatewayConfig h2 = ConfigLoader.of().parse(tlsListener("certificates: [{cert: good.crt, key: good.key}]\nalpn: H2\n"), "gw.yaml", dir);
        assertThat(h2.listeners().getFirst().tls().orElseThrow().load().alpn().offered()).containsExactly("h2");
    }

    @Test
    void aBadAlpnOrAnH2AlpnWithHttp2OffIsRefused(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "good", pki.certificate("good").dns("good.test"));

        assertThat(errorsIn(dir, tlsListener("certificates: [{cert: good.crt, key: good.key}]\nalpn: http/1.1\n"))).containsExactly(
                "gw.yaml:6:13: listeners[0].tls.alpn: expected one of h2-and-h1, h2, h1; got 'http/1.1'");
        assertThat(errorsIn(dir, tlsListener("certificates: [{cert: good.crt, key: good.key}]\nalpn: h2\n")
                .replace("    tls:\n", "    http2: false\n    tls:\n"))).containsExactly(
                "gw.yaml:4:5: listeners[0].http2: http2 is false but tls.alpn offers h2; remove tls.alpn or set it to h1");
        GatewayConfig off = ConfigLoader.of().parse(tlsListener("certificates: [{cert: good.crt, key: good.key}]\n")
                .replace("    tls:\n", "    http2: false\n    tls:\n"), "gw.yaml", dir);
        assertThat(off.listeners().getFirst().http2()).isFalse();
    }

    @Test
    void headerEditsThatCouldNotBeSentAreRefusedAtLoad() {
        assertThat(errors(HEAD + "routes:\n  - name: r\n    upstream: app\n    request-headers:\n      set: {\"Bad Name\": x}\n"
                + "    response-headers:\n      add: {X-A: \"${env:TOKEN}\\u0001\"}\n")).containsExactly(
                "gw.yaml:11:12: routes[0].request-headers.set.Bad Name: not a valid header: the name must be a token and the value"
                        + " must hold no control character, no character above U+00FF and no space at either end",
                "gw.yaml:13:12: routes[0].response-headers.add.X-A: not a valid header: the name must be a token and the value"
                        + " must hold no control character, no character above U+00FF and no space at either end");
    }

    @Test
    void aHostThatIsNotAHostNameIsRefused() {
        assertThat(errors(HEAD + "routes:\n  - name: r\n    match: {host: -bad.com}\n    upstream: app\n")).containsExactly(
                "gw.yaml:9:19: routes[0].match.host: expected a host name such as api.example.com or *.example.com; got '-bad.com'");
    }

    /** A listener on 127.0.0.1:8443 whose {@code tls} section is {@code tls} (indented under it), and a route to app. */
    private static String tlsListener(String tls) {
        return "listeners:\n  - name: main\n    address: 127.0.0.1:8443\n    tls:\n" + tls.indent(6)
                + "upstreams:\n  - name: app\n    backends: [127.0.0.1:9001]\nroutes:\n  - name: all\n    upstream: app\n";
    }

    /** Issues a certificate and copies it (chain first) and its key to {@code dir/NAME.crt} and {@code dir/NAME.key}. */
    private static void issue(Path dir, String name, TestPki.CertificateSpec spec) {
        TestPki.Issued issued = spec.issue();
        try {
            Files.copy(issued.chainPem(), dir.resolve(name + ".crt"));
            Files.copy(issued.keyPem(), dir.resolve(name + ".key"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> errorsIn(Path dir, String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.of().parse(yaml, "gw.yaml", dir));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void aTlsListenerLoadsItsCertificatesRelativeToTheFileWithSecureDefaults(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "one", pki.certificate("one").dns("one.test"));
        issue(dir, "two", pki.certificate("two").dns("two.test"));

        GatewayConfig c = ConfigLoader.of().parse(tlsListener("""
                certificates:
                  - {cert: one.crt, key: one.key}
                  - {cert: two.crt, key: two.key}
                """), "gw.yaml", dir);

        GatewayConfig.ListenerTls tls = c.listeners().getFirst().tls().orElseThrow();
        assertThat(tls.certificates()).containsExactly(new GatewayConfig.CertificateFiles(dir.resolve("one.crt"), dir.resolve("one.key")),
                new GatewayConfig.CertificateFiles(dir.resolve("two.crt"), dir.resolve("two.key")));
        assertThat(tls.preset()).isEqualTo("intermediate");
        assertThat(tls.clientAuth()).isEqualTo("none");
        assertThat(tls.handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(tls.sessionTickets()).isTrue();
        assertThat(tls.legacy()).isFalse();
        ServerTls server = tls.load();
        assertThat(server.effectiveProtocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(server.certificates().defaultCertificate().names()).contains("one.test");
        assertThat(server.certificates().select("two.test").names()).contains("two.test");
    }

    @Test
    void tlsListenerSettingsMapOntoServerTls(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "one", pki.certificate("one").dns("one.test"));

        ServerTls tls = ConfigLoader.of().parse(tlsListener("""
                certificates: [{cert: one.crt, key: one.key}]
                preset: modern
                client-ca: Loader-CA-ca.pem
                client-auth: optional
                handshake-timeout: 3s
                session-tickets: false
                groups: [X25519, P-256]
                """.replace("Loader-CA-ca.pem", pki.caPem().getFileName().toString())), "gw.yaml", dir)
                .listeners().getFirst().tls().orElseThrow().load();

        assertThat(tls.preset()).isEqualTo(ServerTls.Preset.MODERN);
        assertThat(tls.clientAuth()).isEqualTo(ServerTls.ClientAuth.OPTIONAL);
        assertThat(tls.clientCa()).hasValue(pki.caPem());
        assertThat(tls.handshakeTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(tls.sessionTickets()).isFalse();
        assertThat(tls.groups()).containsExactly("X25519", "P-256");
    }

    @Test
    void unusableCertificateFilesAreRefusedAtTheirListItem(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "good", pki.certificate("good").dns("good.test"));
        issue(dir, "other", pki.certificate("other").dns("other.test"));
        issue(dir, "old", pki.certificate("old").dns("old.test").validFor(Instant.now().minus(Duration.ofDays(30)), Duration.ofDays(1)));

        List<String> errors = errorsIn(dir, tlsListener("""
                certificates:
                  - {cert: missing.crt, key: good.key}
                  - {cert: good.crt, key: other.key}
                  - {cert: old.crt, key: old.key}
                  - {cert: good.crt}
                """));

        assertThat(errors).hasSize(4);
        assertThat(errors.get(0)).startsWith("gw.yaml:6:11: listeners[0].tls.certificates[0]: cannot read the certificate file")
                .contains("missing.crt");
        assertThat(errors.get(1)).startsWith("gw.yaml:7:11: listeners[0].tls.certificates[1]: ")
                .endsWith("the private key does not match the certificate");
        assertThat(errors.get(2)).startsWith("gw.yaml:8:11: listeners[0].tls.certificates[2]: ").contains("the certificate expired at");
        assertThat(errors.get(3)).isEqualTo("gw.yaml:9:11: listeners[0].tls.certificates[3]: 'key' is required");
        assertThat(String.join("\n", errors)).doesNotContain("PRIVATE KEY");
    }

    @Test
    void tlsListenerSettingsThatWouldWeakenItAreRefusedUnlessLegacy(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "good", pki.certificate("good").dns("good.test"));

        assertThat(errorsIn(dir, tlsListener("""
                certificates: [{cert: good.crt, key: good.key}]
                preset: old
                client-auth: required
                protocols: [TLSv1.2, TLSv1.1]
                cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]
                groups: [X9999]
                handshake-timeout: 0s
                """))).containsExactly(
                "gw.yaml:6:15: listeners[0].tls.preset: expected one of intermediate, modern; got 'old'",
                "gw.yaml:7:7: listeners[0].tls.client-auth: client-auth required needs client-ca: the CA bundle (PEM) client"
                        + " certificates are verified against",
                "gw.yaml:8:18: listeners[0].tls.protocols: protocol TLSv1.1 is below TLS 1.2, which has known attacks; set legacy: true"
                        + " to allow it anyway",
                "gw.yaml:9:22: listeners[0].tls.cipher-suites: cipher suite TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not an AEAD suite with"
                        + " forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305, or a TLS 1.3 suite); set legacy: true to allow it anyway",
                "gw.yaml:10:15: listeners[0].tls.groups: unknown key-exchange group 'X9999'; expected some of X25519MLKEM768, X25519,"
                        + " P-256, P-384, P-521",
                "gw.yaml:11:26: listeners[0].tls.handshake-timeout: must be from 100ms to 10m; got '0s'");

        GatewayConfig legacy = ConfigLoader.of().parse(tlsListener("""
                certificates: [{cert: good.crt, key: good.key}]
                protocols: [TLSv1.2, TLSv1.1]
                legacy: true
                """), "gw.yaml", dir);
        assertThat(legacy.listeners().getFirst().tls().orElseThrow().protocols()).containsExactly("TLSv1.2", "TLSv1.1");
    }

    @Test
    void aTlsListenerNeedsACertificateAndAReadableClientCa(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "good", pki.certificate("good").dns("good.test"));

        assertThat(errorsIn(dir, tlsListener("certificates: []\nclient-ca: nowhere.pem\n"))).containsExactly(
                "gw.yaml:5:21: listeners[0].tls.certificates: at least one certificate is needed: a list of {cert: FILE, key: FILE}",
                "gw.yaml:6:18: listeners[0].tls.client-ca: cannot read the CA bundle " + dir.resolve("nowhere.pem"));
        assertThat(errorsIn(dir, tlsListener("preset: modern\n"))).containsExactly("gw.yaml:5:7: listeners[0].tls: 'certificates' is required");
    }

    /** A group app whose {@code tls} section is {@code tls} (indented under it), behind a plain listener. */
    private static String tlsGroup(String backends, String tls) {
        return "listeners:\n  - name: main\n    address: 127.0.0.1:8080\nupstreams:\n  - name: app\n    backends: [" + backends + "]\n"
                + "    tls:\n" + tls.indent(6) + "routes:\n  - name: all\n    upstream: app\n";
    }

    @Test
    void anUpstreamTlsSectionTurnsTlsOnWithVerification(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "client", pki.certificate("client").dns("client.test").clientAuth());

        GatewayConfig.UpstreamTlsSpec tls = ConfigLoader.of().parse(tlsGroup("origin.internal:443", """
                ca: %s
                sni: Origin.Internal
                verify-name: cert.internal
                client-cert: client.crt
                client-key: client.key
                """.formatted(pki.caPem().getFileName())), "gw.yaml", dir).upstreams().getFirst().tls().orElseThrow();

        assertThat(tls).isEqualTo(new GatewayConfig.UpstreamTlsSpec(Optional.of(pki.caPem()), Optional.of("origin.internal"),
                Optional.of("cert.internal"), Optional.of(dir.resolve("client.crt")), Optional.of(dir.resolve("client.key")), false));
        UpstreamTls built = tls.load();
        assertThat(built.verify()).isTrue();
        assertThat(built.verifyName()).hasValue("cert.internal");
        assertThat(built.trustedCa()).isPresent();
        assertThat(ConfigLoader.of().parse(tlsGroup("origin.internal:443", "{}"), "gw.yaml", dir).upstreams().getFirst().tls())
                .hasValue(new GatewayConfig.UpstreamTlsSpec(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                        Optional.empty(), false));
        assertThat(ConfigLoader.of().parse(HEAD + "routes:\n  - name: all\n    upstream: app\n", "gw.yaml", dir).upstreams().getFirst().tls())
                .isEmpty();
    }

    @Test
    void upstreamTlsErrorsNameTheKey(@TempDir Path dir) {
        TestPki pki = TestPki.create(dir, "Loader CA");
        issue(dir, "client", pki.certificate("client").dns("client.test").clientAuth());

        assertThat(errorsIn(dir, tlsGroup("origin.internal:443", """
                ca: missing-ca.pem
                sni: "bad name"
                client-cert: client.crt
                insecure: true
                """))).containsExactly(
                "gw.yaml:8:11: upstreams[0].tls.ca: cannot read the CA bundle " + dir.resolve("missing-ca.pem"),
                "gw.yaml:9:12: upstreams[0].tls.sni: expected a host name such as origin.internal or an IP address; got 'bad name'",
                "gw.yaml:10:7: upstreams[0].tls.client-cert: client-cert and client-key go together",
                "gw.yaml:11:7: upstreams[0].tls.insecure: insecure verifies nothing, so ca would not be used; give one of them");
        assertThat(errorsIn(dir, tlsGroup("demo-origin", "{}"))).containsExactly(
                "gw.yaml:7:5: upstreams[0].tls: the built-in demo-origin backend speaks plain HTTP; remove tls or the demo-origin backend");
        issue(dir, "stranger", pki.certificate("stranger").dns("stranger.test").clientAuth());
        assertThat(errorsIn(dir, tlsGroup("origin.internal:443", "client-cert: client.crt\nclient-key: stranger.key\n")))
                .singleElement().asString().startsWith("gw.yaml:8:7: upstreams[0].tls.client-cert: ")
                .endsWith("the private key does not match the certificate");
    }
}

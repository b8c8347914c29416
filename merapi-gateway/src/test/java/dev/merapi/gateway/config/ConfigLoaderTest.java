package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.merapi.gateway.config.GatewayConfig.Action;
import dev.merapi.gateway.config.GatewayConfig.PathMatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
    void featuresNotInThisVersionAreRefusedByName() {
        assertThat(errors(HEAD.replace("    address: 127.0.0.1:8080", "    address: 127.0.0.1:8080\n    protocols: [h1, h2c]\n    tls: {}")
                + "routes:\n  - name: all\n    upstream: app\n")).containsExactly(
                "gw.yaml:4:16: listeners[0].protocols: protocol 'h2c' is not available in this version; use h1",
                "gw.yaml:5:5: listeners[0].tls: TLS listeners are not available in this version");
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
}

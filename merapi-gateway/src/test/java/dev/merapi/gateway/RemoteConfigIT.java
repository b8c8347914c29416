package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.admin.AdminApi;
import dev.merapi.gateway.admin.AuditLog;
import dev.merapi.gateway.admin.Role;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.TokenHash;
import dev.merapi.gateway.config.Ed25519Pem;
import dev.merapi.gateway.remote.Bundle;
import dev.merapi.gateway.remote.RemoteConfig;
import dev.merapi.gateway.remote.RemoteConfig.Result;
import dev.merapi.gateway.remote.RemoteStatus;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestPki;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Remote configuration against a real HTTPS source on loopback ({@link ConfigSource}) with the gateway's real
 * listeners: a good bundle is applied and serves traffic; a bad signature, a rollback, garbage, an invalid
 * configuration, a source that is down, a wrong CA and a wrong host name are each refused while the old configuration
 * keeps serving; a start without the source runs the cached bundle; a 304 applies nothing again. Through the admin API:
 * a fetch now, and a rollback that only an admin can force, each audit-logged, the signature checked all the same.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RemoteConfigIT {
    @TempDir
    Path dir;
    private TestPki pki;
    private ConfigSource source;
    private MockOrigin origin;
    private KeyPair keys;
    private final List<Gateway> gateways = new ArrayList<>();
    /** One admin API token per role, made once for the class (each hash costs the full PBKDF2). */
    private static final Map<Role, String> TOKENS = new EnumMap<>(Role.class);
    private static final Map<Role, String> HASHES = new EnumMap<>(Role.class);
    private static final Map<Role, String> NAMES = Map.of(Role.VIEWER, "vera", Role.OPERATOR, "otto", Role.ADMIN, "ada");
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void tokens() {
        for (Role r : Role.values()) {
            String token = "remote-" + r.key() + "-" + java.util.UUID.randomUUID();
            TOKENS.put(r, token);
            HASHES.put(r, TokenHash.create(token).encoded());
        }
    }

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create(dir, "config-ca");
        source = ConfigSource.start(pki.certificate("config-source").dns("localhost").issue());
        origin = MockOrigin.start();
        origin.setDispatcher(r -> MockResponse.ok("from the origin " + r.target()));
        keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Files.writeString(dir.resolve("config.pub"), Ed25519Pem.encode(keys.getPublic()));
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        gateways.forEach(Gateway::shutdownFast);
        source.close();
        origin.close();
    }

    /** A whole configuration: route /new to the origin (if {@code withNew}), everything else answered with {@code body}. */
    private String bundle(long version, String body, boolean withNew) {
        return "version: " + version + "\n" + """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes:
                """.formatted(origin.port())
                + (withNew ? "  - {name: new, match: {path-prefix: /new}, upstream: app}\n" : "")
                + "  - {name: all, respond: {body: \"" + body + "\"}}\n"
                + "admin: {enabled: false}\n";
    }

    /** The local file: version 1 answering "local", with a remote section for {@code url}. */
    private Path localFile(String url, Path ca) throws Exception {
        return localFile(bundle(1, "local", false), url, ca);
    }

    /** The local file: {@code config} with a remote section for {@code url}. */
    private Path localFile(String config, String url, Path ca) throws Exception {
        Path file = dir.resolve("gw.yaml");
        Files.writeString(file, config + """
                remote:
                  url: %s
                  public-key: config.pub
                  ca: %s
                  cache-dir: cache
                  interval: 1h
                  timeout: 5s
                """.formatted(url, ca));
        return file;
    }

    private String url() {
        return "https://localhost:" + source.port() + "/gw.yaml";
    }

    private void publish(String yaml, java.security.PrivateKey key) {
        Bundle b = Bundle.sign(yaml.getBytes(StandardCharsets.UTF_8), key);
        source.put("/gw.yaml", b.config());
        source.put("/gw.yaml.sig", b.signatureFile());
    }

    private Gateway startGateway(Path file) {
        Gateway g = Gateway.of(file, ConfigLoader.of());
        gateways.add(g);
        g.start();
        return g;
    }

    private static String get(Gateway g, String path) throws Exception {
        try (RawClient c = RawClient.connect(TestGateways.port(g, 0))) {
            c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            return c.readResponse().bodyText();
        }
    }

    private static RemoteConfig remote(Gateway g) {
        return g.remote().orElseThrow();
    }

    /** A gateway started from the local file (the source serving nothing yet), then given version 2. */
    private Gateway runningVersion2() throws Exception {
        Gateway g = startGateway(localFile(url(), pki.caPem()));
        assertThat(get(g, "/")).isEqualTo("local");
        publish(bundle(2, "v2", true), keys.getPrivate());
        assertThat(remote(g).poll().result()).isEqualTo(Result.APPLIED);
        assertThat(get(g, "/")).isEqualTo("v2");
        return g;
    }

    @Test
    void goodBundleIsAppliedAndItsNewRouteServesTraffic() throws Exception {
        Gateway g = startGateway(localFile(url(), pki.caPem()));
        RemoteStatus atStart = g.remoteStatus().orElseThrow();
        assertThat(atStart.runningFrom()).isEqualTo("local");
        assertThat(atStart.lastResult()).contains("http-error");
        assertThat(get(g, "/new/x")).isEqualTo("local");

        publish(bundle(2, "v2", true), keys.getPrivate());
        RemoteConfig.Outcome o = remote(g).poll();

        assertThat(o.result()).isEqualTo(Result.APPLIED);
        assertThat(get(g, "/new/x")).isEqualTo("from the origin /new/x");
        assertThat(get(g, "/")).isEqualTo("v2");
        RemoteStatus s = g.remoteStatus().orElseThrow();
        assertThat(s.runningFrom()).isEqualTo("remote");
        assertThat(s.runningVersion()).isEqualTo(2);
        assertThat(s.lastError()).isEmpty();
        assertThat(s.lastSuccess()).isPresent();
        assertThat(g.config().version()).isEqualTo(2);
        assertThat(Files.readString(dir.resolve("cache/bundle.yaml"))).isEqualTo(bundle(2, "v2", true));
        assertThat(g.metrics().scrape()).contains("merapi_remote_config_fetches_total{result=\"applied\"} 1.0",
                "merapi_remote_config_fetches_total{result=\"http-error\"} 1.0", "merapi_remote_config_version 2.0");
    }

    @Test
    void bundleFetchedAtStartIsTheConfigurationStartedWith() throws Exception {
        publish(bundle(3, "v3", true), keys.getPrivate());

        Gateway g = startGateway(localFile(url(), pki.caPem()));

        assertThat(get(g, "/")).isEqualTo("v3");
        assertThat(g.remoteStatus().orElseThrow().runningFrom()).isEqualTo("remote");
        assertThat(g.remoteStatus().orElseThrow().runningVersion()).isEqualTo(3);
    }

    @Test
    void badSignatureIsRefusedAndTheOldConfigKeepsServing() throws Exception {
        Gateway g = runningVersion2();
        KeyPair other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        publish(bundle(3, "v3", true), other.getPrivate());

        RemoteConfig.Outcome o = remote(g).poll();

        assertThat(o.result()).isEqualTo(Result.BAD_SIGNATURE);
        assertThat(get(g, "/")).isEqualTo("v2");
        RemoteStatus s = g.remoteStatus().orElseThrow();
        assertThat(s.runningVersion()).isEqualTo(2);
        assertThat(s.lastError()).hasValueSatisfying(e -> assertThat(e).contains("does not verify"));
        assertThat(s.consecutiveFailures()).isEqualTo(1);
        assertThat(g.metrics().scrape()).contains("merapi_remote_config_fetches_total{result=\"bad-signature\"} 1.0",
                "merapi_remote_config_version 2.0");
    }

    @Test
    void bundleChangedAfterSigningIsRefused() throws Exception {
        Gateway g = runningVersion2();
        Bundle signed = Bundle.sign(bundle(3, "v3", true).getBytes(StandardCharsets.UTF_8), keys.getPrivate());
        source.put("/gw.yaml", bundle(3, "v3-tampered", true).getBytes(StandardCharsets.UTF_8));
        source.put("/gw.yaml.sig", signed.signatureFile());

        assertThat(remote(g).poll().result()).isEqualTo(Result.BAD_SIGNATURE);
        assertThat(get(g, "/")).isEqualTo("v2");
    }

    @Test
    void rollbackIsRefusedUnlessForced() throws Exception {
        Gateway g = runningVersion2();
        publish(bundle(1, "v1", true), keys.getPrivate());

        RemoteConfig.Outcome older = remote(g).poll();
        publish(bundle(2, "v2-again", true), keys.getPrivate());
        RemoteConfig.Outcome same = remote(g).poll();

        assertThat(older.result()).isEqualTo(Result.ROLLBACK);
        assertThat(same.result()).isEqualTo(Result.ROLLBACK);
        assertThat(same.message()).contains("not higher than the running version 2");
        assertThat(get(g, "/")).isEqualTo("v2");

        Bundle v1 = Bundle.sign(bundle(1, "v1", true).getBytes(StandardCharsets.UTF_8), keys.getPrivate());
        RemoteConfig.Outcome forced = remote(g).apply(v1, true);

        assertThat(forced.result()).isEqualTo(Result.APPLIED);
        assertThat(forced.message()).contains("a rollback, forced");
        assertThat(get(g, "/")).isEqualTo("v1");
    }

    @Test
    void garbageIsRefusedAndTheOldConfigKeepsServing() throws Exception {
        Gateway g = runningVersion2();
        byte[] noise = new byte[4096];
        new java.util.Random(7).nextBytes(noise);
        source.put("/gw.yaml", noise);
        source.put("/gw.yaml.sig", "not base64 at all!".getBytes(StandardCharsets.US_ASCII));

        assertThat(remote(g).poll().result()).isEqualTo(Result.BAD_SIGNATURE);

        publish("version: 3\nlisteners: [{name: main, address: \"127.0.0.1:0\"}]\nroutes: [{name: all, upstrem: app}]\n",
                keys.getPrivate());
        RemoteConfig.Outcome invalid = remote(g).poll();

        assertThat(invalid.result()).isEqualTo(Result.INVALID);
        assertThat(invalid.message()).contains(url() + ":3:22: routes[0].upstrem: unknown key 'upstrem'; did you mean 'upstream'?");
        assertThat(get(g, "/")).isEqualTo("v2");
        assertThat(g.remoteStatus().orElseThrow().consecutiveFailures()).isEqualTo(2);
    }

    @Test
    void bundleThatNamesARemoteSourceIsRefused() throws Exception {
        Gateway g = runningVersion2();
        publish(Files.readString(dir.resolve("gw.yaml")).replace("version: 1", "version: 5"), keys.getPrivate());

        RemoteConfig.Outcome o = remote(g).poll();

        assertThat(o.result()).isEqualTo(Result.INVALID);
        assertThat(o.message()).contains("has a remote section");
        assertThat(get(g, "/")).isEqualTo("v2");
    }

    @Test
    void sourceDownAtRuntimeKeepsTheOldConfigServing() throws Exception {
        Gateway g = runningVersion2();
        source.failWith(503);
        RemoteConfig.Outcome unavailable = remote(g).poll();
        source.close();

        RemoteConfig.Outcome down = remote(g).poll();

        assertThat(unavailable.result()).isEqualTo(Result.HTTP_ERROR);
        assertThat(down.result()).isEqualTo(Result.UNREACHABLE);
        assertThat(get(g, "/")).isEqualTo("v2");
        assertThat(get(g, "/new/y")).isEqualTo("from the origin /new/y");
        RemoteStatus s = g.remoteStatus().orElseThrow();
        assertThat(s.consecutiveFailures()).isEqualTo(2);
        assertThat(s.lastError()).hasValueSatisfying(e -> assertThat(e).contains("cannot reach the source"));
        assertThat(g.metrics().scrape()).contains("merapi_remote_config_fetches_total{result=\"unreachable\"} 1.0");
    }

    @Test
    void theAdminStatusEndpointReportsASourceThatIsDown() throws Exception {
        String token = "remote-status-viewer-token-0123456789";
        Path file = localFile(url(), pki.caPem());
        Files.writeString(file, Files.readString(file).replace("admin: {enabled: false}\n", """
                admin:
                  address: "127.0.0.1:0"
                  audit-log: %s
                  tokens:
                    - {name: watcher, role: viewer, hash: "%s"}
                """.formatted(dir.resolve("audit.log"), dev.merapi.gateway.config.TokenHash.create(token).encoded())));
        Gateway g = startGateway(file);
        source.close();
        assertThat(remote(g).poll().result()).isEqualTo(Result.UNREACHABLE);

        java.net.InetSocketAddress admin = (java.net.InetSocketAddress) g.adminAddress().orElseThrow();
        try (RawClient c = RawClient.connect(admin.getPort())) {
            c.send("GET /api/v1/status HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n");
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).contains("\"remote\":{\"url\":\"" + url() + "\"", "\"runningFrom\":\"local\"",
                    "\"lastResult\":\"unreachable\"", "cannot reach the source");
        }
    }

    @Test
    void sourceDownAtStartRunsTheCachedBundle() throws Exception {
        Gateway first = runningVersion2();
        first.shutdownFast();
        source.close();

        Gateway second = startGateway(dir.resolve("gw.yaml"));

        assertThat(get(second, "/")).isEqualTo("v2");
        assertThat(get(second, "/new/z")).isEqualTo("from the origin /new/z");
        RemoteStatus s = second.remoteStatus().orElseThrow();
        assertThat(s.runningFrom()).isEqualTo("cache");
        assertThat(s.runningVersion()).isEqualTo(2);
        assertThat(s.lastResult()).contains("unreachable");
    }

    @Test
    void tamperedCacheIsRefusedAndTheLocalFileRuns() throws Exception {
        Gateway first = runningVersion2();
        first.shutdownFast();
        source.close();
        Path cached = dir.resolve("cache/bundle.yaml");
        Files.writeString(cached, Files.readString(cached).replace("v2", "evil"));

        Gateway second = startGateway(dir.resolve("gw.yaml"));

        assertThat(get(second, "/")).isEqualTo("local");
        assertThat(second.remoteStatus().orElseThrow().runningFrom()).isEqualTo("local");
    }

    @Test
    void sourceWithACertificateOfAnotherCaIsRefused() throws Exception {
        TestPki other = TestPki.create(dir.resolve("other"), "other-ca");
        publish(bundle(2, "v2", true), keys.getPrivate());

        Gateway g = startGateway(localFile(url(), other.caPem()));

        assertThat(get(g, "/")).isEqualTo("local");
        RemoteStatus s = g.remoteStatus().orElseThrow();
        assertThat(s.lastResult()).contains("tls-error");
        assertThat(remote(g).poll().result()).isEqualTo(Result.TLS_ERROR);
        assertThat(get(g, "/")).isEqualTo("local");
    }

    @Test
    void sourceWhoseCertificateDoesNotNameTheHostIsRefused() throws Exception {
        publish(bundle(2, "v2", true), keys.getPrivate());

        // the certificate names localhost only; 127.0.0.1 is not in it
        Gateway g = startGateway(localFile("https://127.0.0.1:" + source.port() + "/gw.yaml", pki.caPem()));

        assertThat(get(g, "/")).isEqualTo("local");
        assertThat(remote(g).poll().result()).isEqualTo(Result.TLS_ERROR);
        assertThat(get(g, "/")).isEqualTo("local");
    }

    @Test
    void unchangedBundleIsAnswered304AndNotAppliedAgain() throws Exception {
        Gateway g = runningVersion2();
        long reloads = g.reloadsOk();

        RemoteConfig.Outcome o = remote(g).poll();

        assertThat(o.result()).isEqualTo(Result.NOT_MODIFIED);
        assertThat(g.reloadsOk()).isEqualTo(reloads);
        assertThat(source.seen().getLast().path()).isEqualTo("/gw.yaml");
        assertThat(source.seen().getLast().ifNoneMatch()).startsWith("\"");
        assertThat(get(g, "/")).isEqualTo("v2");
    }

    @Test
    void reloadFetchesFromTheSourceInsteadOfReadingTheFile() throws Exception {
        Gateway g = runningVersion2();
        publish(bundle(4, "v4", true), keys.getPrivate());

        assertThat(g.reload()).isTrue();

        assertThat(get(g, "/")).isEqualTo("v4");
    }

    @Test
    void scheduledFetchesApplyANewBundleByThemselves() throws Exception {
        Path file = localFile(url(), pki.caPem());
        Files.writeString(file, Files.readString(file).replace("interval: 1h", "interval: 1s"));
        Gateway g = startGateway(file);
        publish(bundle(2, "v2", true), keys.getPrivate());

        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (g.config().version() != 2 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }

        assertThat(g.config().version()).isEqualTo(2);
        assertThat(get(g, "/")).isEqualTo("v2");
    }

    @Test
    void sourceThatRequiresAClientCertificateGetsTheConfiguredOneAndRefusesAGatewayWithout() throws Exception {
        TestPki clients = TestPki.create(dir.resolve("clients"), "clients-ca");
        TestPki.Issued gw = clients.certificate("gateway-1").clientAuth().issue();
        source.close();
        source = ConfigSource.start(pki.certificate("config-source-mtls").dns("localhost").issue(), clients);
        publish(bundle(2, "v2", true), keys.getPrivate());
        Path file = localFile(url(), pki.caPem());
        String local = Files.readString(file);

        Gateway without = startGateway(file);
        assertThat(get(without, "/")).isEqualTo("local");
        assertThat(without.remoteStatus().orElseThrow().lastResult()).isPresent().get().isIn("tls-error", "unreachable");
        without.shutdownFast();

        Files.writeString(file, local + "  client-cert: " + gw.chainPem() + "\n  client-key: " + gw.keyPem() + "\n");
        Gateway with = startGateway(file);

        assertThat(get(with, "/")).isEqualTo("v2");
        assertThat(with.remoteStatus().orElseThrow().runningFrom()).isEqualTo("remote");
    }

    @Test
    void bundleLargerThanMaxSizeIsRefused() throws Exception {
        Gateway first = runningVersion2();
        first.shutdownFast();
        Path file = dir.resolve("gw.yaml");
        Files.writeString(file, Files.readString(file).replace("interval: 1h", "interval: 1h\n  max-size: 1KiB"));
        Gateway g = startGateway(file);
        assertThat(get(g, "/")).isEqualTo("v2");
        publish(bundle(3, "v3", true) + "# " + "x".repeat(2048) + "\n", keys.getPrivate());

        RemoteConfig.Outcome o = remote(g).poll();

        assertThat(o.result()).isEqualTo(Result.TOO_LARGE);
        assertThat(get(g, "/")).isEqualTo("v2");
    }

    @Test
    void aLastingProblemIsLoggedOnceAndItsEndOnce() throws Exception {
        Gateway g = runningVersion2();
        ch.qos.logback.classic.Logger remoteLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(RemoteConfig.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines = new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        remoteLog.addAppender(lines);
        ch.qos.logback.classic.Level level = remoteLog.getLevel();
        remoteLog.setLevel(ch.qos.logback.classic.Level.INFO);
        try {
            source.failWith(500);
            for (int i = 0; i < 3; i++) {
                assertThat(remote(g).poll().result()).isEqualTo(Result.HTTP_ERROR);
            }
            source.failWith(200);
            assertThat(remote(g).poll().result()).isEqualTo(Result.NOT_MODIFIED);
            assertThat(remote(g).poll().result()).isEqualTo(Result.NOT_MODIFIED);
        } finally {
            remoteLog.detachAppender(lines);
            remoteLog.setLevel(level);
        }

        assertThat(lines.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                .filteredOn(l -> l.contains("HTTP 500")).hasSize(1);
        assertThat(lines.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                .filteredOn(l -> l.contains("not modified")).hasSize(1);
        assertThat(lines.list).hasSize(2);
        assertThat(g.remoteStatus().orElseThrow().lastError()).isEmpty();
    }

    /**
     * A whole configuration that sends every request to the origin on {@code port}, with an admin API that has a
     * token per role and its audit log in {@code dir/audit.log}.
     */
    private String adminBundle(long version, int port) {
        StringBuilder tokens = new StringBuilder();
        for (Role r : Role.values()) {
            tokens.append("    - {name: ").append(NAMES.get(r)).append(", role: ").append(r.key()).append(", hash: \"")
                    .append(HASHES.get(r)).append("\"}\n");
        }
        return "version: " + version + "\n" + """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes: [{name: all, match: {path-prefix: /}, upstream: app}]
                admin:
                  address: "127.0.0.1:0"
                  audit-log: %s
                  tokens:
                %s""".formatted(port, dir.resolve("audit.log"), tokens);
    }

    /**
     * A gateway with an admin API started from its local file (version 1, sending requests to {@code older}), then
     * given version 2 by the source, which sends them to the origin.
     */
    private Gateway runningAdminVersion2(MockOrigin older) throws Exception {
        Gateway g = startGateway(localFile(adminBundle(1, older.port()), url(), pki.caPem()));
        assertThat(proxied(g, "/x")).isEqualTo("200 older /x");
        publish(adminBundle(2, origin.port()), keys.getPrivate());
        assertThat(remote(g).poll().result()).isEqualTo(Result.APPLIED);
        assertThat(proxied(g, "/x")).isEqualTo("200 from the origin /x");
        return g;
    }

    private static MockOrigin olderOrigin() {
        MockOrigin older = MockOrigin.start();
        older.setDispatcher(r -> MockResponse.ok("older " + r.target()));
        return older;
    }

    /** A POST without a body to the admin API, with the token of {@code role} (none if null): "status body". */
    private String admin(Gateway g, String path, Role role) throws Exception {
        int port = ((InetSocketAddress) g.adminAddress().orElseThrow()).getPort();
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.noBody());
        if (role != null) {
            r.header("Authorization", "Bearer " + TOKENS.get(role));
        }
        HttpResponse<String> response = client.send(r.build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }

    /** A GET through the gateway's proxy listener with the JDK client: "status body". */
    private String proxied(Gateway g, String path) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + TestGateways.port(g, 0) + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body();
    }

    @Test
    void aRollbackRefusedByThePollerIsForcedByAnAdminAuditedAndServed() throws Exception {
        try (MockOrigin older = olderOrigin()) {
            Gateway g = runningAdminVersion2(older);
            publish(adminBundle(1, older.port()), keys.getPrivate());
            assertThat(remote(g).poll().result()).isEqualTo(Result.ROLLBACK);

            String fetched = admin(g, "/api/v1/remote/fetch", Role.OPERATOR);
            String anonymous = admin(g, "/api/v1/remote/rollback", null);
            String byOperator = admin(g, "/api/v1/remote/rollback", Role.OPERATOR);
            assertThat(proxied(g, "/x")).isEqualTo("200 from the origin /x");
            String forced = admin(g, "/api/v1/remote/rollback", Role.ADMIN);

            assertThat(fetched).startsWith("409 ").contains("\"result\":\"rollback\"", "\"applied\":false",
                    "an administrator can force one with POST /api/v1/remote/rollback");
            assertThat(anonymous).startsWith("401 ");
            assertThat(byOperator).startsWith("403 ").contains("needs admin");
            assertThat(forced).startsWith("200 ").contains("\"result\":\"applied\"", "\"applied\":true", "a rollback, forced",
                    "\"runningVersion\":1");
            assertThat(proxied(g, "/x")).isEqualTo("200 older /x");
            assertThat(g.config().version()).isEqualTo(1);
            assertThat(Files.readString(dir.resolve("cache/bundle.yaml"))).isEqualTo(adminBundle(1, older.port()));
            // the source serves what runs: the next fetch leaves it
            assertThat(remote(g).poll().result()).isIn(Result.NOT_MODIFIED, Result.UNCHANGED);
            assertThat(proxied(g, "/y")).isEqualTo("200 older /y");

            Path audit = dir.resolve("audit.log");
            List<String> lines = Files.readAllLines(audit);
            assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"identity\":\"otto\"", "\"path\":\"/api/v1/remote/fetch\"",
                    "\"outcome\":\"refused\"", "\"status\":409", "\"remote\":{\"result\":\"rollback\",\"versionBefore\":2,\"versionAfter\":2}"));
            assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"path\":\"/api/v1/remote/rollback\"", "\"outcome\":\"denied\""));
            assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"identity\":\"otto\"", "\"path\":\"/api/v1/remote/rollback\"",
                    "\"outcome\":\"forbidden\"", "\"needs\":\"admin\""));
            assertThat(lines.getLast()).contains("\"identity\":\"ada\"", "\"role\":\"admin\"", "\"address\":\"127.0.0.1:",
                    "\"path\":\"/api/v1/remote/rollback\"", "\"outcome\":\"ok\"", "\"status\":200", "\"before\":{\"version\":2,",
                    "\"after\":{\"version\":3,", "\"remote\":{\"result\":\"applied\",\"versionBefore\":2,\"versionAfter\":1}");
            Cli.Run verify = Cli.run("audit", "verify", audit.toString());
            assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
            assertThat(verify.out()).contains("chain intact");
        }
    }

    @Test
    void aBadlySignedLowerBundleIsRefusedEvenWhenForced() throws Exception {
        try (MockOrigin older = olderOrigin()) {
            Gateway g = runningAdminVersion2(older);
            KeyPair other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            publish(adminBundle(1, older.port()), other.getPrivate());

            String forged = admin(g, "/api/v1/remote/rollback", Role.ADMIN);
            Bundle signed = Bundle.sign(adminBundle(1, older.port()).getBytes(StandardCharsets.UTF_8), keys.getPrivate());
            source.put("/gw.yaml", adminBundle(1, older.port()).replace("127.0.0.1:" + older.port(), "127.0.0.1:1")
                    .getBytes(StandardCharsets.UTF_8));
            source.put("/gw.yaml.sig", signed.signatureFile());
            String tampered = admin(g, "/api/v1/remote/rollback", Role.ADMIN);

            assertThat(forged).startsWith("422 ").contains("\"result\":\"bad-signature\"", "\"applied\":false", "does not verify");
            assertThat(tampered).startsWith("422 ").contains("\"result\":\"bad-signature\"");
            assertThat(proxied(g, "/x")).isEqualTo("200 from the origin /x");
            assertThat(g.config().version()).isEqualTo(2);
            assertThat(Files.readAllLines(dir.resolve("audit.log")).getLast()).contains("\"identity\":\"ada\"",
                    "\"path\":\"/api/v1/remote/rollback\"", "\"outcome\":\"refused\"", "\"status\":422",
                    "\"remote\":{\"result\":\"bad-signature\",\"versionBefore\":2,\"versionAfter\":2}");
            assertThat(AuditLog.verify(dir.resolve("audit.log")).ok()).isTrue();
        }
    }

    @Test
    void aRollbackWhenTheSourceServesAHigherVersionAppliesNothingAndAFetchTakesIt() throws Exception {
        try (MockOrigin older = olderOrigin()) {
            Gateway g = runningAdminVersion2(older);

            String same = admin(g, "/api/v1/remote/rollback", Role.ADMIN);
            publish(adminBundle(3, older.port()), keys.getPrivate());
            String higher = admin(g, "/api/v1/remote/rollback", Role.ADMIN);
            String servedAfterRefusal = proxied(g, "/x");
            String fetched = admin(g, "/api/v1/remote/fetch", Role.OPERATOR);
            String fetchedAgain = admin(g, "/api/v1/remote/fetch", Role.OPERATOR);

            assertThat(same).startsWith("409 ").contains("\"result\":\"not-a-rollback\"", "nothing to roll back to");
            assertThat(higher).startsWith("409 ").contains("\"result\":\"not-a-rollback\"", "higher than the running version 2");
            assertThat(servedAfterRefusal).isEqualTo("200 from the origin /x");
            assertThat(fetched).startsWith("200 ").contains("\"result\":\"applied\"", "\"runningVersion\":3");
            assertThat(fetchedAgain).startsWith("200 ").contains("\"result\":\"not-modified\"", "\"applied\":false");
            assertThat(proxied(g, "/x")).isEqualTo("200 older /x");
        }
    }

    @Test
    void theRemoteEndpointsAnswer401WithoutCredentials403ToALowerRoleAnd2xxToTheirRole() throws Exception {
        try (MockOrigin older = olderOrigin()) {
            Gateway g = runningAdminVersion2(older);
            List<AdminApi.Endpoint> remoteEndpoints = AdminApi.ENDPOINTS.stream().filter(e -> e.path().startsWith("/api/v1/remote/")).toList();
            assertThat(remoteEndpoints).extracting(AdminApi.Endpoint::path).containsExactly("/api/v1/remote/fetch", "/api/v1/remote/rollback");

            for (AdminApi.Endpoint e : remoteEndpoints) {
                assertThat(e.method()).isEqualTo("POST");
                assertThat(e.changes()).isTrue();
                assertThat(admin(g, e.path(), null)).as("%s without credentials", e.path()).startsWith("401 ");
                Role below = Role.values()[e.role().ordinal() - 1];
                assertThat(admin(g, e.path(), below)).as("%s as %s", e.path(), below).startsWith("403 ");
                // a rollback has something to take once the source serves a lower version
                publish(adminBundle(e.path().endsWith("rollback") ? 1 : 2, e.path().endsWith("rollback") ? older.port() : origin.port()),
                        keys.getPrivate());
                String ok = admin(g, e.path(), e.role());
                assertThat(ok).as("%s as %s", e.path(), e.role()).matches("2\\d\\d (?s).*");
            }
            assertThat(proxied(g, "/x")).isEqualTo("200 older /x");
        }
    }
}

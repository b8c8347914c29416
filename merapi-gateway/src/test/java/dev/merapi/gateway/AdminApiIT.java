package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.security.SecurityEvents;
import dev.merapi.gateway.admin.AdminApi;
import dev.merapi.gateway.admin.AuditLog;
import dev.merapi.gateway.admin.Role;
import dev.merapi.gateway.config.TokenHash;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * The admin API of a gateway started from YAML, over real sockets: the endpoint table's roles, posted configurations,
 * reload history, backend administration, the brute-force delay, client certificates and the audit log.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AdminApiIT {
    private static final Path CURL = Path.of("/usr/bin/curl");
    /** One token per role, made once for the class (each hash costs the full PBKDF2). */
    private static final Map<Role, String> TOKENS = new EnumMap<>(Role.class);
    private static final Map<Role, String> HASHES = new EnumMap<>(Role.class);
    private static final Map<Role, String> NAMES = Map.of(Role.VIEWER, "vera", Role.OPERATOR, "otto", Role.ADMIN, "ada");
    @TempDir
    Path dir;
    private MockOrigin a;
    private MockOrigin b;
    private Gateway gateway;
    private Path audit;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void tokens() {
        for (Role r : Role.values()) {
            String token = "test-" + r.key() + "-" + java.util.UUID.randomUUID();
            TOKENS.put(r, token);
            HASHES.put(r, TokenHash.create(token).encoded());
        }
    }

    @BeforeEach
    void origins() {
        a = MockOrigin.start();
        a.setDispatcher(r -> MockResponse.ok("a"));
        b = MockOrigin.start();
        b.setDispatcher(r -> MockResponse.ok("b"));
        audit = dir.resolve("audit.log");
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        if (gateway != null) {
            gateway.shutdownFast();
        }
        a.close();
        b.close();
    }

    private String yaml(String extraRoute, String adminExtra) {
        StringBuilder tokens = new StringBuilder();
        for (Role r : Role.values()) {
            tokens.append("    - {name: ").append(NAMES.get(r)).append(", role: ").append(r.key()).append(", hash: \"")
                    .append(HASHES.get(r)).append("\"}\n");
        }
        return """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams:
                  - {name: app, backends: ["127.0.0.1:%d", "127.0.0.1:%d"], retries: 0}
                routes:
                %s  - {name: all, match: {path-prefix: /}, upstream: app}
                admin:
                  address: "127.0.0.1:0"
                  audit-log: %s
                %s  tokens:
                %s""".formatted(a.port(), b.port(), extraRoute, audit, adminExtra, tokens);
    }

    private void start(String yaml) throws IOException {
        gateway = TestGateways.start(dir, yaml);
    }

    private int adminPort() {
        return ((InetSocketAddress) gateway.adminAddress().orElseThrow()).getPort();
    }

    private record Answer(int status, String body, Duration took) {
    }

    private Answer call(String method, String path, Role role, String body) throws Exception {
        return call(method, path, role == null ? null : TOKENS.get(role), body);
    }

    private Answer call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            r.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            r.header("Content-Type", "application/yaml");
        }
        long t0 = System.nanoTime();
        HttpResponse<String> response = client.send(r.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), response.body(), Duration.ofNanos(System.nanoTime() - t0));
    }

    private String proxied(String path) throws Exception {
        int port = TestGateways.port(gateway, 0);
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30))
                .build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body();
    }

    private String concrete(AdminApi.Endpoint e) {
        return e.path().replace("{group}", "app").replace("{backend}", "127.0.0.1:" + a.port());
    }

    private static Role below(Role r) {
        return Role.values()[r.ordinal() - 1];
    }

    @Test
    void everyEndpointAnswers401WithoutCredentials403ToALowerRoleAnd2xxToItsRole() throws Exception {
        start(yaml("", "  max-body: 16KiB\n"));
        String text = Files.readString(dir.resolve("gw.yaml"));

        for (AdminApi.Endpoint e : AdminApi.ENDPOINTS) {
            String path = concrete(e);
            String body = e.takesBody() ? text : null;
            assertThat(call(e.method(), path, (Role) null, body).status()).as("%s %s without credentials", e.method(), path).isEqualTo(401);
            if (e.role() != Role.VIEWER) {
                Answer lower = call(e.method(), path, below(e.role()), body);
                assertThat(lower.status()).as("%s %s as %s", e.method(), path, below(e.role())).isEqualTo(403);
                assertThat(lower.body()).contains("needs " + e.role().key());
            }
            Answer ok = call(e.method(), path, e.role(), body);
            if (e.path().startsWith("/api/v1/remote/")) {
                // past authentication and role: this gateway has no remote source (RemoteConfigIT walks these with one)
                assertThat(ok.status()).as("%s %s as %s: %s", e.method(), path, e.role(), ok.body()).isEqualTo(409);
                assertThat(ok.body()).contains("no remote section is configured");
                continue;
            }
            assertThat(ok.status()).as("%s %s as %s: %s", e.method(), path, e.role(), ok.body()).isBetween(200, 299);
            assertThat(call(e.method(), path, Role.ADMIN, body).status()).as("admin may call everything").isBetween(200, 299);
        }
        assertThat(call("GET", "/api/v1/nothing", Role.ADMIN, null).status()).isEqualTo(404);
        assertThat(call("DELETE", "/api/v1/status", Role.ADMIN, null).status()).isEqualTo(405);
        assertThat(call("GET", "/api/v1/status?verbose=1", Role.ADMIN, null).status()).isEqualTo(400);
        assertThat(call("POST", "/api/v1/reload", Role.ADMIN, "surprise").status()).isEqualTo(400);
        assertThat(call("POST", "/api/v1/config/validate", Role.ADMIN, "#".repeat(20_000)).status()).isEqualTo(413);
        assertThat(call("GET", "/livez", (Role) null, null).status()).isEqualTo(200);
        assertThat(AuditLog.verify(audit).ok()).isTrue();
    }

    @Test
    void aConfigurationWithoutCredentialsAnswers401ToEveryCallAndKeepsHealthOpen() throws Exception {
        gateway = TestGateways.start(dir, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                routes: [{name: all, respond: {status: 200, body: "ok"}}]
                admin: {address: "127.0.0.1:0"}
                """);

        for (AdminApi.Endpoint e : AdminApi.ENDPOINTS) {
            Answer r = call(e.method(), concrete(e), Role.ADMIN, e.takesBody() ? "x: 1" : null);
            assertThat(r.status()).as("%s %s", e.method(), e.path()).isEqualTo(401);
        }
        assertThat(call("GET", "/livez", (Role) null, null).status()).isEqualTo(200);
        assertThat(call("GET", "/readyz", (Role) null, null).status()).isEqualTo(200);
        assertThat(call("GET", "/metrics", (Role) null, null).status()).isEqualTo(200);
    }

    @Test
    void applyingAGoodConfigurationServesItAndAuditsBothVersions() throws Exception {
        start(yaml("", ""));
        assertThat(proxied("/tea")).isIn("200 a", "200 b");
        String next = yaml("  - {name: tea, match: {path: /tea}, respond: {status: 418, body: \"short and stout\"}}\n", "");

        Answer r = call("POST", "/api/v1/config/apply", Role.ADMIN, next);

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"applied\":true", "\"before\":{\"version\":1,", "\"after\":{\"version\":2,");
        assertThat(proxied("/tea")).isEqualTo("418 short and stout");
        Answer status = call("GET", "/api/v1/status", Role.VIEWER, null);
        assertThat(status.body()).contains("\"config\":{\"version\":2,", "\"source\":\"<posted>\"");
        String last = Files.readAllLines(audit).getLast();
        assertThat(last).contains("\"identity\":\"ada\"", "\"role\":\"admin\"", "\"method\":\"POST\"", "\"path\":\"/api/v1/config/apply\"",
                "\"outcome\":\"ok\"", "\"status\":200", "\"before\":{\"version\":1,", "\"after\":{\"version\":2,");
        assertThat(AuditLog.verify(audit).ok()).isTrue();
        // the config endpoint shows the text in force, its hashes redacted
        Answer config = call("GET", "/api/v1/config", Role.VIEWER, null);
        assertThat(config.body()).contains("\"version\":2", "short and stout", "[redacted]");
        HASHES.values().forEach(h -> assertThat(config.body()).doesNotContain(h.split("\\$")[3]));
    }

    @Test
    void anAppliedConfigurationIsWrittenToTheFileSoThatAReloadKeepsIt() throws Exception {
        start(yaml("", ""));
        Path file = dir.resolve("gw.yaml");
        String before = Files.readString(file);
        String next = yaml("  - {name: tea, match: {path: /tea}, respond: {status: 418, body: \"short and stout\"}}\n", "");

        Answer applied = call("POST", "/api/v1/config/apply", Role.ADMIN, next);

        assertThat(applied.status()).as(applied.body()).isEqualTo(200);
        assertThat(Files.readString(file)).isEqualTo(next);
        assertThat(Files.readString(dir.resolve("gw.yaml.previous"))).isEqualTo(before);
        assertThat(temporaryFiles()).isEmpty();
        Answer reload = call("POST", "/api/v1/reload", Role.OPERATOR, null);
        assertThat(reload.status()).as(reload.body()).isEqualTo(200);
        assertThat(proxied("/tea")).isEqualTo("418 short and stout");

        // going back is putting the previous file back and reloading
        Files.copy(dir.resolve("gw.yaml.previous"), file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThat(call("POST", "/api/v1/reload", Role.OPERATOR, null).status()).isEqualTo(200);
        assertThat(proxied("/tea")).isIn("200 a", "200 b");
    }

    @Test
    void anApplyThatCannotBeWrittenToTheFileIsRefusedAndChangesNothing() throws Exception {
        start(yaml("", ""));
        Path file = dir.resolve("gw.yaml");
        String before = Files.readString(file);
        Files.createDirectories(dir.resolve("gw.yaml.previous").resolve("in-the-way")); // the previous file cannot be kept

        Answer r = call("POST", "/api/v1/config/apply", Role.ADMIN,
                yaml("  - {name: tea, match: {path: /tea}, respond: {status: 418, body: \"short and stout\"}}\n", ""));

        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.body()).contains("\"applied\":false", "cannot write the configuration to " + file, "nothing was applied");
        assertThat(Files.readString(file)).isEqualTo(before);
        assertThat(temporaryFiles()).isEmpty();
        assertThat(proxied("/tea")).isIn("200 a", "200 b");
        assertThat(call("GET", "/api/v1/status", Role.VIEWER, null).body()).contains("\"config\":{\"version\":1,");
        assertThat(Files.readAllLines(audit).getLast()).contains("\"path\":\"/api/v1/config/apply\"", "\"outcome\":\"refused\"",
                "\"status\":422");
    }

    private List<String> temporaryFiles() throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
    }

    @Test
    void anInvalidConfigurationIsRefusedWith422AtItsLineAndColumnAndTheOldOneKeepsServing() throws Exception {
        start(yaml("  - {name: tea, match: {path: /tea}, respond: {status: 418, body: \"short and stout\"}}\n", ""));
        String bad = """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                routes:
                  - {name: all, match: {path-prefix: /}, upstream: nowhere}
                """;

        Answer validate = call("POST", "/api/v1/config/validate", Role.ADMIN, bad);
        Answer apply = call("POST", "/api/v1/config/apply", Role.ADMIN, bad);

        assertThat(validate.status()).isEqualTo(422);
        assertThat(validate.body()).contains("\"valid\":false", "\"line\":3,\"column\":52,\"path\":\"routes[0].upstream\"",
                "<posted>:3:52: routes[0].upstream: no upstream group is named 'nowhere'");
        assertThat(apply.status()).isEqualTo(422);
        assertThat(apply.body()).contains("\"applied\":false", "<posted>:3:52: routes[0].upstream");
        assertThat(proxied("/tea")).isEqualTo("418 short and stout");
        assertThat(call("GET", "/api/v1/status", Role.VIEWER, null).body()).contains("\"config\":{\"version\":1,");
        assertThat(call("POST", "/api/v1/config/apply", Role.ADMIN, "listeners: [oops").status()).isEqualTo(422);
        assertThat(Files.readAllLines(audit).getLast()).contains("\"outcome\":\"refused\"", "\"status\":422", "\"errors\":[\"1:")
                .doesNotContain("oops");
    }

    @Test
    void reloadHistoryListsRefusedAndAppliedReloadsWithTheirErrors() throws Exception {
        start(yaml("", ""));
        Path file = dir.resolve("gw.yaml");
        String good = Files.readString(file);
        Files.writeString(file, good.replace("routes:", "routes:\n  - {name: broken, match: {path: /x}, upstream: nowhere}"));

        Answer refused = call("POST", "/api/v1/reload", Role.OPERATOR, null);
        Files.writeString(file, good.replace("routes:", "routes:\n  - {name: tea, match: {path: /tea}, respond: {status: 418}}"));
        Answer applied = call("POST", "/api/v1/reload", Role.OPERATOR, null);
        Answer history = call("GET", "/api/v1/reloads", Role.VIEWER, null);

        assertThat(refused.status()).isEqualTo(422);
        assertThat(applied.status()).as(applied.body()).isEqualTo(200);
        assertThat(proxied("/tea")).startsWith("418");
        assertThat(history.body()).contains("\"trigger\":\"admin:otto\"", file + ":5:49: routes[0].upstream: no upstream group is named 'nowhere'");
        int refusedAt = history.body().indexOf("\"applied\":false");
        int appliedAt = history.body().lastIndexOf("\"applied\":true");
        assertThat(refusedAt).isPositive().isLessThan(appliedAt);
        assertThat(call("GET", "/api/v1/status", Role.VIEWER, null).body()).contains("\"lastFailedReload\":{");
    }

    @Test
    void aDisabledBackendTakesNoRequestsUntilEnabledAndADrainedOneTakesNoNewOnes() throws Exception {
        start(yaml("", ""));
        String backend = "/api/v1/backends/app/127.0.0.1:" + a.port();

        Answer disabled = call("POST", backend + "/disable", Role.OPERATOR, null);
        List<String> whileDisabled = answers(6);
        call("POST", backend + "/enable", Role.OPERATOR, null);
        List<String> afterEnable = answers(6);
        Answer drained = call("POST", backend + "/drain", Role.OPERATOR, null);
        List<String> whileDraining = answers(6);

        assertThat(disabled.status()).isEqualTo(200);
        assertThat(disabled.body()).contains("\"enabled\":false", "\"available\":false");
        assertThat(whileDisabled).containsOnly("200 b");
        assertThat(afterEnable).contains("200 a", "200 b");
        assertThat(drained.body()).contains("\"draining\":true");
        assertThat(whileDraining).containsOnly("200 b");
        assertThat(call("GET", "/api/v1/status", Role.VIEWER, null).body()).contains("\"name\":\"127.0.0.1:" + a.port() + "\",\"available\":false");
        assertThat(call("POST", "/api/v1/backends/app/127.0.0.1:1/disable", Role.OPERATOR, null).status()).isEqualTo(404);
        assertThat(call("POST", "/api/v1/backends/nope/127.0.0.1:1/disable", Role.OPERATOR, null).status()).isEqualTo(404);
        // a reload that keeps the group's backends keeps its balancer, and with it the drain
        assertThat(call("POST", "/api/v1/reload", Role.OPERATOR, null).status()).isEqualTo(200);
        assertThat(answers(4)).containsOnly("200 b");
    }

    private List<String> answers(int n) throws Exception {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(proxied("/x"));
        }
        return out;
    }

    @Test
    void repeatedBadTokensFromOneAddressWaitLongerEachTimeUntilAGoodOne() throws Exception {
        start(yaml("", ""));
        long events = SecurityEvents.count("admin-auth");

        List<Answer> bad = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bad.add(call("GET", "/api/v1/status", "wrong-token-" + i, null));
        }
        Answer good = call("GET", "/api/v1/status", Role.VIEWER, null);
        Answer badAgain = call("GET", "/api/v1/status", "wrong-again", null);

        assertThat(bad).allSatisfy(r -> assertThat(r.status()).isEqualTo(401));
        // lower bounds only: the delay is 250 ms, doubling with each failure in a row
        for (int i = 0; i < bad.size(); i++) {
            assertThat(bad.get(i).took()).as("failure %d", i + 1).isGreaterThanOrEqualTo(Duration.ofMillis(250L << i));
        }
        assertThat(good.status()).isEqualTo(200);
        assertThat(badAgain.status()).isEqualTo(401);
        assertThat(SecurityEvents.count("admin-auth") - events).isEqualTo(5);
        assertThat(call("GET", "/api/v1/status", "", null).status()).isEqualTo(401);
        List<String> lines = Files.readAllLines(audit);
        assertThat(lines.stream().filter(l -> l.contains("\"outcome\":\"denied\"")).count()).isGreaterThanOrEqualTo(5);
    }

    @Test
    void aTokenRemovedByAReloadIsRefusedWithoutARestartAndTheDenialIsAudited() throws Exception {
        start(yaml("", ""));
        Path file = dir.resolve("gw.yaml");
        String operatorEntry = "    - {name: otto, role: operator, hash: \"" + HASHES.get(Role.OPERATOR) + "\"}\n";
        String viewerEntry = "    - {name: vera, role: viewer, hash: \"" + HASHES.get(Role.VIEWER) + "\"}\n";
        String text = Files.readString(file);
        assertThat(text).contains(operatorEntry, viewerEntry);
        // each token verified once (PBKDF2), then remembered
        assertThat(call("GET", "/api/v1/status", Role.OPERATOR, null).status()).isEqualTo(200);
        assertThat(call("GET", "/api/v1/status", Role.VIEWER, null).status()).isEqualTo(200);
        assertThat(call("POST", "/api/v1/reload", Role.VIEWER, null).status()).isEqualTo(403);

        // otto's token is revoked; vera's entry becomes an operator
        Files.writeString(file, text.replace(operatorEntry, "").replace(viewerEntry, viewerEntry.replace("role: viewer", "role: operator")));
        Answer reload = call("POST", "/api/v1/reload", Role.ADMIN, null);

        assertThat(reload.status()).as(reload.body()).isEqualTo(200);
        Answer revoked = call("GET", "/api/v1/status", Role.OPERATOR, null);
        assertThat(revoked.status()).isEqualTo(401);
        assertThat(revoked.body()).contains("authentication failed");
        assertThat(call("POST", "/api/v1/reload", Role.VIEWER, null).status()).as("vera's new role is in force").isEqualTo(200);
        assertThat(call("GET", "/api/v1/status", Role.ADMIN, null).status()).isEqualTo(200);
        List<String> lines = Files.readAllLines(audit);
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"identity\":null", "\"path\":\"/api/v1/status\"", "\"outcome\":\"denied\"",
                "\"status\":401", "\"reason\":\"unknown bearer token\""));
        assertThat(lines.getLast()).contains("\"identity\":\"vera\",\"role\":\"operator\"", "\"path\":\"/api/v1/reload\"",
                "\"outcome\":\"ok\"");
        assertThat(AuditLog.verify(audit).ok()).isTrue();
        assertThat(Cli.run("audit", "verify", audit.toString()).exitCode()).isZero();

        // an apply that takes every token away closes the API to everyone, the caller included
        Answer lockout = call("POST", "/api/v1/config/apply", Role.ADMIN, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                routes: [{name: all, respond: {status: 200, body: "ok"}}]
                admin: {address: "127.0.0.1:0"}
                """);
        assertThat(lockout.status()).as(lockout.body()).isEqualTo(200);
        assertThat(call("GET", "/api/v1/status", Role.ADMIN, null).status()).isEqualTo(401);
        assertThat(call("GET", "/livez", (Role) null, null).status()).isEqualTo(200);
    }

    @Test
    void theAuditLogHoldsNoTokenAndNoHash() throws Exception {
        start(yaml("", ""));
        String text = Files.readString(dir.resolve("gw.yaml"));

        call("POST", "/api/v1/config/apply", Role.ADMIN, text);
        call("POST", "/api/v1/reload", Role.OPERATOR, null);
        call("POST", "/api/v1/config/apply", Role.OPERATOR, text);
        call("GET", "/api/v1/status", "not-" + TOKENS.get(Role.ADMIN), null);
        gateway.shutdownFast();
        gateway = null;

        String log = Files.readString(audit);
        assertThat(log.lines()).hasSizeGreaterThanOrEqualTo(4);
        for (Role r : Role.values()) {
            assertThat(log).doesNotContain(TOKENS.get(r)).doesNotContain(HASHES.get(r).split("\\$")[2]).doesNotContain(HASHES.get(r).split("\\$")[3]);
        }
        assertThat(log).doesNotContain("pbkdf2").doesNotContain("Bearer");
        assertThat(AuditLog.verify(audit).ok()).isTrue();
    }

    @Test
    void aClientCertificateAuthenticatesItsIdentityAndRequireBothKeepsAdminForTwoFactors() throws Exception {
        assumeTrue(Files.isExecutable(CURL), "curl is not installed (apt-get install curl)");
        TestPki pki = TestPki.create(dir.resolve("pki"), "Admin CA");
        TestPki.Issued server = pki.certificate("admin.test").dns("localhost").ip("127.0.0.1").issue();
        TestPki.Issued carol = pki.certificate("carol").clientAuth().issue();
        TestPki.Issued ada = pki.certificate("ada").clientAuth().issue();
        start(yaml("", """
                  tls:
                    certificates: [{cert: %s, key: %s}]
                    client-ca: %s
                    client-auth: optional
                  require-both: true
                  clients:
                    - {name: carol, role: operator, sha256: "%s"}
                    - {name: ada, role: admin, sha256: "%s"}
                """.formatted(server.chainPem(), server.keyPem(), pki.caPem(), carol.sha256(), ada.sha256())));
        String url = "https://localhost:" + adminPort();
        String text = Files.readString(dir.resolve("gw.yaml"));
        Path posted = dir.resolve("posted.yaml");
        Files.writeString(posted, text);

        String carolReload = curl(pki, "--cert", carol.chainPem().toString(), "--key", carol.keyPem().toString(), "-X", "POST", url + "/api/v1/reload");
        String carolApply = curl(pki, "--cert", carol.chainPem().toString(), "--key", carol.keyPem().toString(), "-H",
                "Content-Type: application/yaml", "--data-binary", "@" + posted, url + "/api/v1/config/apply");
        String adaTokenOnly = curl(pki, "-H", "Authorization: Bearer " + TOKENS.get(Role.ADMIN), "-H", "Content-Type: application/yaml",
                "--data-binary", "@" + posted, url + "/api/v1/config/apply");
        String adaBoth = curl(pki, "--cert", ada.chainPem().toString(), "--key", ada.keyPem().toString(), "-H",
                "Authorization: Bearer " + TOKENS.get(Role.ADMIN), "-H", "Content-Type: application/yaml", "--data-binary", "@" + posted,
                url + "/api/v1/config/apply");
        String carolWithAdaToken = curl(pki, "--cert", carol.chainPem().toString(), "--key", carol.keyPem().toString(), "-H",
                "Authorization: Bearer " + TOKENS.get(Role.ADMIN), url + "/api/v1/status");
        String none = curl(pki, url + "/api/v1/status");
        String plain = curl(pki, "http://127.0.0.1:" + adminPort() + "/api/v1/status");

        assertThat(carolReload).startsWith("200 ");
        assertThat(carolApply).startsWith("403 ").contains("needs admin");
        assertThat(adaTokenOnly).startsWith("403 ").contains("with a token and a client certificate");
        assertThat(adaBoth).startsWith("200 ").contains("\"applied\":true");
        assertThat(carolWithAdaToken).startsWith("401 ");
        assertThat(none).startsWith("401 ");
        assertThat(plain).doesNotStartWith("200");
        assertThat(Files.readString(audit)).contains("\"identity\":\"carol\",\"role\":\"operator\",\"via\":\"certificate\"",
                "\"identity\":\"ada\",\"role\":\"admin\",\"via\":\"token+certificate\"");
    }

    private static String curl(TestPki pki, String... args) throws IOException, InterruptedException {
        return Cli.curl(pki.caPem(), args);
    }
}

package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code admin} section: loopback unless TLS, token hashes only, client entries, and an audit log for credentials. */
class AdminConfigTest {
    private static final String HEAD = """
            listeners: [{name: main, address: "127.0.0.1:0"}]
            routes: [{name: all, respond: {status: 200}}]
            """;
    /** A hash of the token "t", made once: the loader checks its form, not its value. */
    private static final String HASH = TokenHash.create("t").encoded();

    private static GatewayConfig parse(String yaml) {
        return ConfigLoader.of().parse(yaml, "gw.yaml", Path.of("."));
    }

    private static List<String> errors(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void anAdminListenerOffLoopbackWithoutTlsIsRefusedAtItsAddress() {
        assertThat(errors(HEAD + "admin:\n  address: 0.0.0.0:9901\n")).containsExactly(
                "gw.yaml:4:12: admin.address: the admin listener on 0.0.0.0:9901 is reachable from other hosts, so it needs tls;"
                        + " keep it on loopback (127.0.0.1) or add admin.tls");
        assertThat(errors(HEAD + "admin: {address: \"admin.example:9901\"}\n")).singleElement().asString().contains("needs tls");
        assertThat(parse(HEAD + "admin: {address: \"[::1]:9901\"}\n").admin().address()).isEqualTo("[::1]:9901");
        assertThat(parse(HEAD + "admin: {address: \"localhost:9901\"}\n").admin().address()).isEqualTo("localhost:9901");
        assertThat(parse(HEAD + "admin: {enabled: false, address: \"0.0.0.0:9901\"}\n").admin().enabled()).isFalse();
    }

    @Test
    void tokensNeedAHashInTheStoredFormAndAnAuditLog() {
        GatewayConfig ok = parse(HEAD + "admin:\n  audit-log: /tmp/a.log\n  tokens:\n    - {name: ada, role: admin, hash: \"" + HASH + "\"}\n");
        assertThat(ok.admin().tokens()).singleElement().satisfies(t -> {
            assertThat(t.name()).isEqualTo("ada");
            assertThat(t.role()).isEqualTo("admin");
            assertThat(t.toString()).doesNotContain(HASH);
        });
        assertThat(ok.admin().auditLog()).contains(Path.of("/tmp/a.log"));

        assertThat(errors(HEAD + "admin:\n  audit-log: /tmp/a.log\n  tokens:\n    - {name: ada, role: admin, hash: s3cret}\n"))
                .singleElement().asString().startsWith("gw.yaml:6:38: admin.tokens[0].hash: not a token hash");
        String weak = "pbkdf2-sha256$1000$" + HASH.split("\\$")[2] + "$" + HASH.split("\\$")[3];
        assertThat(errors(HEAD + "admin:\n  audit-log: /tmp/a.log\n  tokens:\n    - {name: ada, role: admin, hash: \"" + weak + "\"}\n"))
                .singleElement().asString().contains("at least 210000 iterations");
        assertThat(errors(HEAD + "admin:\n  audit-log: /tmp/a.log\n  tokens:\n    - {name: ada, role: root, hash: \"" + HASH + "\"}\n"))
                .singleElement().asString().contains("admin.tokens[0].role");
        assertThat(errors(HEAD + "admin:\n  tokens:\n    - {name: ada, role: admin, hash: \"" + HASH + "\"}\n"))
                .singleElement().asString().startsWith("gw.yaml:4:3: admin.audit-log: admin credentials are configured, so audit-log is required");
    }

    @Test
    void clientCertificatesNeedAListenerThatVerifiesThem() {
        assertThat(errors(HEAD + "admin:\n  audit-log: /tmp/a.log\n  clients:\n    - {name: carol, role: operator, subject: \"CN=carol\"}\n"))
                .singleElement().asString().startsWith("gw.yaml:5:3: admin.clients: client certificates need admin.tls with client-ca");
        assertThat(errors(HEAD + "admin:\n  audit-log: /tmp/a.log\n  clients:\n    - {name: carol, role: operator}\n"))
                .anySatisfy(e -> assertThat(e).contains("admin.clients[0]: give one of subject"));
        assertThat(errors(HEAD + "admin:\n  audit-log: /tmp/a.log\n  clients:\n    - {name: carol, role: operator, sha256: abc}\n"))
                .anySatisfy(e -> assertThat(e).contains("admin.clients[0].sha256: expected 64 hex digits"));
    }

    @Test
    void theDefaultHasNoCredentials() {
        GatewayConfig c = parse(HEAD);

        assertThat(c.admin().hasCredentials()).isFalse();
        assertThat(c.admin().maxBody()).isEqualTo(1024 * 1024);
        assertThat(c.admin().address()).isEqualTo("127.0.0.1:9901");
    }

    @Test
    void aTokenHashMatchesOnlyItsToken() {
        TokenHash h = TokenHash.parse(HASH).orElseThrow();

        assertThat(h.matches("t")).isTrue();
        assertThat(h.matches("u")).isFalse();
        assertThat(h.iterations()).isGreaterThanOrEqualTo(TokenHash.MIN_ITERATIONS);
        assertThat(TokenHash.parse(h.encoded())).contains(h);
        assertThat(h.toString()).doesNotContain(HASH.split("\\$")[3]);
    }
}

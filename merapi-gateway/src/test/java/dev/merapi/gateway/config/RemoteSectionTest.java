package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code version} key and the {@code remote} section: defaults, and every refusal at its line and column. */
class RemoteSectionTest {
    private static final String HEAD = """
            listeners: [{name: main, address: "127.0.0.1:0"}]
            routes: [{name: all, respond: {body: hi}}]
            """;

    @TempDir
    Path dir;

    @BeforeEach
    void keys() throws IOException, NoSuchAlgorithmException {
        Files.writeString(dir.resolve("config.pub"), Ed25519Pem.encode(KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic()));
        Files.writeString(dir.resolve("rsa.pub"), "-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(
                KeyPairGenerator.getInstance("RSA").generateKeyPair().getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
    }

    private GatewayConfig parse(String yaml) {
        return ConfigLoader.of().parse(yaml, "gw.yaml", dir);
    }

    private List<String> errors(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void remoteSectionTakesDefaultsAndResolvesPathsFromTheFilesDirectory() {
        GatewayConfig c = parse("version: 12\n" + HEAD + """
                remote:
                  url: https://config.example.com/gw.yaml
                  public-key: config.pub
                  cache-dir: cache
                """);

        assertThat(c.version()).isEqualTo(12);
        GatewayConfig.Remote r = c.remote().orElseThrow();
        assertThat(r.url().toString()).isEqualTo("https://config.example.com/gw.yaml");
        assertThat(r.publicKey()).isEqualTo(dir.resolve("config.pub"));
        assertThat(r.cacheDir()).isEqualTo(dir.resolve("cache"));
        assertThat(r.interval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(r.maxBackoff()).isEqualTo(Duration.ofMinutes(5));
        assertThat(r.maxSize()).isEqualTo(4L * 1024 * 1024);
        assertThat(r.ca()).isEmpty();
    }

    @Test
    void aFileWithoutVersionOrRemoteIsVersionZeroWithNoSource() {
        GatewayConfig c = parse(HEAD);

        assertThat(c.version()).isZero();
        assertThat(c.remote()).isEmpty();
    }

    @Test
    void plainHttpIsRefusedAtItsLineAndColumn() {
        assertThat(errors(HEAD + """
                remote:
                  url: http://config.example.com/gw.yaml
                  public-key: config.pub
                  cache-dir: cache
                """)).containsExactly("gw.yaml:4:8: remote.url: must be an https:// URL: bundles are fetched over TLS with the server"
                + " verified; got scheme 'http'");
    }

    @Test
    void credentialsInTheUrlAreRefused() {
        assertThat(errors(HEAD + "remote: {url: \"https://user:pw@config.example.com/gw.yaml\", public-key: config.pub, cache-dir: c}\n"))
                .singleElement().asString().startsWith("gw.yaml:3:").contains("remote.url: the URL holds credentials");
    }

    @Test
    void aPublicKeyThatIsNotEd25519IsRefused() {
        assertThat(errors(HEAD + "remote: {url: \"https://c.example.com/gw.yaml\", public-key: rsa.pub, cache-dir: c}\n"))
                .singleElement().asString().contains("remote.public-key: cannot read an Ed25519 public key (PEM) from")
                .contains("not an Ed25519 public key");
        assertThat(errors(HEAD + "remote: {url: \"https://c.example.com/gw.yaml\", public-key: missing.pub, cache-dir: c}\n"))
                .singleElement().asString().contains("remote.public-key: cannot read an Ed25519 public key (PEM)")
                .contains("NoSuchFileException");
    }

    @Test
    void urlPublicKeyAndCacheDirAreRequired() {
        assertThat(errors(HEAD + "remote: {interval: 1m}\n")).containsExactly(
                "gw.yaml:3:9: remote: 'url' is required",
                "gw.yaml:3:9: remote: 'public-key' is required",
                "gw.yaml:3:9: remote: 'cache-dir' is required");
    }

    @Test
    void versionMustBeAWholeNumberFromZero() {
        assertThat(errors("version: -1\n" + HEAD)).containsExactly("gw.yaml:1:10: version: expected a whole number from 0 to "
                + Long.MAX_VALUE + "; got '-1'");
        assertThat(errors("version: 1.5\n" + HEAD)).singleElement().asString().startsWith("gw.yaml:1:10: version: expected a whole number");
    }

    @Test
    void aBackoffShorterThanTheIntervalAndAnUnreadableCaAreRefused() {
        assertThat(errors(HEAD + """
                remote:
                  url: https://c.example.com/gw.yaml
                  public-key: config.pub
                  cache-dir: c
                  interval: 10m
                  max-backoff: 1m
                  ca: nowhere.pem
                  client-key: k.pem
                """)).containsExactly(
                "gw.yaml:8:16: remote.max-backoff: must be at least the interval (10m)",
                "gw.yaml:9:7: remote.ca: cannot read the CA bundle " + dir.resolve("nowhere.pem") + " (NoSuchFileException)",
                "gw.yaml:10:3: remote.client-key: client-cert and client-key go together");
    }
}

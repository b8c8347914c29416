package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.config.Ed25519Pem;
import dev.merapi.gateway.Cli.Run;
import dev.merapi.gateway.remote.Bundle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code merapi config keygen}, {@code sign} and {@code verify}, run in-process with captured output. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BundleCommandsTest {
    private static final String CONFIG = """
            version: 7
            listeners: [{name: main, address: "127.0.0.1:0"}]
            routes: [{name: all, respond: {body: hi}}]
            """;

    @TempDir
    Path dir;

    private static Run run(String... args) {
        return Cli.run(args);
    }

    @Test
    void keygenWritesAnOwnerOnlyPrivateKeyAndAPublicKeyThatVerifiesItsSignatures() throws IOException {
        Run keygen = run("config", "keygen", "--out", dir.resolve("keys").toString());

        Path priv = dir.resolve("keys/config-signing.key");
        Path pub = dir.resolve("keys/config-signing.pub");
        assertThat(keygen.exitCode()).isZero();
        assertThat(keygen.out()).contains(priv.toString(), pub.toString());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(priv))).isEqualTo("rw-------");
        assertThat(Files.readString(priv)).startsWith("-----BEGIN PRIVATE KEY-----\n");
        assertThat(Files.readString(pub)).startsWith("-----BEGIN PUBLIC KEY-----\n");
        PrivateKey privateKey = Ed25519Pem.privateKey(Files.readString(priv));
        PublicKey publicKey = Ed25519Pem.publicKey(Files.readString(pub));
        byte[] data = "version: 1\n".getBytes(StandardCharsets.UTF_8);
        assertThat(Bundle.sign(data, privateKey).verifies(publicKey)).isTrue();
    }

    @Test
    void keygenWithPrivateAndPublicFilesWritesThemThere() throws IOException {
        Run keygen = run("config", "keygen", "--private", dir.resolve("a.key").toString(), "--public", dir.resolve("a.pub").toString());

        assertThat(keygen.exitCode()).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("a.key")))).isEqualTo("rw-------");
        assertThat(Files.readString(dir.resolve("a.pub"))).contains("PUBLIC KEY");
    }

    @Test
    void keygenNeverOverwritesAKey() throws IOException {
        Files.writeString(dir.resolve("config-signing.key"), "precious");

        Run keygen = run("config", "keygen", "--out", dir.toString());

        assertThat(keygen.exitCode()).isEqualTo(1);
        assertThat(keygen.err()).contains("exists; it is never overwritten");
        assertThat(Files.readString(dir.resolve("config-signing.key"))).isEqualTo("precious");
        assertThat(dir.resolve("config-signing.pub")).doesNotExist();
    }

    @Test
    void keygenWithoutAPlaceForBothKeysIsAUsageError() {
        Run onlyPrivate = run("config", "keygen", "--private", dir.resolve("a.key").toString());
        Run both = run("config", "keygen", "--out", dir.toString(), "--public", dir.resolve("a.pub").toString());

        assertThat(onlyPrivate.exitCode()).isEqualTo(2);
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(onlyPrivate.err()).contains("give --out DIR, or both --private FILE and --public FILE");
        assertThat(dir.resolve("a.key")).doesNotExist();
    }

    @Test
    void signWritesASignatureThatVerifiesAndFailsOnceOneByteChanges() throws IOException {
        assertThat(run("config", "keygen", "--out", dir.toString()).exitCode()).isZero();
        Path config = dir.resolve("bundle.yaml");
        Files.writeString(config, CONFIG);
        String key = dir.resolve("config-signing.key").toString();
        String pub = dir.resolve("config-signing.pub").toString();

        Run sign = run("config", "sign", "--key", key, config.toString());
        Run verify = run("config", "verify", "--public-key", pub, config.toString());
        byte[] bytes = Files.readAllBytes(config);
        bytes[bytes.length - 3] ^= 1;
        Files.write(config, bytes);
        Run tampered = run("config", "verify", "--public-key", pub, config.toString());

        assertThat(sign.exitCode()).isZero();
        assertThat(sign.out()).contains("bundle.yaml.sig: signed");
        assertThat(Files.readString(dir.resolve("bundle.yaml.sig"))).matches("[A-Za-z0-9+/]{86}==\n");
        assertThat(verify.exitCode()).isZero();
        assertThat(verify.out()).contains("signature verified");
        assertThat(tampered.exitCode()).isEqualTo(1);
        assertThat(tampered.err()).contains("is not a valid signature of");
    }

    @Test
    void verifyRefusesASignatureByAnotherKey() throws IOException {
        assertThat(run("config", "keygen", "--out", dir.resolve("mine").toString()).exitCode()).isZero();
        assertThat(run("config", "keygen", "--out", dir.resolve("theirs").toString()).exitCode()).isZero();
        Path config = dir.resolve("bundle.yaml");
        Files.writeString(config, CONFIG);
        assertThat(run("config", "sign", "--key", dir.resolve("theirs/config-signing.key").toString(), config.toString()).exitCode()).isZero();

        Run verify = run("config", "verify", "--public-key", dir.resolve("mine/config-signing.pub").toString(), config.toString());

        assertThat(verify.exitCode()).isEqualTo(1);
    }

    @Test
    void signRefusesAConfigurationWithoutAVersion() throws IOException {
        assertThat(run("config", "keygen", "--out", dir.toString()).exitCode()).isZero();
        Path config = dir.resolve("bundle.yaml");
        Files.writeString(config, CONFIG.replace("version: 7\n", ""));

        Run sign = run("config", "sign", "--key", dir.resolve("config-signing.key").toString(), config.toString());

        assertThat(sign.exitCode()).isEqualTo(1);
        assertThat(sign.err()).contains("has no version");
        assertThat(dir.resolve("bundle.yaml.sig")).doesNotExist();
    }

    @Test
    void signRefusesAnInvalidConfigurationWithFileLineColumn() throws IOException {
        assertThat(run("config", "keygen", "--out", dir.toString()).exitCode()).isZero();
        Path config = dir.resolve("bundle.yaml");
        Files.writeString(config, CONFIG.replace("respond:", "respnd:"));

        Run sign = run("config", "sign", "--key", dir.resolve("config-signing.key").toString(), config.toString());

        assertThat(sign.exitCode()).isEqualTo(1);
        assertThat(sign.err()).contains(config + ":3:");
        assertThat(dir.resolve("bundle.yaml.sig")).doesNotExist();
    }

    @Test
    void signRefusesAKeyThatIsNotAnEd25519PrivateKey() throws IOException {
        Path config = dir.resolve("bundle.yaml");
        Files.writeString(config, CONFIG);
        Files.writeString(dir.resolve("not-a-key.pem"), "hello");

        Run sign = run("config", "sign", "--key", dir.resolve("not-a-key.pem").toString(), config.toString());

        assertThat(sign.exitCode()).isEqualTo(1);
        assertThat(sign.err()).contains("no '-----BEGIN PRIVATE KEY-----' block");
    }
}

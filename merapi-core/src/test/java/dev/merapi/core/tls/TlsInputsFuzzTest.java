package dev.merapi.core.tls;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes what a TLS listener reads from outside: PEM files (certificate chains and private keys in every form it
 * accepts) and the server name a client sends (SNI), which picks the certificate.
 *
 * <p>Rules: reading PEM text either succeeds or fails with a {@link TlsConfigException} (no other exception, no
 * hang); a server name is either refused (the default certificate) or normalized to lower-case letters, digits,
 * {@code -} and {@code _} labels of at most 253 characters, and the certificate chosen for it serves it unless it is
 * the default.
 */
class TlsInputsFuzzTest {
    private static final Pattern HOST = Pattern.compile("[a-z0-9_-]+(\\.[a-z0-9_-]+)*");
    private static CertificateStore store;

    @BeforeAll
    static void certificates() throws Exception {
        Path dir = Files.createTempDirectory("tls-fuzz");
        store = CertificateStore.builder().add(issue(dir, "default", "localhost")).add(issue(dir, "api", "api.example.com"))
                .add(issue(dir, "wild", "*.example.net")).build();
    }

    /** A self-signed ECDSA certificate for {@code name}, made by Debian's openssl. */
    private static TlsCertificate issue(Path dir, String file, String name) throws IOException, InterruptedException {
        Path cert = dir.resolve(file + ".pem");
        Path key = dir.resolve(file + ".key");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=" + file,
                "-addext", "subjectAltName=DNS:" + name).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        return TlsCertificate.load(cert, key);
    }

    /** The input is {@code chain NUL key}; both are read as PEM, then as one certificate. */
    @FuzzTest(maxDuration = "10s")
    void pem(byte[] data) {
        String text = new String(data, StandardCharsets.ISO_8859_1);
        int nul = text.indexOf('\0');
        String chain = nul < 0 ? text : text.substring(0, nul);
        String key = nul < 0 ? text : text.substring(nul + 1);
        try {
            List<?> certs = PemFiles.certificates(chain, "chain");
            assertThat(certs).isNotEmpty();
        } catch (TlsConfigException expected) {
            assertThat(expected.getMessage()).startsWith("chain:");
        }
        try {
            assertThat(PemFiles.privateKey(key, "key", null)).isNotNull();
        } catch (TlsConfigException expected) {
            assertThat(expected.getMessage()).startsWith("key:");
        }
        try {
            TlsCertificate.fromPem(chain, key);
        } catch (TlsConfigException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    /** The input is a server name as a client might send it. */
    @FuzzTest(maxDuration = "10s")
    void serverName(byte[] data) {
        String name = new String(data, StandardCharsets.ISO_8859_1);
        Optional<String> normalized = CertificateStore.normalizeServerName(name);
        normalized.ifPresent(n -> {
            assertThat(n.length()).isBetween(1, 253);
            assertThat(HOST.matcher(n).matches()).as(n).isTrue();
            assertThat(CertificateStore.normalizeServerName(n)).hasValue(n);
        });
        TlsCertificate chosen = store.select(name);
        assertThat(store.certificates()).contains(chosen);
        if (chosen != store.defaultCertificate()) {
            assertThat(normalized).isPresent();
            assertThat(chosen.serves(normalized.get())).as(name).isTrue();
        }
    }
}

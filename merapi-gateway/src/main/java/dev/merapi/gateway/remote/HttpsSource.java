package dev.merapi.gateway.remote;

import dev.merapi.core.tls.TlsCertificate;
import dev.merapi.gateway.config.GatewayConfig.Remote;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * The HTTPS source of bundles: GET {@code url} (with {@code If-None-Match} and {@code If-Modified-Since} from the last
 * bundle taken) and then {@code url}'s path plus {@code .sig}, with the JDK's {@link HttpClient}: the server's
 * certificate chain and host name verified (against {@code ca} or the JDK's trust store), the client certificate
 * shown if configured, redirects not followed, bodies read up to a limit.
 *
 * <p>Threading: used by one thread at a time (the remote configuration's, under its lock); {@link #close()} from any.
 */
final class HttpsSource implements AutoCloseable {
    /** The largest signature file read: an Ed25519 signature is 88 characters of base64. */
    private static final int MAX_SIGNATURE = 1024;
    private final Remote spec;
    private final URI signatureUrl;
    private final HttpClient client;

    /** What one fetch gave. */
    sealed interface Fetched {
        /** The source answered 304: the bundle taken last is still current. */
        record NotModified() implements Fetched {
        }

        /** A bundle, with the validators to send next time. */
        record Got(Bundle bundle, Optional<String> etag, Optional<String> lastModified) implements Fetched {
        }

        /** The source answered, but not with a bundle: an HTTP error or a body over the limit. */
        record Refused(String result, String reason) implements Fetched {
        }
    }

    /**
     * A source for {@code spec}, its CA bundle and client certificate read now.
     *
     * @throws IllegalArgumentException if a file is no longer usable
     */
    HttpsSource(Remote spec) {
        this.spec = spec;
        this.signatureUrl = signatureUrl(spec.url());
        this.client = HttpClient.newBuilder().sslContext(sslContext(spec)).connectTimeout(spec.timeout())
                .followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** {@code url} with {@code .sig} added to its path. */
    static URI signatureUrl(URI url) {
        try {
            return new URI(url.getScheme(), url.getRawAuthority(), url.getRawPath() + ".sig", url.getRawQuery(), null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("cannot make the signature URL of " + url, e);
        }
    }

    URI signatureUrl() {
        return signatureUrl;
    }

    /**
     * Fetches the bundle, unless it is unchanged since {@code etag} / {@code lastModified}.
     *
     * @throws IOException if the source cannot be reached, the TLS handshake fails (certificate or name not
     *     verified) or it does not answer in time
     */
    Fetched fetch(@Nullable String etag, @Nullable String lastModified) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(spec.url()).timeout(spec.timeout()).GET()
                .header("Accept", "application/yaml, text/yaml, text/plain, */*");
        if (etag != null) {
            b.header("If-None-Match", etag);
        }
        if (lastModified != null) {
            b.header("If-Modified-Since", lastModified);
        }
        HttpResponse<InputStream> r = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = r.body()) {
            if (r.statusCode() == 304 && (etag != null || lastModified != null)) {
                return new Fetched.NotModified();
            }
            if (r.statusCode() != 200) {
                return new Fetched.Refused("http-error", "the source answered HTTP " + r.statusCode() + " for " + spec.url());
            }
            byte[] config = body.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, spec.maxSize() + 1));
            if (config.length > spec.maxSize()) {
                return new Fetched.Refused("too-large", "the bundle is larger than max-size (" + spec.maxSize() + " bytes)");
            }
            HttpResponse<InputStream> s = client.send(HttpRequest.newBuilder(signatureUrl).timeout(spec.timeout()).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream sig = s.body()) {
                if (s.statusCode() != 200) {
                    return new Fetched.Refused("http-error", "the source answered HTTP " + s.statusCode() + " for " + signatureUrl);
                }
                byte[] text = sig.readNBytes(MAX_SIGNATURE + 1);
                if (text.length > MAX_SIGNATURE) {
                    return new Fetched.Refused("bad-signature", "the signature file is larger than " + MAX_SIGNATURE + " bytes");
                }
                return new Fetched.Got(Bundle.of(config, new String(text, StandardCharsets.US_ASCII)), r.headers().firstValue("ETag"),
                        r.headers().firstValue("Last-Modified"));
            }
        }
    }

    /** Stops the client's threads and closes its connections; a fetch in flight fails. */
    @Override
    public void close() {
        client.shutdownNow();
    }

    private static SSLContext sslContext(Remote spec) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (spec.ca().isPresent()) {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                try (InputStream in = Files.newInputStream(spec.ca().get())) {
                    int i = 0;
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        trust.setCertificateEntry("ca-" + i++, c);
                    }
                }
                tmf.init(trust);
            } else {
                tmf.init((KeyStore) null);
            }
            KeyManagerFactory kmf = null;
            if (spec.clientCert().isPresent() && spec.clientKey().isPresent()) {
                TlsCertificate cert = TlsCertificate.load(spec.clientCert().get(), spec.clientKey().get());
                KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
                keys.load(null, null);
                char[] none = new char[0];
                keys.setKeyEntry("client", cert.privateKey(), none, cert.chain().toArray(Certificate[]::new));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, none);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("remote: cannot set up TLS to " + spec.url() + ": " + e.getMessage(), e);
        }
    }
}

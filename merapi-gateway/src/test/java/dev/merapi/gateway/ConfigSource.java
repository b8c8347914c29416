package dev.merapi.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * A real HTTPS configuration source on loopback for tests: the JDK's {@link HttpsServer} with a certificate of a
 * {@link TestPki}, serving files put with {@link #put} (404 for others) with a strong ETag each, and answering 304 to a
 * matching {@code If-None-Match}. Records every request's path and {@code If-None-Match}. Thread-safe.
 */
final class ConfigSource implements AutoCloseable {
    /** One request as the source saw it. */
    record Seen(String path, String ifNoneMatch) {
    }

    private final HttpsServer server;
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile int status = 200;

    private ConfigSource(HttpsServer server) {
        this.server = server;
    }

    /** A source on 127.0.0.1 with {@code certificate} (issued for the names the test wants verified). */
    static ConfigSource start(TestPki.Issued certificate) throws IOException, GeneralSecurityException {
        return start(certificate, null);
    }

    /**
     * A source on 127.0.0.1 with {@code certificate} that, if {@code clientCa} is given, requires a client certificate
     * issued by it.
     */
    static ConfigSource start(TestPki.Issued certificate, @Nullable TestPki clientCa) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pw = "test".toCharArray();
        ks.setKeyEntry("server", certificate.key(), pw, new Certificate[] {certificate.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        if (clientCa != null) {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("client-ca", clientCa.caCertificate());
            tmf.init(trust);
        } else {
            tmf.init((KeyStore) null);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(ctx) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = ctx.getDefaultSSLParameters();
                p.setNeedClientAuth(clientCa != null);
                params.setSSLParameters(p);
            }
        });
        ConfigSource source = new ConfigSource(server);
        server.createContext("/", source::handle);
        server.start();
        return source;
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** Serves {@code content} at {@code path}. */
    void put(String path, byte[] content) {
        files.put(path, content.clone());
    }

    /** Answers every request with {@code status} (and no body) instead of the files, until set back to 200. */
    void failWith(int status) {
        this.status = status;
    }

    List<Seen> seen() {
        return List.copyOf(seen);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String inm = ex.getRequestHeaders().getFirst("If-None-Match");
            seen.add(new Seen(path, inm == null ? "" : inm));
            byte[] body = files.get(path);
            if (status != 200) {
                ex.sendResponseHeaders(status, -1);
                return;
            }
            if (body == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            String etag = "\"" + Integer.toHexString(java.util.Arrays.hashCode(body)) + "\"";
            ex.getResponseHeaders().set("ETag", etag);
            if (etag.equals(inm)) {
                ex.sendResponseHeaders(304, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "application/yaml");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Stops at once, closing its connections. */
    @Override
    public void close() {
        server.stop(0);
    }
}

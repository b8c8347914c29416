package dev.merapi.gateway.config;

import dev.merapi.gateway.config.Binder.Section;
import dev.merapi.gateway.config.GatewayConfig.Remote;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * Reads the top-level {@code version} and the {@code remote} section. Every file the section names is read and
 * checked here (the public key is an Ed25519 key, the CA bundle holds certificates, the client key matches its
 * certificate), so that {@code merapi check} reports a bad one at its line and column. Static; runs on the loader's
 * thread (it reads files).
 */
final class RemoteSection {
    private RemoteSection() {
    }

    /** The {@code version}: a whole number from 0. */
    static long version(Binder b, Node node) {
        return b.string(node, "version").flatMap(v -> {
            try {
                long n = Long.parseLong(v.strip());
                if (n >= 0) {
                    return Optional.of(n);
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            b.error(node, "version", "expected a whole number from 0 to " + Long.MAX_VALUE + "; got " + Binder.quoted(node));
            return Optional.<Long>empty();
        }).orElse(0L);
    }

    /** The {@code remote} section, its files read and checked. */
    static Optional<Remote> remote(Section s) {
        Binder b = s.binder();
        int errors = b.errors().size();
        Optional<URI> url = s.requiredString("url").flatMap(u -> url(s, u));
        Optional<Path> publicKey = s.requiredString("public-key").map(b::resolve).filter(f -> {
            try {
                Ed25519Pem.publicKey(Files.readString(f, StandardCharsets.US_ASCII));
                return true;
            } catch (IOException | RuntimeException e) {
                b.error(s.get("public-key").orElseThrow(), s.at("public-key"), "cannot read an Ed25519 public key (PEM) from " + f + ": "
                        + (e instanceof IllegalArgumentException ? e.getMessage() : e.getClass().getSimpleName()));
                return false;
            }
        });
        Duration interval = s.duration("interval", Duration.ofSeconds(1), Duration.ofDays(1), Remote.DEFAULT_INTERVAL);
        Duration timeout = s.duration("timeout", Duration.ofMillis(100), Duration.ofMinutes(5), Remote.DEFAULT_TIMEOUT);
        Duration maxBackoff = s.duration("max-backoff", Duration.ofSeconds(1), Duration.ofDays(1), Remote.DEFAULT_MAX_BACKOFF);
        if (maxBackoff.compareTo(interval) < 0 && s.get("max-backoff").isPresent()) {
            b.error(s.get("max-backoff").orElseThrow(), s.at("max-backoff"), "must be at least the interval (" + Names.duration(interval) + ")");
        }
        Optional<Path> ca = s.string("ca").map(b::resolve).filter(f -> readableCa(s, f));
        Optional<Path> clientCert = s.string("client-cert").map(b::resolve);
        Optional<Path> clientKey = s.string("client-key").map(b::resolve);
        TlsSections.checkClientCertificate(s, clientCert, clientKey);
        Optional<Path> cacheDir = s.requiredString("cache-dir").map(b::resolve);
        cacheDir.filter(d -> Files.exists(d) && !Files.isDirectory(d)).ifPresent(d -> b.error(s.get("cache-dir").orElseThrow(),
                s.at("cache-dir"), d + " exists and is not a directory"));
        long maxSize = s.size("max-size", 1024, 64L * 1024 * 1024).orElse(Remote.DEFAULT_MAX_SIZE);
        if (b.errors().size() != errors || url.isEmpty() || publicKey.isEmpty() || cacheDir.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Remote(url.get(), publicKey.get(), interval, timeout, maxBackoff, ca, clientCert, clientKey, cacheDir.get(),
                maxSize));
    }

    private static Optional<URI> url(Section s, String text) {
        Node at = s.get("url").orElseThrow();
        URI u;
        try {
            u = new URI(text);
        } catch (URISyntaxException e) {
            s.binder().error(at, s.at("url"), "not a URL: " + e.getReason());
            return Optional.empty();
        }
        if (u.getScheme() == null || !u.getScheme().toLowerCase(Locale.ROOT).equals("https")) {
            s.binder().error(at, s.at("url"), "must be an https:// URL: bundles are fetched over TLS with the server verified; got scheme '"
                    + u.getScheme() + "'");
        } else if (u.getHost() == null) {
            s.binder().error(at, s.at("url"), "the URL has no host");
        } else if (u.getRawUserInfo() != null) {
            s.binder().error(at, s.at("url"), "the URL holds credentials; use client-cert and client-key to authenticate to the source");
        } else if (u.getRawFragment() != null) {
            s.binder().error(at, s.at("url"), "the URL has a fragment (#...), which is never sent; remove it");
        } else {
            return Optional.of(u);
        }
        return Optional.empty();
    }

    private static boolean readableCa(Section s, Path f) {
        try (InputStream in = Files.newInputStream(f)) {
            if (!CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                return true;
            }
            s.binder().error(s.get("ca").orElseThrow(), s.at("ca"), "the CA bundle " + f + " holds no certificate");
        } catch (IOException | CertificateException e) {
            s.binder().error(s.get("ca").orElseThrow(), s.at("ca"), "cannot read the CA bundle " + f + " (" + e.getClass().getSimpleName() + ")");
        }
        return false;
    }
}

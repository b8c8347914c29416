package dev.merapi.gateway.config;

import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TlsCertificate;
import dev.merapi.gateway.config.Binder.Section;
import dev.merapi.gateway.config.GatewayConfig.CertificateFiles;
import dev.merapi.gateway.config.GatewayConfig.ListenerTls;
import dev.merapi.gateway.config.GatewayConfig.UpstreamTlsSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * Reads the {@code tls} sections of listeners and upstream groups. Every file is read and checked here, so that
 * {@code merapi check} reports an unreadable file, a key that does not match, an expired certificate or a protocol
 * below TLS 1.2 at the line and column that names it, and a reload with such a file keeps the running configuration.
 * Static; runs on the loader's thread (it reads files).
 */
final class TlsSections {
    /** The protocol names a listener's {@code protocols} may hold; those below TLS 1.2 need {@code legacy}. */
    private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3");
    /** The key-exchange groups a listener's {@code groups} may hold. */
    private static final List<String> GROUPS = List.of("X25519MLKEM768", "X25519", "P-256", "P-384", "P-521");
    private static final Duration MIN_HANDSHAKE = Duration.ofMillis(100);
    private static final Duration MAX_HANDSHAKE = Duration.ofMinutes(10);

    private TlsSections() {
    }

    /** A listener's {@code tls} section, its certificates loaded and checked. */
    static Optional<ListenerTls> listener(Section s) {
        Binder b = s.binder();
        int errors = b.errors().size();
        List<CertificateFiles> certificates = s.required("certificates")
                .map(n -> b.list(n, s.at("certificates"), (item, p) -> certificate(b, item, p))).orElse(List.of());
        s.get("certificates").filter(n -> certificates.isEmpty() && b.errors().size() == errors)
                .ifPresent(n -> b.error(n, s.at("certificates"), "at least one certificate is needed: a list of {cert: FILE, key: FILE}"));
        String preset = s.choice("preset", ListenerTls.PRESETS, "intermediate");
        Optional<Path> clientCa = s.string("client-ca").map(b::resolve);
        clientCa.filter(f -> !Files.isReadable(f)).ifPresent(f -> b.error(s.get("client-ca").orElseThrow(), s.at("client-ca"),
                "cannot read the CA bundle " + f));
        String clientAuth = s.choice("client-auth", ListenerTls.CLIENT_AUTH, clientCa.isPresent() ? "required" : "none");
        if (!clientAuth.equals("none") && clientCa.isEmpty()) {
            b.error(s.keyNode("client-auth"), s.at("client-auth"), "client-auth " + clientAuth
                    + " needs client-ca: the CA bundle (PEM) client certificates are verified against");
        } else if (clientAuth.equals("none") && clientCa.isPresent()) {
            b.error(s.keyNode("client-ca"), s.at("client-ca"), "client-ca is given but client-auth is none; set client-auth to optional or required");
        }
        Duration handshake = s.duration("handshake-timeout", MIN_HANDSHAKE, MAX_HANDSHAKE, ServerTls.DEFAULT_HANDSHAKE_TIMEOUT);
        boolean tickets = s.bool("session-tickets", true);
        boolean legacy = s.bool("legacy", false);
        List<String> protocols = s.strings("protocols");
        for (String p : protocols) {
            if (!PROTOCOLS.contains(p)) {
                b.error(s.get("protocols").orElseThrow(), s.at("protocols"), "unknown protocol '" + p + "'; expected TLSv1.3 or TLSv1.2"
                        + Names.suggestion(p, PROTOCOLS).map(x -> " (did you mean '" + x + "'?)").orElse(""));
            } else if (!legacy && !ServerTls.isModernProtocol(p)) {
                b.error(s.get("protocols").orElseThrow(), s.at("protocols"), "protocol " + p
                        + " is below TLS 1.2, which has known attacks; set legacy: true to allow it anyway");
            }
        }
        List<String> suites = s.strings("cipher-suites");
        for (String c : suites) {
            if (!legacy && !ServerTls.isModernCipherSuite(c)) {
                b.error(s.get("cipher-suites").orElseThrow(), s.at("cipher-suites"), "cipher suite " + c
                        + " is not an AEAD suite with forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305, or a TLS 1.3 suite);"
                        + " set legacy: true to allow it anyway");
            }
        }
        String alpn = s.choice("alpn", ListenerTls.ALPN, ListenerTls.ALPN.getFirst());
        List<String> groups = s.strings("groups");
        for (String g : groups) {
            if (!GROUPS.contains(g)) {
                b.error(s.get("groups").orElseThrow(), s.at("groups"), "unknown key-exchange group '" + g + "'; expected some of "
                        + String.join(", ", GROUPS));
            }
        }
        if (b.errors().size() != errors) {
            return Optional.empty();
        }
        ListenerTls tls = new ListenerTls(certificates, preset, clientAuth, clientCa, handshake, tickets, protocols, suites, groups, legacy, alpn);
        try {
            tls.load(); // whatever the checks above did not cover, such as a preset and a protocol list that leave nothing
        } catch (IllegalArgumentException e) {
            b.error(s.node(), s.path(), String.valueOf(e.getMessage()));
            return Optional.empty();
        }
        return Optional.of(tls);
    }

    /** One {@code {cert: FILE, key: FILE}} item, loaded now to check it. */
    private static Optional<CertificateFiles> certificate(Binder b, Node node, String path) {
        Optional<Section> s = b.section(node, path, CertificateFiles.KEYS);
        if (s.isEmpty()) {
            return Optional.empty();
        }
        Optional<Path> cert = s.get().requiredString("cert").map(b::resolve);
        Optional<Path> key = s.get().requiredString("key").map(b::resolve);
        if (cert.isEmpty() || key.isEmpty()) {
            return Optional.empty();
        }
        try {
            TlsCertificate.load(cert.get(), key.get());
        } catch (IllegalArgumentException e) { // unreadable, no certificate, key mismatch, expired, not yet valid
            b.error(node, path, String.valueOf(e.getMessage()));
            return Optional.empty();
        }
        return Optional.of(new CertificateFiles(cert.get(), key.get()));
    }

    /** The {@code client-cert} and {@code client-key} of a section: both or neither, readable, matching and valid now. */
    static void checkClientCertificate(Section s, Optional<Path> clientCert, Optional<Path> clientKey) {
        if (clientCert.isPresent() != clientKey.isPresent()) {
            String given = clientCert.isPresent() ? "client-cert" : "client-key";
            s.binder().error(s.keyNode(given), s.at(given), "client-cert and client-key go together");
        }
        if (clientCert.isPresent() && clientKey.isPresent()) {
            try {
                TlsCertificate.load(clientCert.get(), clientKey.get()); // unreadable, key mismatch, expired, not yet valid
            } catch (IllegalArgumentException e) {
                s.binder().error(s.keyNode("client-cert"), s.at("client-cert"), String.valueOf(e.getMessage()));
            }
        }
    }

    /** An upstream group's {@code tls} section, its files read and checked. */
    static Optional<UpstreamTlsSpec> upstream(Section s) {
        Binder b = s.binder();
        int errors = b.errors().size();
        Optional<Path> ca = s.string("ca").map(b::resolve);
        ca.filter(f -> !Files.isReadable(f)).ifPresent(f -> b.error(s.get("ca").orElseThrow(), s.at("ca"), "cannot read the CA bundle " + f));
        Optional<String> sni = name(s, "sni");
        Optional<String> verifyName = name(s, "verify-name");
        Optional<Path> clientCert = s.string("client-cert").map(b::resolve);
        Optional<Path> clientKey = s.string("client-key").map(b::resolve);
        checkClientCertificate(s, clientCert, clientKey);
        boolean insecure = s.bool("insecure", false);
        if (insecure && ca.isPresent()) {
            b.error(s.keyNode("insecure"), s.at("insecure"), "insecure verifies nothing, so ca would not be used; give one of them");
        }
        if (b.errors().size() != errors) {
            return Optional.empty();
        }
        UpstreamTlsSpec tls = new UpstreamTlsSpec(ca, sni, verifyName, clientCert, clientKey, insecure);
        try {
            tls.load();
        } catch (IllegalArgumentException e) { // a file without a certificate, a key that does not match
            b.error(s.node(), s.path(), String.valueOf(e.getMessage()));
            return Optional.empty();
        }
        return Optional.of(tls);
    }

    /** A host name or IP address to send or verify. */
    private static Optional<String> name(Section s, String key) {
        return s.string(key).map(v -> v.strip().toLowerCase(Locale.ROOT)).filter(v -> {
            boolean ok = !v.startsWith("*.") && (ConfigLoader.validHost(v) || io.netty.util.NetUtil.isValidIpV4Address(v)
                    || io.netty.util.NetUtil.isValidIpV6Address(v));
            if (!ok) {
                s.binder().error(s.get(key).orElseThrow(), s.at(key), "expected a host name such as origin.internal or an IP address; got '"
                        + v + "'");
            }
            return ok;
        });
    }
}

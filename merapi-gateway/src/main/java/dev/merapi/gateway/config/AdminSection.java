package dev.merapi.gateway.config;

import dev.merapi.gateway.config.Binder.Section;
import dev.merapi.gateway.config.GatewayConfig.Admin;
import dev.merapi.gateway.config.GatewayConfig.AdminClient;
import dev.merapi.gateway.config.GatewayConfig.AdminToken;
import dev.merapi.gateway.config.GatewayConfig.ListenerTls;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the {@code admin} section: the listener's address and TLS, the credentials of the admin API and its audit
 * log. Refuses a listener off loopback without TLS, a token hash that is not {@link TokenHash}'s form, a client entry
 * with neither or both of subject and fingerprint, client entries without a listener that verifies client
 * certificates, and credentials without an audit log.
 */
final class AdminSection {
    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{64}");
    private static final long MAX_BODY = 64L * 1024 * 1024;

    private AdminSection() {
    }

    static Admin read(Section a) {
        Binder b = a.binder();
        boolean enabled = a.bool("enabled", true);
        String address = a.string("address").orElse(Admin.DEFAULT.address());
        Optional<ListenerTls> tls = a.get("tls").flatMap(n -> b.section(n, a.at("tls"), ListenerTls.KEYS)).flatMap(TlsSections::listener);
        List<AdminToken> tokens = a.get("tokens").map(n -> b.list(n, a.at("tokens"), (item, p) -> b.section(item, p, AdminToken.KEYS)
                .flatMap(AdminSection::token))).orElse(List.of());
        List<AdminClient> clients = a.get("clients").map(n -> b.list(n, a.at("clients"), (item, p) -> b.section(item, p, AdminClient.KEYS)
                .flatMap(AdminSection::client))).orElse(List.of());
        boolean requireBoth = a.bool("require-both", false);
        Optional<Path> auditLog = a.string("audit-log").map(b::resolve);
        long maxBody = a.size("max-body", 1024, MAX_BODY).orElse(Admin.DEFAULT_MAX_BODY);
        if (enabled && a.get("tls").isEmpty() && !isLoopback(address)) {
            b.error(a.get("address").orElse(a.node()), a.at("address"), "the admin listener on " + address
                    + " is reachable from other hosts, so it needs tls; keep it on loopback (127.0.0.1) or add admin.tls");
        }
        // a tls section with errors has been reported already
        boolean verifiesClients = tls.map(t -> t.clientCa().isPresent()).orElse(a.get("tls").isPresent());
        if (!clients.isEmpty() && !verifiesClients) {
            b.error(a.keyNode("clients"), a.at("clients"), "client certificates need admin.tls with client-ca (and client-auth optional or required)");
        }
        if (requireBoth && (tokens.isEmpty() || clients.isEmpty())) {
            b.error(a.keyNode("require-both"), a.at("require-both"), "require-both needs both tokens and clients");
        }
        if ((!tokens.isEmpty() || !clients.isEmpty()) && auditLog.isEmpty()) {
            b.error(a.node(), a.at("audit-log"), "admin credentials are configured, so audit-log is required: every change and every"
                    + " refused call of the admin API is written there");
        }
        uniqueNames(b, a, "tokens", tokens.stream().map(AdminToken::name).toList());
        return new Admin(enabled, address, tls, tokens, clients, requireBoth, auditLog, maxBody);
    }

    private static void uniqueNames(Binder b, Section a, String key, List<String> names) {
        Set<String> seen = new HashSet<>();
        for (String n : names) {
            if (!seen.add(n)) {
                b.error(a.keyNode(key), a.at(key), "two " + key + " are named '" + n + "'");
            }
        }
    }

    private static Optional<AdminToken> token(Section s) {
        Optional<String> name = s.requiredString("name");
        String role = s.get("role").isPresent() ? s.choice("role", Admin.ROLES, "viewer") : missing(s, "role");
        Optional<String> hash = s.requiredString("hash");
        hash.filter(h -> TokenHash.parse(h).isEmpty()).ifPresent(h -> s.binder().error(s.get("hash").orElseThrow(), s.at("hash"),
                "not a token hash: expected " + TokenHash.SCHEME + "$ITERATIONS$SALT$HASH with at least " + TokenHash.MIN_ITERATIONS
                        + " iterations, as 'merapi admin token' prints it (the token itself never goes in the file)"));
        if (name.isEmpty() || role.isEmpty() || hash.isEmpty() || TokenHash.parse(hash.get()).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new AdminToken(name.get(), role, hash.get()));
    }

    private static Optional<AdminClient> client(Section s) {
        Optional<String> name = s.requiredString("name");
        String role = s.get("role").isPresent() ? s.choice("role", Admin.ROLES, "viewer") : missing(s, "role");
        Optional<String> subject = s.string("subject");
        Optional<String> sha256 = s.string("sha256").map(f -> f.replace(":", "").toLowerCase(Locale.ROOT));
        if (subject.isPresent() == sha256.isPresent()) {
            s.binder().error(s.node(), s.path(), "give one of subject (such as \"CN=alice,O=ops\") or sha256 (the certificate's fingerprint)");
            return Optional.empty();
        }
        if (sha256.isPresent() && !FINGERPRINT.matcher(sha256.get()).matches()) {
            s.binder().error(s.get("sha256").orElseThrow(), s.at("sha256"), "expected 64 hex digits (the SHA-256 fingerprint, colons allowed)");
            return Optional.empty();
        }
        if (name.isEmpty() || role.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new AdminClient(name.get(), role, subject, sha256));
    }

    private static String missing(Section s, String key) {
        s.required(key);
        return "";
    }

    /** Whether {@code hostPort} is a loopback address: {@code 127.0.0.0/8}, {@code [::1]} or {@code localhost}. */
    static boolean isLoopback(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!host.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            return false; // a name: it might resolve anywhere
        }
        try {
            return InetAddress.ofLiteral(host).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}

package dev.merapi.gateway.admin;

import dev.merapi.core.tls.ClientIdentity;
import dev.merapi.gateway.config.GatewayConfig.Admin;
import dev.merapi.gateway.config.GatewayConfig.AdminClient;
import dev.merapi.gateway.config.GatewayConfig.AdminToken;
import dev.merapi.gateway.config.TokenHash;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Decides who an admin API call comes from: a bearer token checked against the configured PBKDF2 hashes, and/or a
 * verified client certificate matched by subject or SHA-256 fingerprint. A token that is sent must be valid, whatever
 * the certificate. When both are sent they must name the same identity, which then has the lower of the two roles.
 * With {@code require-both}, an {@code admin} identity that proved itself with only one of them acts as
 * {@code operator}.
 *
 * <p>The first check of a token costs the full PBKDF2 derivation for each configured token ({@link #needsSlowCheck}
 * says when): the caller runs it off the event loop. A token that passed is remembered by the SHA-256 of it, compared
 * with {@link MessageDigest#isEqual}, so later calls cost one SHA-256, for as long as its entry (name, role and hash)
 * stays configured: {@link #withCredentials} carries over only the remembered tokens whose entry is still there.
 * Immutable but for what it remembers; thread-safe.
 */
final class Authenticator {
    private final List<Token> tokens;
    private final List<AdminClient> clients;
    private final boolean requireBoth;
    /** Tokens that passed, by the SHA-256 of the token; never holds the token. */
    private final List<Verified> verified = new CopyOnWriteArrayList<>();

    private record Token(AdminToken spec, TokenHash hash) {
    }

    private record Verified(byte[] digest, AdminToken spec) {
    }

    /** The outcome: an identity, or why there is none. */
    sealed interface Outcome {
        /** Authenticated. */
        record Ok(Identity identity) implements Outcome {
        }

        /**
         * Not authenticated.
         *
         * @param reason what was wrong, for the log and the audit record (never a credential)
         * @param presented whether a credential was presented (a failure that counts towards the delay)
         */
        record Denied(String reason, boolean presented) implements Outcome {
        }
    }

    Authenticator(Admin config) {
        this.tokens = config.tokens().stream().map(t -> new Token(t, TokenHash.parse(t.hash()).orElseThrow(
                () -> new IllegalArgumentException("admin token '" + t.name() + "' has no valid hash")))).toList();
        this.clients = config.clients();
        this.requireBoth = config.requireBoth();
    }

    /**
     * An authenticator for the credentials of {@code next} that remembers the tokens this one verified whose entry
     * (name, role and hash) {@code next} still has; a token whose entry is gone or changed must pass the slow hash
     * again, and fails if it no longer matches one.
     *
     * @throws IllegalArgumentException if a token of {@code next} has no valid hash
     */
    Authenticator withCredentials(Admin next) {
        Authenticator a = new Authenticator(next);
        for (Verified v : verified) {
            if (next.tokens().contains(v.spec())) {
                a.verified.add(v);
            }
        }
        return a;
    }

    /** How many verified tokens are remembered (each by its SHA-256 only). */
    int remembered() {
        return verified.size();
    }

    /** Whether checking {@code bearer} needs the slow hash: it is sent and has not passed before. */
    boolean needsSlowCheck(Optional<String> bearer) {
        return bearer.isPresent() && cached(digest(bearer.get())).isEmpty();
    }

    /** Authenticates a call; may take the slow hash (see {@link #needsSlowCheck}). */
    Outcome authenticate(Optional<String> bearer, Optional<ClientIdentity> certificate) {
        if (bearer.isEmpty() && certificate.isEmpty()) {
            return new Outcome.Denied("no credentials", false);
        }
        Optional<AdminToken> byToken = Optional.empty();
        if (bearer.isPresent()) {
            byToken = token(bearer.get());
            if (byToken.isEmpty()) {
                return new Outcome.Denied("unknown bearer token", true);
            }
        }
        Optional<AdminClient> byCertificate = certificate.flatMap(this::client);
        if (bearer.isEmpty() && byCertificate.isEmpty()) {
            return new Outcome.Denied("client certificate \"" + certificate.orElseThrow().subject() + "\" is not an admin identity", true);
        }
        if (byToken.isPresent() && byCertificate.isPresent()) {
            AdminToken t = byToken.get();
            AdminClient c = byCertificate.get();
            if (!t.name().equals(c.name())) {
                return new Outcome.Denied("the token is '" + t.name() + "' but the client certificate is '" + c.name() + "'", true);
            }
            Role role = Role.of(t.role()).compareTo(Role.of(c.role())) <= 0 ? Role.of(t.role()) : Role.of(c.role());
            return new Outcome.Ok(new Identity(t.name(), role, "token+certificate"));
        }
        String name = byToken.map(AdminToken::name).orElseGet(() -> byCertificate.orElseThrow().name());
        Role role = Role.of(byToken.map(AdminToken::role).orElseGet(() -> byCertificate.orElseThrow().role()));
        if (requireBoth && role == Role.ADMIN) {
            role = Role.OPERATOR; // one factor only
        }
        return new Outcome.Ok(new Identity(name, role, byToken.isPresent() ? "token" : "certificate"));
    }

    private Optional<AdminToken> token(String presented) {
        byte[] digest = digest(presented);
        Optional<AdminToken> known = cached(digest);
        if (known.isPresent()) {
            return known;
        }
        for (Token t : tokens) {
            if (t.hash().matches(presented)) {
                verified.add(new Verified(digest, t.spec()));
                return Optional.of(t.spec());
            }
        }
        return Optional.empty();
    }

    private Optional<AdminToken> cached(byte[] digest) {
        Optional<AdminToken> found = Optional.empty();
        for (Verified v : verified) { // every entry compared, in constant time each
            if (MessageDigest.isEqual(v.digest(), digest)) {
                found = Optional.of(v.spec());
            }
        }
        return found;
    }

    private Optional<AdminClient> client(ClientIdentity id) {
        for (AdminClient c : clients) {
            if (c.sha256().map(f -> MessageDigest.isEqual(f.getBytes(StandardCharsets.US_ASCII), id.sha256().getBytes(StandardCharsets.US_ASCII)))
                    .orElse(false) || c.subject().map(s -> s.equals(id.subject())).orElse(false)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}

package dev.merapi.gateway.config;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * The stored form of an admin bearer token: {@code pbkdf2-sha256$ITERATIONS$SALT$HASH}, the salt and the hash in
 * standard base64, the hash PBKDF2 with HMAC-SHA-256 (the JDK's {@code PBKDF2WithHmacSHA256}) of the token's UTF-8
 * bytes. A configuration holds only this, never the token.
 *
 * <p>{@link #matches} costs the full key derivation (about a tenth of a second at the default iteration count on
 * one core): call it off the event loops. Immutable and thread-safe.
 *
 * @param iterations the PBKDF2 iteration count, at least {@link #MIN_ITERATIONS}
 * @param salt the salt, at least 16 bytes
 * @param hash the derived key, 32 bytes
 */
public record TokenHash(int iterations, byte[] salt, byte[] hash) {
    /** The scheme name that starts every stored hash. */
    public static final String SCHEME = "pbkdf2-sha256";
    /** The fewest iterations accepted (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
    public static final int MIN_ITERATIONS = 210_000;
    /** The iterations {@link #create} uses. */
    public static final int DEFAULT_ITERATIONS = 310_000;
    /** The most iterations accepted, so that a typo cannot make each check take minutes. */
    public static final int MAX_ITERATIONS = 10_000_000;
    private static final int HASH_BYTES = 32;
    private static final int MIN_SALT_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    public TokenHash {
        salt = salt.clone();
        hash = hash.clone();
    }

    /**
     * Reads the stored form; empty if it is not {@code pbkdf2-sha256$ITERATIONS$SALT$HASH} with at least
     * {@link #MIN_ITERATIONS} iterations, a salt of at least 16 bytes and a hash of 32 bytes.
     */
    public static Optional<TokenHash> parse(String stored) {
        String[] parts = stored.split("\\$", -1);
        if (parts.length != 4 || !parts[0].equals(SCHEME)) {
            return Optional.empty();
        }
        try {
            int iterations = Integer.parseInt(parts[1]);
            byte[] salt = Base64.getDecoder().decode(parts[2]);
            byte[] hash = Base64.getDecoder().decode(parts[3]);
            if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS || salt.length < MIN_SALT_BYTES || hash.length != HASH_BYTES) {
                return Optional.empty();
            }
            return Optional.of(new TokenHash(iterations, salt, hash));
        } catch (IllegalArgumentException e) { // NumberFormatException too
            return Optional.empty();
        }
    }

    /** A new hash of {@code token} with a fresh random salt and {@link #DEFAULT_ITERATIONS}. Slow: see the class comment. */
    public static TokenHash create(String token) {
        byte[] salt = new byte[MIN_SALT_BYTES];
        RANDOM.nextBytes(salt);
        return new TokenHash(DEFAULT_ITERATIONS, salt, derive(token, salt, DEFAULT_ITERATIONS));
    }

    /** Whether {@code token} is the one this hash was made from, compared in constant time. Slow: see the class comment. */
    public boolean matches(String token) {
        return MessageDigest.isEqual(hash, derive(token, salt, iterations));
    }

    /** The stored form, as the configuration holds it. */
    public String encoded() {
        Base64.Encoder b64 = Base64.getEncoder();
        return SCHEME + "$" + iterations + "$" + b64.encodeToString(salt) + "$" + b64.encodeToString(hash);
    }

    @Override
    public byte[] salt() {
        return salt.clone();
    }

    @Override
    public byte[] hash() {
        return hash.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenHash t && t.iterations == iterations && MessageDigest.isEqual(t.salt, salt) && MessageDigest.isEqual(t.hash, hash);
    }

    @Override
    public int hashCode() {
        return iterations;
    }

    @Override
    public String toString() {
        return "TokenHash[" + SCHEME + ", iterations=" + iterations + ", redacted]";
    }

    private static byte[] derive(String token, byte[] salt, int iterations) {
        // the JDK's PBKDF2 takes the password's UTF-8 bytes
        PBEKeySpec spec = new PBEKeySpec(token.toCharArray(), salt, iterations, HASH_BYTES * 8);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no PBKDF2WithHmacSHA256", e);
        } finally {
            spec.clearPassword();
        }
    }
}

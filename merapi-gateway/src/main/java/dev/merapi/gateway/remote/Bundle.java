package dev.merapi.gateway.remote;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A configuration bundle: the exact bytes of a YAML configuration and the detached Ed25519 signature over them, as
 * {@code merapi config sign} makes it (the {@code .sig} file: the signature in base64, one line). Immutable; the
 * arrays are copied in and out.
 */
public final class Bundle {
    private static final String ALGORITHM = "Ed25519";
    private final byte[] config;
    private final String signature;

    private Bundle(byte[] config, String signature) {
        this.config = config.clone();
        this.signature = signature.strip();
    }

    /** A bundle of {@code config} and its signature in base64 (surrounding white space ignored). */
    public static Bundle of(byte[] config, String signatureBase64) {
        return new Bundle(config, signatureBase64);
    }

    /** A bundle of {@code config} signed now with {@code key}. */
    public static Bundle sign(byte[] config, PrivateKey key) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update(config);
            return new Bundle(config, Base64.getEncoder().encodeToString(s.sign()));
        } catch (InvalidKeyException e) {
            throw new IllegalArgumentException("not an Ed25519 private key: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make Ed25519 signatures", e);
        }
    }

    /** The configuration's bytes. */
    public byte[] config() {
        return config.clone();
    }

    /** The signature in base64, as the {@code .sig} file holds it (without its line break). */
    public String signature() {
        return signature;
    }

    /** The size of the configuration in bytes. */
    public int size() {
        return config.length;
    }

    /** Whether the signature is a valid Ed25519 signature of the configuration's bytes by {@code key}. */
    public boolean verifies(PublicKey key) {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(signature);
        } catch (IllegalArgumentException e) {
            return false;
        }
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(config);
            return s.verify(raw);
        } catch (SignatureException | InvalidKeyException e) {
            return false;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK cannot verify Ed25519 signatures", e);
        }
    }

    /** The SHA-256 of the configuration's bytes, in hex. */
    public String sha256() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(config));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Bundle b && Arrays.equals(config, b.config) && signature.equals(b.signature);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(config) + signature.hashCode();
    }

    @Override
    public String toString() {
        return "Bundle[" + config.length + " bytes, sha256 " + sha256() + "]";
    }

    /** The {@code .sig} file's text: the signature and a line break. */
    public byte[] signatureFile() {
        return (signature + "\n").getBytes(StandardCharsets.US_ASCII);
    }
}

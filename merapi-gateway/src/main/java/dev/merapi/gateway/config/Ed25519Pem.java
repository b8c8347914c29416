package dev.merapi.gateway.config;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ed25519 keys in PEM, as {@code merapi config keygen} writes them and remote configuration reads them: the public
 * key as X.509 SubjectPublicKeyInfo ({@code BEGIN PUBLIC KEY}), the private key as unencrypted PKCS#8
 * ({@code BEGIN PRIVATE KEY}), both as OpenSSL writes them ({@code openssl genpkey -algorithm ed25519}). JDK only.
 * Static and thread-safe.
 */
public final class Ed25519Pem {
    private static final String ALGORITHM = "Ed25519";

    private Ed25519Pem() {
    }

    /**
     * The Ed25519 public key of a {@code PUBLIC KEY} PEM block.
     *
     * @throws IllegalArgumentException if there is no such block or it is not an Ed25519 key
     */
    public static PublicKey publicKey(String pem) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(block(pem, "PUBLIC KEY")));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an Ed25519 public key (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The Ed25519 private key of a {@code PRIVATE KEY} (PKCS#8) PEM block.
     *
     * @throws IllegalArgumentException if there is no such block or it is not an Ed25519 key
     */
    public static PrivateKey privateKey(String pem) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(block(pem, "PRIVATE KEY")));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an unencrypted Ed25519 private key in PKCS#8 (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** The PEM text of a public key (SubjectPublicKeyInfo). */
    public static String encode(PublicKey key) {
        return pem("PUBLIC KEY", key.getEncoded());
    }

    /** The PEM text of a private key (PKCS#8). */
    public static String encode(PrivateKey key) {
        return pem("PRIVATE KEY", key.getEncoded());
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    private static byte[] block(String pem, String label) {
        Matcher m = Pattern.compile("-----BEGIN " + label + "-----([A-Za-z0-9+/=\\s]+)-----END " + label + "-----").matcher(pem);
        if (!m.find()) {
            throw new IllegalArgumentException("no '-----BEGIN " + label + "-----' block");
        }
        try {
            return Base64.getMimeDecoder().decode(m.group(1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the " + label + " block is not valid base64");
        }
    }
}

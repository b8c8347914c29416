package dev.merapi.core.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Reads PEM text: certificate chains, and private keys as PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1
 * ({@code BEGIN RSA PRIVATE KEY}) or SEC1 ({@code BEGIN EC PRIVATE KEY}); the last two are rewrapped as PKCS#8 so that
 * the JDK's key factories read them. Encrypted keys are refused. Errors never quote the key.
 *
 * <p>Stateless and thread-safe. Runs off the event loop (at start and on reload).
 */
final class PemFiles {
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7,
        0x0d, 0x01, 0x01, 0x01, 0x05, 0x00}; // SEQUENCE { rsaEncryption, NULL }
    private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private PemFiles() {
    }

    /**
     * The certificates of {@code pem}, leaf first, as written.
     *
     * @param what the file name, for messages
     * @throws TlsConfigException if there is none or one is malformed
     */
    static List<X509Certificate> certificates(String pem, String what) {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks(pem, "CERTIFICATE", what)) {
                out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException | ClassCastException e) {
            throw new TlsConfigException(what + ": not a valid X.509 certificate (" + e.getClass().getSimpleName() + ")", e);
        }
        if (out.isEmpty()) {
            throw new TlsConfigException(what + ": no certificate (expected a -----BEGIN CERTIFICATE----- block)");
        }
        return List.copyOf(out);
    }

    /**
     * The private key of {@code pem}: the first PKCS#8, PKCS#1 or SEC1 block. A SEC1 key that does not name its curve
     * (as some tools write them) takes the curve of {@code leaf}'s public key.
     *
     * @param leaf the certificate the key belongs to, or {@code null}
     * @throws TlsConfigException if there is none, it is encrypted or it is malformed; the message holds no key bytes
     */
    static PrivateKey privateKey(String pem, String what, X509Certificate leaf) {
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || pem.contains("Proc-Type: 4,ENCRYPTED")) {
            throw new TlsConfigException(what + ": encrypted private keys are not supported; decrypt it first");
        }
        List<byte[]> pkcs8 = blocks(pem, "PRIVATE KEY", what);
        if (!pkcs8.isEmpty()) {
            return pkcs8Key(pkcs8.getFirst(), what, "RSA", "EC", "Ed25519");
        }
        List<byte[]> rsa = blocks(pem, "RSA PRIVATE KEY", what);
        if (!rsa.isEmpty()) {
            return pkcs8Key(wrap(RSA_ALGORITHM, rsa.getFirst()), what, "RSA");
        }
        List<byte[]> ec = blocks(pem, "EC PRIVATE KEY", what);
        if (!ec.isEmpty()) {
            byte[] sec1 = ec.getFirst();
            byte[] curve = Der.ecCurveOid(sec1);
            byte[] algorithm;
            if (curve != null) {
                algorithm = Der.sequence(concat(EC_PUBLIC_KEY_OID, curve));
            } else if (leaf != null && (algorithm = Der.firstElement(leaf.getPublicKey().getEncoded())) != null) {
                // the certificate's SubjectPublicKeyInfo names the curve: SEQUENCE { algorithm, BIT STRING }
            } else {
                throw new TlsConfigException(what + ": the EC private key names no curve");
            }
            return pkcs8Key(wrap(algorithm, sec1), what, "EC");
        }
        throw new TlsConfigException(what + ": no private key (expected a -----BEGIN PRIVATE KEY-----, "
                + "-----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY----- block)");
    }

    private static PrivateKey pkcs8Key(byte[] der, String what, String... algorithms) {
        for (String algorithm : algorithms) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException | RuntimeException e) {
                // try the next algorithm; the key's bytes stay out of the message
            }
        }
        throw new TlsConfigException(what + ": the private key is malformed or of an unsupported type (RSA, EC or Ed25519 expected)");
    }

    /** PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER 0, algorithm, OCTET STRING key }. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        byte[] version = {0x02, 0x01, 0x00};
        return Der.sequence(concat(version, algorithm, Der.octetString(key)));
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** The decoded bodies of the {@code -----BEGIN label-----} blocks of {@code pem}, in order. */
    static List<byte[]> blocks(String pem, String label, String what) {
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int b = pem.indexOf(begin, from);
            if (b < 0) {
                return out;
            }
            int e = pem.indexOf(end, b + begin.length());
            if (e < 0) {
                throw new TlsConfigException(what + ": a " + begin + " block has no end line");
            }
            String body = pem.substring(b + begin.length(), e);
            int headers = body.indexOf("\n\n"); // RFC 1421 headers (such as Proc-Type) end with an empty line
            if (headers >= 0 && body.substring(0, headers).contains(":")) {
                body = body.substring(headers + 2);
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(body.strip().getBytes(StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException bad) {
                throw new TlsConfigException(what + ": a " + label + " block is not valid base64");
            }
            if (der.length == 0) {
                throw new TlsConfigException(what + ": an empty " + label + " block");
            }
            out.add(der);
            from = e + end.length();
        }
    }

    /** A few DER helpers: enough to rewrap a key and find the curve of a SEC1 key. */
    static final class Der {
        private Der() {
        }

        static byte[] sequence(byte[] content) {
            return tlv(0x30, content);
        }

        static byte[] octetString(byte[] content) {
            return tlv(0x04, content);
        }

        static byte[] tlv(int tag, byte[] content) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
            out.write(tag);
            int n = content.length;
            if (n < 0x80) {
                out.write(n);
            } else if (n < 0x100) {
                out.write(0x81);
                out.write(n);
            } else if (n < 0x10000) {
                out.write(0x82);
                out.write(n >> 8);
                out.write(n);
            } else {
                out.write(0x83);
                out.write(n >> 16);
                out.write(n >> 8);
                out.write(n);
            }
            out.writeBytes(content);
            return out.toByteArray();
        }

        /**
         * The curve OID (tag and length included) of a SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING key,
         * [0] OID curve, [1] public key }; {@code null} if it has none or is malformed.
         */
        static byte @Nullable [] ecCurveOid(byte[] sec1) {
            try {
                int[] seq = header(sec1, 0);
                if (sec1[0] != 0x30) {
                    return null;
                }
                int pos = seq[0];
                int end = Math.min(sec1.length, seq[0] + seq[1]);
                while (pos < end) {
                    int[] h = header(sec1, pos);
                    int tag = sec1[pos] & 0xff;
                    if (tag == 0xa0) {
                        int[] inner = header(sec1, h[0]);
                        if (sec1[h[0]] != 0x06) {
                            return null;
                        }
                        return Arrays.copyOfRange(sec1, h[0], inner[0] + inner[1]);
                    }
                    pos = h[0] + h[1];
                }
                return null;
            } catch (ArrayIndexOutOfBoundsException | NegativeArraySizeException | IllegalArgumentException e) {
                return null;
            }
        }

        /** The first element (tag and length included) inside the SEQUENCE {@code der}, or {@code null}. */
        static byte @Nullable [] firstElement(byte[] der) {
            try {
                if (der[0] != 0x30) {
                    return null;
                }
                int[] outer = header(der, 0);
                int[] inner = header(der, outer[0]);
                return Arrays.copyOfRange(der, outer[0], inner[0] + inner[1]);
            } catch (ArrayIndexOutOfBoundsException | IllegalArgumentException e) {
                return null;
            }
        }

        /** {start of content, content length} of the TLV at {@code pos}. */
        private static int[] header(byte[] der, int pos) {
            int len = der[pos + 1] & 0xff;
            int start = pos + 2;
            if (len >= 0x80) {
                int bytes = len & 0x7f;
                if (bytes == 0 || bytes > 3) {
                    throw new IllegalArgumentException("unsupported DER length");
                }
                len = 0;
                for (int i = 0; i < bytes; i++) {
                    len = (len << 8) | (der[start + i] & 0xff);
                }
                start += bytes;
            }
            if (start + len > der.length) {
                throw new IllegalArgumentException("truncated DER");
            }
            return new int[] {start, len};
        }
    }
}

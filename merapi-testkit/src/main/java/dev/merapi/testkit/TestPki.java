package dev.merapi.testkit;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority for tests: it issues server and client certificates (ECDSA P-256 or RSA 2048,
 * any validity window, DNS and IP names) and writes them as PEM files that Merapi, curl, openssl and nginx read.
 *
 * <pre>{@code
 * TestPki pki = TestPki.create(tempDir, "Test CA");
 * TestPki.Issued server = pki.certificate("localhost").dns("localhost").ip("127.0.0.1").issue();
 * TestPki.Issued expired = pki.certificate("old").dns("localhost").validFor(Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(1)).issue();
 * TestPki.Issued client = pki.certificate("alice").clientAuth().issue();
 * }</pre>
 *
 * <p>Each certificate file holds the leaf followed by the CA ({@link Issued#chainPem()}), or the leaf alone
 * ({@link Issued#certPem()}). Keys are written as PKCS#8 unless {@link CertificateSpec#traditionalKey()} asks for the
 * PKCS#1 / SEC1 form ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN EC PRIVATE KEY}). Thread-safe.
 */
public final class TestPki {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final String name;
    private final KeyPair caKeys;
    private final X509Certificate ca;
    private final Path caPem;
    private final AtomicLong serial = new AtomicLong(2);

    private TestPki(Path dir, String name, KeyPair caKeys, X509Certificate ca, Path caPem) {
        this.dir = dir;
        this.name = name;
        this.caKeys = caKeys;
        this.ca = ca;
        this.caPem = caPem;
    }

    /**
     * A new CA named {@code name} (ECDSA P-256, valid from a day ago for ten years), its certificate written to
     * {@code dir/<name>-ca.pem}.
     */
    public static TestPki create(Path dir, String name) {
        try {
            Files.createDirectories(dir);
            KeyPair keys = keys(false);
            Instant now = Instant.now();
            X500Name subject = new X500Name("CN=" + name);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.ONE,
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(3650))), subject,
                    keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            X509Certificate ca = sign(b, keys.getPrivate());
            Path pem = dir.resolve(fileName(name) + "-ca.pem");
            Files.writeString(pem, pem(ca), StandardCharsets.US_ASCII);
            return new TestPki(dir, name, keys, ca, pem);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create the test CA " + name, e);
        }
    }

    /** The CA's certificate. */
    public X509Certificate caCertificate() {
        return ca;
    }

    /** The PEM file of the CA's certificate: the trust bundle for peers of this CA. */
    public Path caPem() {
        return caPem;
    }

    /** This CA's name (its subject's CN). */
    public String name() {
        return name;
    }

    /** Starts a certificate whose subject's CN is {@code commonName}; by default ECDSA P-256, server auth, valid now for 30 days. */
    public CertificateSpec certificate(String commonName) {
        return new CertificateSpec(commonName);
    }

    /** A certificate this CA issued, with its key and the PEM files they were written to. */
    public record Issued(X509Certificate certificate, PrivateKey key, Path certPem, Path chainPem, Path keyPem) {
        /** The certificate's SHA-256 fingerprint in lowercase hex, no separators. */
        public String sha256() {
            try {
                return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** What to put in one certificate; {@link #issue()} signs and writes it. Not thread-safe. */
    public final class CertificateSpec {
        private final String commonName;
        private final List<GeneralName> names = new ArrayList<>();
        private boolean rsa;
        private boolean clientAuth;
        private boolean traditionalKey;
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Duration validity = Duration.ofDays(30);

        private CertificateSpec(String commonName) {
            this.commonName = commonName;
        }

        /** Adds DNS names to the subject alternative names (wildcards like {@code *.example.test} allowed). */
        public CertificateSpec dns(String... dnsNames) {
            for (String n : dnsNames) {
                names.add(new GeneralName(GeneralName.dNSName, n));
            }
            return this;
        }

        /** Adds IP addresses to the subject alternative names. */
        public CertificateSpec ip(String... addresses) {
            for (String a : addresses) {
                try {
                    names.add(new GeneralName(GeneralName.iPAddress, InetAddress.getByName(a).getHostAddress()));
                } catch (UnknownHostException e) {
                    throw new IllegalArgumentException("not an IP address: " + a, e);
                }
            }
            return this;
        }

        /** An RSA 2048 key instead of ECDSA P-256. */
        public CertificateSpec rsa() {
            this.rsa = true;
            return this;
        }

        /** A client certificate (extended key usage clientAuth) instead of a server one. */
        public CertificateSpec clientAuth() {
            this.clientAuth = true;
            return this;
        }

        /** Writes the key as PKCS#1 (RSA) or SEC1 (EC, which Netty's PEM reader does not take) instead of PKCS#8. */
        public CertificateSpec traditionalKey() {
            this.traditionalKey = true;
            return this;
        }

        /** Valid from {@code from} for {@code duration}: in the past for an expired certificate, in the future for one not yet valid. */
        public CertificateSpec validFor(Instant from, Duration duration) {
            this.notBefore = from;
            this.validity = duration;
            return this;
        }

        /** Signs the certificate with the CA and writes {@code <cn>.crt}, {@code <cn>-chain.crt} and {@code <cn>.key} beside the CA. */
        public Issued issue() {
            try {
                KeyPair keys = keys(rsa);
                long n = serial.getAndIncrement();
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, BigInteger.valueOf(n),
                        Date.from(notBefore), Date.from(notBefore.plus(validity)), new X500Name("CN=" + commonName),
                        keys.getPublic());
                JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(rsa
                        ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment
                        : KeyUsage.digitalSignature));
                b.addExtension(Extension.extendedKeyUsage, false,
                        new ExtendedKeyUsage(clientAuth ? KeyPurposeId.id_kp_clientAuth : KeyPurposeId.id_kp_serverAuth));
                b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
                b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
                if (!names.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.toArray(GeneralName[]::new)));
                }
                X509Certificate cert = sign(b, caKeys.getPrivate());
                String base = fileName(name) + "-" + fileName(commonName) + "-" + n;
                Path certPem = dir.resolve(base + ".crt");
                Path chainPem = dir.resolve(base + "-chain.crt");
                Path keyPem = dir.resolve(base + ".key");
                Files.writeString(certPem, pem(cert), StandardCharsets.US_ASCII);
                Files.writeString(chainPem, pem(cert) + pem(ca), StandardCharsets.US_ASCII);
                Files.writeString(keyPem, traditionalKey ? pem(keys.getPrivate()) : pem(new JcaPKCS8Generator(keys.getPrivate(), null)),
                        StandardCharsets.US_ASCII);
                return new Issued(cert, keys.getPrivate(), certPem, chainPem, keyPem);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (GeneralSecurityException | OperatorCreationException e) {
                throw new IllegalStateException("cannot issue a test certificate for " + commonName, e);
            }
        }
    }

    private static KeyPair keys(boolean rsa) throws GeneralSecurityException {
        if (rsa) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048, RANDOM);
            return g.generateKeyPair();
        }
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
            throws OperatorCreationException, GeneralSecurityException {
        String algorithm = signer.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(signer)));
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    private static String fileName(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]+", "_");
    }
}

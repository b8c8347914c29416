package dev.merapi.core.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server certificate a listener can present: its chain (leaf first), its private key, and the host names it
 * serves (its DNS subject alternative names, or its common name when it has none; {@code *.example.com} serves one
 * label below {@code example.com}). Loaded and checked once, from PEM files or from objects.
 *
 * <p>Checked when made: the key matches the leaf (a signature made with the key verifies with the leaf's public key),
 * and the leaf is valid now (neither expired nor not yet valid). A certificate that fails is refused with a
 * {@link TlsConfigException} naming the reason. The key never appears in {@link #toString()}, messages or logs.
 *
 * <p>OCSP stapling: when a file {@code <certificate file>.ocsp} (a DER-encoded OCSP response, as
 * {@code openssl ocsp -respout} writes it) sits beside the certificate file, {@link #load} reads it and the listener
 * staples it to every handshake that presents this certificate (BoringSSL only; the JDK's TLS staples nothing). It is
 * read again with the certificate ({@link CertificateStore#reload()}, {@link CertificateStore#reloadIfChanged()}), so
 * refreshing the response before it expires is a matter of replacing the file. The response is stapled as it is:
 * Merapi does not check its signature or dates (the client does), only that it is a DER sequence.
 *
 * <p>Immutable and thread-safe.
 */
public final class TlsCertificate {
    private static final Logger log = LoggerFactory.getLogger(TlsCertificate.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final List<X509Certificate> chain;
    private final PrivateKey key;
    private final Set<String> names;
    private final Optional<Path> chainFile;
    private final Optional<Path> keyFile;
    private final byte @Nullable [] ocspResponse;

    private TlsCertificate(List<X509Certificate> chain, PrivateKey key, Optional<Path> chainFile, Optional<Path> keyFile) {
        this(chain, key, chainFile, keyFile, null);
    }

    private TlsCertificate(List<X509Certificate> chain, PrivateKey key, Optional<Path> chainFile, Optional<Path> keyFile,
            byte @Nullable [] ocspResponse) {
        this.ocspResponse = ocspResponse == null ? null : ocspResponse.clone();
        this.chain = List.copyOf(chain);
        this.key = Objects.requireNonNull(key, "key");
        this.chainFile = chainFile;
        this.keyFile = keyFile;
        if (this.chain.isEmpty()) {
            throw new TlsConfigException(source() + ": empty certificate chain");
        }
        checkValidity(leaf(), source(), Instant.now());
        checkKeyMatches(leaf(), key, source());
        this.names = namesOf(leaf());
    }

    /**
     * Loads a certificate from PEM files: {@code chainPem} holds the leaf and then any intermediates, {@code keyPem}
     * the private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted). Blocks on file I/O: call it at start or off the
     * event loop. Logs a warning if the key file can be read by its group or by others.
     *
     * @throws TlsConfigException if a file cannot be read, holds no usable certificate or key, the key does not match,
     *     or the certificate is expired or not yet valid
     */
    public static TlsCertificate load(Path chainPem, Path keyPem) {
        String chainText = read(chainPem, "certificate");
        String keyText = read(keyPem, "private key");
        warnIfKeyReadable(keyPem);
        List<X509Certificate> chain = PemFiles.certificates(chainText, chainPem.toString());
        PrivateKey key = PemFiles.privateKey(keyText, keyPem.toString(), chain.getFirst());
        return new TlsCertificate(chain, key, Optional.of(chainPem), Optional.of(keyPem), readOcsp(ocspFile(chainPem)));
    }

    /** Where {@link #load} looks for the OCSP response of {@code chainPem}: the same name with {@code .ocsp} added. */
    public static Path ocspFile(Path chainPem) {
        return chainPem.resolveSibling(chainPem.getFileName() + ".ocsp");
    }

    /**
     * This certificate with {@code der} (a DER-encoded OCSP response) stapled to its handshakes, for certificates made
     * in code; the array is copied.
     *
     * @throws TlsConfigException if {@code der} is not a DER sequence
     */
    public TlsCertificate withOcspResponse(byte[] der) {
        checkOcsp(der, "the OCSP response");
        return new TlsCertificate(chain, key, chainFile, keyFile, der);
    }

    /** The OCSP response stapled to handshakes presenting this certificate, if any (a copy). */
    public Optional<byte[]> ocspResponse() {
        return ocspResponse == null ? Optional.empty() : Optional.of(ocspResponse.clone());
    }

    private static byte @Nullable [] readOcsp(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        byte[] der;
        try {
            der = Files.readAllBytes(file);
        } catch (IOException | RuntimeException e) {
            throw new TlsConfigException("cannot read the OCSP response file " + file + ": " + e.getClass().getSimpleName(), e);
        }
        checkOcsp(der, "the OCSP response file " + file);
        return der;
    }

    /** A DER OCSPResponse is a SEQUENCE: tag 0x30, then at least a status. */
    private static void checkOcsp(byte[] der, String what) {
        if (der.length < 3 || der[0] != 0x30) {
            throw new TlsConfigException(what + " is not a DER-encoded OCSP response (" + der.length + " bytes)");
        }
    }

    /**
     * A certificate from PEM text: {@code chainPem} holds the leaf and then any intermediates, {@code keyPem} the
     * private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted).
     *
     * @throws TlsConfigException if the text holds no usable certificate or key, the key does not match, or the
     *     certificate is expired or not yet valid
     */
    public static TlsCertificate fromPem(String chainPem, String keyPem) {
        List<X509Certificate> chain = PemFiles.certificates(chainPem, "certificate");
        return new TlsCertificate(chain, PemFiles.privateKey(keyPem, "private key", chain.getFirst()), Optional.empty(),
                Optional.empty());
    }

    /**
     * A certificate from objects already loaded (from a vault or a keystore, say).
     *
     * @throws TlsConfigException if the key does not match or the leaf is expired or not yet valid
     */
    public static TlsCertificate of(List<X509Certificate> chain, PrivateKey key) {
        return new TlsCertificate(chain, key, Optional.empty(), Optional.empty());
    }

    /** The chain, leaf first. */
    public List<X509Certificate> chain() {
        return chain;
    }

    /** The leaf certificate. */
    public X509Certificate leaf() {
        return chain.getFirst();
    }

    /** The private key. Never log it. */
    public PrivateKey privateKey() {
        return key;
    }

    /** The host names this certificate serves, lower-case; wildcards as {@code *.example.com}. */
    public Set<String> names() {
        return names;
    }

    /** The certificate file it was loaded from, if it came from files. */
    public Optional<Path> chainFile() {
        return chainFile;
    }

    /** The key file it was loaded from, if it came from files. */
    public Optional<Path> keyFile() {
        return keyFile;
    }

    /** When the leaf expires. */
    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    /** The SHA-256 fingerprint of the leaf, lower-case hex. */
    public String sha256() {
        return fingerprint(leaf());
    }

    /**
     * Whether this certificate serves {@code host} (lower-case, no trailing dot): an exact name, or a wildcard one
     * label above it ({@code *.example.com} serves {@code a.example.com}, not {@code example.com} nor
     * {@code a.b.example.com}).
     */
    public boolean serves(String host) {
        if (names.contains(host)) {
            return true;
        }
        int dot = host.indexOf('.');
        return dot > 0 && names.contains("*" + host.substring(dot));
    }

    /** The subject, names and expiry; never key material. */
    @Override
    public String toString() {
        return "TlsCertificate[" + leaf().getSubjectX500Principal().getName() + ", names=" + names + ", notAfter=" + notAfter()
                + chainFile.map(f -> ", file=" + f).orElse("") + "]";
    }

    /** The SHA-256 fingerprint of {@code certificate}'s DER encoding, lower-case hex. */
    public static String fingerprint(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("cannot fingerprint a certificate: " + e.getMessage(), e);
        }
    }

    /**
     * The subject alternative names of {@code certificate} as text (DNS names, IP addresses, e-mail addresses, URIs),
     * in its order.
     */
    public static List<String> subjectAltNames(X509Certificate certificate) {
        try {
            return altNames(certificate, ANY_NAME);
        } catch (CertificateParsingException e) {
            return List.of();
        }
    }

    private static final int ANY_NAME = -1;
    private static final int DNS_NAME = 2;

    /** The subject alternative names of {@code type} (a GeneralName tag, or {@link #ANY_NAME}) that are text. */
    private static List<String> altNames(X509Certificate certificate, int type) throws CertificateParsingException {
        List<String> out = new ArrayList<>();
        var all = certificate.getSubjectAlternativeNames();
        if (all != null) {
            for (List<?> entry : all) {
                if (entry.size() >= 2 && (type == ANY_NAME || Integer.valueOf(type).equals(entry.get(0)))
                        && entry.get(1) instanceof String name) {
                    out.add(name);
                }
            }
        }
        return List.copyOf(out);
    }

    private String source() {
        return chainFile.map(Path::toString).orElse("certificate");
    }

    private static Set<String> namesOf(X509Certificate leaf) {
        Set<String> out = new LinkedHashSet<>();
        try {
            for (String dns : altNames(leaf, DNS_NAME)) {
                out.add(dns.toLowerCase(Locale.ROOT));
            }
        } catch (CertificateParsingException e) {
            throw new TlsConfigException("unreadable subject alternative names: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            commonName(leaf).ifPresent(cn -> out.add(cn.toLowerCase(Locale.ROOT)));
        }
        return Set.copyOf(out);
    }

    private static Optional<String> commonName(X509Certificate leaf) {
        try {
            for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
                if ("CN".equalsIgnoreCase(rdn.getType())) {
                    return Optional.of(String.valueOf(rdn.getValue()));
                }
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static void checkValidity(X509Certificate leaf, String what, Instant now) {
        if (now.isAfter(leaf.getNotAfter().toInstant())) {
            throw new TlsConfigException(what + ": the certificate expired at " + leaf.getNotAfter().toInstant());
        }
        if (now.isBefore(leaf.getNotBefore().toInstant())) {
            throw new TlsConfigException(what + ": the certificate is not valid before " + leaf.getNotBefore().toInstant());
        }
    }

    private static void checkKeyMatches(X509Certificate leaf, PrivateKey key, String what) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new TlsConfigException(what + ": unsupported key type " + key.getAlgorithm());
        };
        try {
            byte[] probe = new byte[32];
            RANDOM.nextBytes(probe);
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(leaf.getPublicKey());
            verify.update(probe);
            if (!verify.verify(signature)) {
                throw new TlsConfigException(what + ": the private key does not match the certificate");
            }
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException(what + ": the private key does not match the certificate ("
                    + e.getClass().getSimpleName() + ")", e);
        }
    }

    private static String read(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            throw new TlsConfigException("cannot read the " + what + " file " + file + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null || e.getMessage().equals(file.toString()) ? "" : " (" + e.getMessage() + ")"), e);
        }
    }

    private static void warnIfKeyReadable(Path keyFile) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(keyFile);
            if (p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ)) {
                log.warn("the private key file {} can be read by its group or by others; chmod 600 it", keyFile);
            }
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("cannot read the permissions of {}", keyFile);
        }
    }
}

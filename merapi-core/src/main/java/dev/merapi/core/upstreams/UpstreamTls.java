package dev.merapi.core.upstreams;

import dev.merapi.core.internal.tls.ClientTlsContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How Merapi speaks TLS to one upstream peer ({@link HttpPeer#withTls(UpstreamTls)}): whom it trusts, which name it
 * verifies, which client certificate it shows, and what it offers by ALPN. Immutable and thread-safe.
 *
 * <p>Secure by default ({@link #DEFAULT}): the peer's chain is verified against the JDK's default trust store and
 * its certificate must name the host (the peer's SNI, else the host of its address); only TLS 1.2 and 1.3 with AEAD
 * suites are offered (Mozilla's "intermediate" guideline). Turning verification off takes {@link Builder#insecure()},
 * which logs a warning when the settings are built.
 *
 * <pre>{@code
 * UpstreamTls tls = UpstreamTls.builder()
 *         .trustedCa(Path.of("/etc/merapi/origin-ca.pem"))          // a private CA instead of the JDK's
 *         .clientCertificate(Path.of("client.pem"), Path.of("client.key"))  // upstream mTLS
 *         .build();
 * HttpPeer peer = HttpPeer.of("10.0.0.7:443", true, "origin.internal").withTls(tls);
 * }</pre>
 *
 * <p>Files are read once, by {@link Builder#build()}, which also builds the TLS context (netty-tcnative BoringSSL, or
 * the JDK's provider when the native library cannot load), so that a bad file fails there and never on a
 * connection. Settings that are equal (same flags, same file contents) share one context, and their peers may share
 * pooled connections; settings that differ in anything never do. Private keys are never logged or printed.
 */
public final class UpstreamTls {
    private static final Logger log = LoggerFactory.getLogger("merapi.upstream");
    /** The ALPN protocol id of HTTP/1.1. */
    public static final String HTTP_1_1 = "http/1.1";

    /** Verification on against the JDK's trust store, no client certificate, ALPN {@code http/1.1}. */
    public static final UpstreamTls DEFAULT = new UpstreamTls(new Builder());

    private final boolean verify;
    private final String verifyName;
    private final @Nullable Pem ca;
    private final @Nullable Pem clientChain;
    private final @Nullable Pem clientKey;
    private final List<String> alpn;

    private UpstreamTls(Builder b) {
        this.verify = b.verify;
        this.verifyName = b.verifyName;
        this.ca = b.ca;
        this.clientChain = b.clientChain;
        this.clientKey = b.clientKey;
        this.alpn = List.copyOf(b.alpn);
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.verify = verify;
        b.verifyName = verifyName;
        b.ca = ca;
        b.clientChain = clientChain;
        b.clientKey = clientKey;
        b.alpn = alpn;
        return b;
    }

    /** Whether the peer's certificate chain and name are verified (default yes). */
    public boolean verify() {
        return verify;
    }

    /** The name the peer's certificate must carry when it is not the SNI, if one was set. */
    public Optional<String> verifyName() {
        return verifyName.isEmpty() ? Optional.empty() : Optional.of(verifyName);
    }

    /** The CA bundle trusted instead of the JDK's trust store, if one was given. */
    public Optional<Path> trustedCa() {
        return ca == null ? Optional.empty() : Optional.of(ca.file);
    }

    /** The client certificate chain shown to the peer (upstream mTLS), if one was given. */
    public Optional<Path> clientCertificate() {
        return clientChain == null ? Optional.empty() : Optional.of(clientChain.file);
    }

    /** The ALPN protocols offered, in order of preference; empty when ALPN is not used. */
    public List<String> alpn() {
        return alpn;
    }

    /**
     * A JDK {@link SSLContext} with the same trust and client certificate, for blocking clients such as health
     * checks. It does not verify the host name by itself: the caller sets the endpoint identification algorithm.
     */
    public SSLContext jdkContext() {
        return ClientTlsContexts.jdk(this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UpstreamTls t && t.verify == verify && t.verifyName.equals(verifyName) && Objects.equals(t.ca, ca)
                && Objects.equals(t.clientChain, clientChain) && Objects.equals(t.clientKey, clientKey) && t.alpn.equals(alpn);
    }

    @Override
    public int hashCode() {
        return Objects.hash(verify, verifyName, ca, clientChain, clientKey, alpn);
    }

    /** Such as {@code verify, ca=/etc/ca.pem, client-cert=/etc/client.pem}; never a key. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(verify ? "verify" : "insecure");
        if (!verifyName.isEmpty()) {
            s.append(", verify-name=").append(verifyName);
        }
        if (ca != null) {
            s.append(", ca=").append(ca.file);
        }
        if (clientChain != null) {
            s.append(", client-cert=").append(clientChain.file);
        }
        return s.toString();
    }

    /** A PEM file read once: its path (for messages) and its bytes; equal when the bytes are. */
    private static final class Pem {
        private final Path file;
        private final byte[] bytes;
        private final byte[] sha256;

        Pem(Path file, byte[] bytes) {
            this.file = file;
            this.bytes = bytes;
            try {
                this.sha256 = MessageDigest.getInstance("SHA-256").digest(bytes);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is missing from this JDK", e);
            }
        }

        static Pem read(Path file, String what) {
            Objects.requireNonNull(file, what);
            try {
                byte[] bytes = Files.readAllBytes(file);
                if (bytes.length == 0) {
                    throw new IllegalArgumentException("the " + what + " file " + file + " is empty");
                }
                return new Pem(file, bytes);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the " + what + " file " + file + " (" + e.getClass().getSimpleName() + ")", e);
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Pem p && Arrays.equals(p.sha256, sha256);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(sha256);
        }
    }

    /** Builds {@link UpstreamTls}; not thread-safe. */
    public static final class Builder {
        private boolean verify = true;
        private String verifyName = "";
        private @Nullable Pem ca;
        private @Nullable Pem clientChain;
        private @Nullable Pem clientKey;
        private List<String> alpn = List.of(HTTP_1_1);

        private Builder() {
        }

        /**
         * Trusts the CA certificates of a PEM bundle instead of the JDK's trust store; the file is read here.
         *
         * @throws IllegalArgumentException if the file cannot be read or is empty
         */
        public Builder trustedCa(Path pemBundle) {
            ca = Pem.read(pemBundle, "CA bundle");
            return this;
        }

        /**
         * Verifies this name in the peer's certificate instead of the SNI (which is still what is sent).
         *
         * @param name a DNS name or an IP address; empty for the default
         */
        public Builder verifyName(String name) {
            verifyName = Objects.requireNonNull(name, "name").strip();
            return this;
        }

        /**
         * Shows this client certificate to peers that ask for one (upstream mTLS); the files are read here.
         *
         * @param certificateChain the PEM certificate, followed by any intermediates
         * @param privateKey its PEM private key (PKCS#8; PKCS#1 or SEC1 when BouncyCastle is on the class path)
         * @throws IllegalArgumentException if a file cannot be read or is empty
         */
        public Builder clientCertificate(Path certificateChain, Path privateKey) {
            clientChain = Pem.read(certificateChain, "client certificate");
            clientKey = Pem.read(privateKey, "client key");
            return this;
        }

        /**
         * Turns certificate and host-name verification off: any certificate is accepted, so anyone on the path can
         * read and change the traffic. For tests and closed networks only; {@link #build()} logs a warning.
         */
        public Builder insecure() {
            verify = false;
            return this;
        }

        /**
         * The ALPN protocols to offer to a peer that speaks HTTP/1.1; none to send no ALPN extension. Only
         * {@value #HTTP_1_1} may be named: whether {@code h2} is offered follows the peer's
         * {@link PeerOptions#protocol()}, which replaces this list for {@link UpstreamProtocol#HTTP2} and
         * {@link UpstreamProtocol#HTTP2_PREFERRED}, so there is one setting for the protocol, not two.
         *
         * @throws IllegalArgumentException for any other protocol id
         */
        public Builder alpn(String... protocols) {
            for (String p : protocols) {
                if (!HTTP_1_1.equals(p)) {
                    throw new IllegalArgumentException("ALPN protocol '" + p + "' is not spoken to upstreams; only " + HTTP_1_1);
                }
            }
            alpn = List.of(protocols);
            return this;
        }

        /**
         * The settings, with their TLS context built (or taken from the contexts built already for equal settings).
         *
         * @throws IllegalArgumentException if a PEM file does not hold what it should, or the key does not match the
         *     client certificate
         */
        public UpstreamTls build() {
            UpstreamTls tls = new UpstreamTls(this);
            ClientTlsContexts.register(tls, new ClientTlsContexts.Recipe(verify, bytes(ca), bytes(clientChain), bytes(clientKey), alpn));
            if (!verify) {
                log.warn("upstream-tls-insecure: certificate and host-name verification is off for upstream TLS ({}); "
                        + "anyone on the path can read and change that traffic", tls);
            }
            return tls;
        }

        private static byte @Nullable [] bytes(@Nullable Pem p) {
            return p == null ? null : p.bytes;
        }
    }
}

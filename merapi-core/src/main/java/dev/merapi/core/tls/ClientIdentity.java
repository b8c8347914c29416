package dev.merapi.core.tls;

import java.util.List;
import java.util.Objects;

/**
 * The client certificate a listener verified during the handshake (mTLS).
 *
 * @param subject the subject's distinguished name, such as {@code CN=alice}
 * @param subjectAltNames the DNS names, IP addresses, e-mail addresses and URIs of the certificate, in its order
 * @param sha256 the SHA-256 fingerprint of the certificate's DER encoding, lower-case hex without separators
 */
public record ClientIdentity(String subject, List<String> subjectAltNames, String sha256) {
    public ClientIdentity {
        Objects.requireNonNull(subject, "subject");
        subjectAltNames = List.copyOf(subjectAltNames);
        Objects.requireNonNull(sha256, "sha256");
    }
}

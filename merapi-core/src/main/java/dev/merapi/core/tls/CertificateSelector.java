package dev.merapi.core.tls;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Picks the certificate of one handshake: the dynamic-certificate hook. It may answer at once or later (after asking
 * a vault or a certificate service off the loop), and it may issue a certificate that no store holds.
 *
 * <p>Threading: called on the connection's event loop once the ClientHello is read; it must not block. The handshake
 * waits for the stage it returns (within the handshake timeout). A stage that fails, or completes with a
 * certificate that cannot be used, ends the handshake; the failure is a security event
 * ({@code tls-certificate-selection}).
 */
@FunctionalInterface
public interface CertificateSelector {

    /**
     * The certificate for this handshake.
     *
     * @param serverName the name the client asked for, normalized ({@link CertificateStore#normalizeServerName}),
     *     if it sent a well-formed one
     * @param store the listener's certificates; {@code store.select(name)} is what Merapi does without a selector
     */
    CompletionStage<TlsCertificate> select(Optional<String> serverName, CertificateStore store);
}

package dev.merapi.core.tls;

import java.util.Objects;
import java.util.Optional;

/**
 * What the TLS handshake of a downstream connection established; the same for every request of the connection.
 *
 * @param protocol the negotiated version, such as {@code TLSv1.3}
 * @param cipherSuite the negotiated suite, such as {@code TLS_AES_128_GCM_SHA256}
 * @param serverName the name the client asked for (SNI), lower-case, if it sent one
 * @param applicationProtocol the ALPN result, such as {@code http/1.1}, if the client offered ALPN
 * @param resumed whether the session was resumed from an earlier one (a ticket or the session cache) rather than
 *     made by a full handshake. Read from the session's creation time, which has a resolution of one second: a session
 *     resumed within the second it was made reads as not resumed
 * @param clientIdentity the verified client certificate, if the listener asks for one and the client sent it
 */
public record TlsInfo(String protocol, String cipherSuite, Optional<String> serverName,
        Optional<String> applicationProtocol, boolean resumed, Optional<ClientIdentity> clientIdentity) {
    public TlsInfo {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(cipherSuite, "cipherSuite");
        Objects.requireNonNull(serverName, "serverName");
        Objects.requireNonNull(applicationProtocol, "applicationProtocol");
        Objects.requireNonNull(clientIdentity, "clientIdentity");
    }

    /** One line for logs: {@code TLSv1.3 TLS_AES_128_GCM_SHA256 sni=example.com alpn=http/1.1 client="CN=alice"}. */
    public String summary() {
        StringBuilder b = new StringBuilder(protocol).append(' ').append(cipherSuite);
        serverName.ifPresent(n -> b.append(" sni=").append(n));
        applicationProtocol.ifPresent(p -> b.append(" alpn=").append(p));
        if (resumed) {
            b.append(" resumed");
        }
        clientIdentity.ifPresent(c -> b.append(" client=\"").append(c.subject()).append('"'));
        return b.toString();
    }
}

package dev.merapi.loadbalancing.health;

import dev.merapi.loadbalancing.Backend;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * One check of one backend. It runs on a virtual thread of its own, never on an event loop, and may block up to
 * {@code timeout}; it passes by returning and fails by throwing, the exception's message saying why.
 */
@FunctionalInterface
public interface Probe {
    /**
     * Checks {@code backend}.
     *
     * @param timeout the time it may take in all
     * @throws Exception if the backend is not healthy
     */
    void check(Backend backend, Duration timeout) throws Exception;

    /** Passes when a TCP connection to the backend opens within the timeout. */
    static Probe tcp() {
        return (backend, timeout) -> {
            try (Socket s = connect(backend, timeout)) {
                s.setSoLinger(true, 0); // nothing to say: reset rather than leave a TIME_WAIT per check
            }
        };
    }

    /**
     * Passes when a TLS handshake with the backend succeeds within the timeout, with the JDK's trusted
     * certificates and host-name verification (against the SNI, else the host).
     */
    static Probe tls() {
        return (backend, timeout) -> {
            try (Socket s = tlsHandshake(backend, timeout)) {
                s.setSoLinger(true, 0);
            }
        };
    }

    /** An open TCP connection to {@code backend}, made within {@code timeout}. */
    static Socket connect(Backend backend, Duration timeout) throws IOException {
        InetSocketAddress address = backend.address();
        if (address.isUnresolved()) {
            address = new InetSocketAddress(address.getHostString(), address.getPort());
        }
        Socket s = new Socket();
        try {
            s.connect(address, (int) Math.max(1, timeout.toMillis()));
            s.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** A TLS connection to {@code backend} whose handshake has completed, certificate and host name verified. */
    static SSLSocket tlsHandshake(Backend backend, Duration timeout) throws IOException {
        Socket plain = connect(backend, timeout);
        String host = backend.sni().isEmpty() ? backend.address().getHostString() : backend.sni();
        try {
            SSLSocket s = (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault())
                    .createSocket(plain, host, backend.address().getPort(), true);
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            if (!backend.sni().isEmpty()) {
                p.setServerNames(java.util.List.of(new SNIHostName(backend.sni())));
            }
            s.setSSLParameters(p);
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }
}

package dev.merapi.loadbalancing.health;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamTls;
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
     * Passes when a TLS handshake with the backend succeeds within the timeout, with the backend's
     * {@link Backend#upstreamTls() TLS settings}: its trusted CA (by default the JDK's trust store), its client
     * certificate, and host-name verification (against the verify name, else the SNI, else the host) unless the
     * settings turn verification off. Only TLS 1.2 and 1.3 are offered.
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

    /** A TLS connection to {@code backend} whose handshake has completed, verified as its TLS settings say. */
    static SSLSocket tlsHandshake(Backend backend, Duration timeout) throws IOException {
        Socket plain = connect(backend, timeout);
        HttpPeer peer = backend.tls() ? backend.peer() : HttpPeer.of(backend.name(), true, backend.sni()).withTls(backend.upstreamTls());
        UpstreamTls settings = peer.upstreamTls();
        try {
            SSLSocketFactory factory = settings.jdkContext().getSocketFactory();
            SSLSocket s = (SSLSocket) factory.createSocket(plain, peer.tlsVerifyName(), backend.address().getPort(), true);
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            if (settings.verify()) {
                p.setEndpointIdentificationAlgorithm("HTTPS");
            }
            String sni = peer.tlsServerName();
            p.setServerNames(sni.isEmpty() ? java.util.List.of() : java.util.List.of(new SNIHostName(sni)));
            s.setSSLParameters(p);
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }
}

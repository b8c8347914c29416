package dev.merapi.examples.tls;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.server.Server;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.proxy.FilterResult;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.ProxyOptions;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * A TLS-terminating proxy in front of a plain-HTTP origin, with optional client certificates: a client that shows a
 * certificate issued by the client CA has its verified subject passed to the origin in {@code X-Client-Subject}
 * (any such header sent by the client itself is dropped first), and a request to {@code /private/} without one is
 * answered 403 here. The certificate files are reloaded when they change.
 */
public final class TlsProxy implements ProxyHttp<Void> {
    /** The header the origin reads the verified client subject from. */
    public static final String CLIENT_SUBJECT = "X-Client-Subject";

    private final HttpPeer upstream;

    public TlsProxy(String upstream) {
        this.upstream = HttpPeer.of(upstream);
    }

    @Override
    public Void newCtx() {
        return null;
    }

    @Override
    public CompletionStage<FilterResult> requestFilter(Session session, Void ctx) {
        session.requestHeader().headers().remove(CLIENT_SUBJECT); // only the handshake may say who the client is
        var client = session.tls().flatMap(t -> t.clientIdentity());
        if (client.isEmpty() && session.requestHeader().path().startsWith("/private/")) {
            session.respond(403, "text/plain; charset=utf-8", "a client certificate is required here\n");
            return FilterResult.RESPONDED_STAGE;
        }
        client.ifPresent(c -> session.requestHeader().headers().set(CLIENT_SUBJECT, c.subject()));
        return FilterResult.CONTINUE_STAGE;
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
        return Stages.completed(upstream);
    }

    /** The TLS settings: one certificate, client certificates optional and verified against {@code clientCa}. */
    public static ServerTls tls(Path cert, Path key, Path clientCa) {
        return ServerTls.builder(CertificateStore.of(cert, key))
                .clientAuth(ServerTls.ClientAuth.OPTIONAL, clientCa)
                .build();
    }

    /** Usage: {@code TlsProxy LISTEN UPSTREAM CERT KEY CLIENT_CA}, such as {@code 0.0.0.0:8443 127.0.0.1:8000 ...}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: TlsProxy LISTEN UPSTREAM CERT KEY CLIENT_CA");
            System.exit(2);
        }
        ServerTls tls = tls(Path.of(args[2]), Path.of(args[3]), Path.of(args[4]));
        Server server = new Server();
        server.addService(HttpProxy.service("tls-proxy", new TlsProxy(args[1]), ProxyOptions.DEFAULT)
                .addListener(ListenerConfig.tcp(args[0]).toBuilder().tls(tls).build()));
        // reads the certificate files again when they change
        server.addService(BackgroundService.every("tls-certificate-watch", Duration.ofSeconds(30), tls.certificates()::reloadIfChanged));
        server.run();
    }
}

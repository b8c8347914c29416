package com.example;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.server.Server;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.ProxyOptions;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.concurrent.CompletionStage;

/** Sends every request on LISTEN to UPSTREAM: {@code java -jar hello-proxy-1.0.0.jar 127.0.0.1:8080 127.0.0.1:9000}. */
public final class HelloProxy implements ProxyHttp<HelloProxy.Ctx> {
    /** What one request carries from phase to phase; nothing yet. */
    public static final class Ctx {
    }

    private final CompletionStage<HttpPeer> upstream;

    HelloProxy(HttpPeer upstream) {
        this.upstream = Stages.completed(upstream);
    }

    @Override
    public Ctx newCtx() {
        return new Ctx();
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
        return upstream;
    }

    public static void main(String[] args) {
        String listen = args.length > 0 ? args[0] : "127.0.0.1:8080";
        HttpPeer upstream = HttpPeer.of(args.length > 1 ? args[1] : "127.0.0.1:9000").withName("origin");
        ListeningService service = HttpProxy.service("hello-proxy", new HelloProxy(upstream), ProxyOptions.DEFAULT)
                .addTcp(listen);
        Server server = new Server();
        server.addService(service);
        server.start();
        server.installSignalHandlers(); // SIGTERM: graceful shutdown; Ctrl-C: fast
        System.out.println("hello-proxy on http://" + ListenerConfig.describe(service.boundAddresses().getFirst()) + " -> " + upstream);
        server.awaitTermination();
    }
}

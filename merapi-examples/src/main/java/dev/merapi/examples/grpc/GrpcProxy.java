package dev.merapi.examples.grpc;

import dev.merapi.core.server.Server;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.http.Headers;
import dev.merapi.http.ResponseHeader;
import dev.merapi.proxy.FilterResult;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A gRPC front for one origin. Clients speak h2c with prior knowledge (or h2 on a TLS listener); every request must be
 * gRPC ({@code content-type: application/grpc...}, a POST): anything else gets {@code 415} before reaching the origin,
 * as gRPC's HTTP/2 protocol says. Calls go to the origin over HTTP/2 (h2c), where trailers and {@code TE: trailers}
 * travel as gRPC needs, and each ended call is counted by its {@code grpc-status}, from the trailers or, for a
 * trailers-only answer, from the response head.
 *
 * <p>Shared by every event loop: the counters are thread-safe.
 */
public final class GrpcProxy implements ProxyHttp<Void> {
    private final HttpPeer upstream;
    private final Map<String, LongAdder> byStatus = new ConcurrentHashMap<>();

    /** @param upstream the gRPC origin, {@code host:port}, spoken to in h2c */
    public GrpcProxy(String upstream) {
        this.upstream = HttpPeer.of(upstream).withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2).build());
    }

    @Override
    public Void newCtx() {
        return null;
    }

    @Override
    public CompletionStage<FilterResult> requestFilter(Session session, Void ctx) {
        boolean grpc = "POST".equals(session.requestHeader().method())
                && session.requestHeader().header("content-type").filter(t -> t.startsWith("application/grpc")).isPresent();
        if (!grpc) {
            session.respond(415, "text/plain; charset=utf-8", "this endpoint speaks gRPC only\n");
            return FilterResult.RESPONDED_STAGE;
        }
        return FilterResult.CONTINUE_STAGE;
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
        return Stages.completed(upstream);
    }

    @Override
    public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Void ctx) {
        // a trailers-only answer (an error before any message) carries its status in the head
        upstreamResponse.header("grpc-status").ifPresent(this::count);
    }

    @Override
    public void responseTrailerFilter(Session session, Headers trailers, Void ctx) {
        trailers.get("grpc-status").ifPresent(this::count);
    }

    private void count(String status) {
        byStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
    }

    /** The calls that ended so far, by {@code grpc-status} value ("0" is OK, "5" NOT_FOUND...). */
    public Map<String, Long> callsByStatus() {
        Map<String, Long> out = new TreeMap<>();
        byStatus.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /** How many calls ended with {@code grpc-status} {@code status}. */
    public long calls(String status) {
        return Optional.ofNullable(byStatus.get(status)).map(LongAdder::sum).orElse(0L);
    }

    /** Usage: {@code GrpcProxy [LISTEN [UPSTREAM]]}; by default 127.0.0.1:6190 in front of 127.0.0.1:50051. */
    public static void main(String[] args) {
        String listen = args.length > 0 ? args[0] : "127.0.0.1:6190";
        String upstream = args.length > 1 ? args[1] : "127.0.0.1:50051";
        Server server = new Server();
        server.addService(HttpProxy.service("grpc", new GrpcProxy(upstream)).addTcp(listen));
        server.run();
    }
}

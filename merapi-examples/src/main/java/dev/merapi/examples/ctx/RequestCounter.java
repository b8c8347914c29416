package dev.merapi.examples.ctx;

import dev.merapi.core.server.Server;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.http.ResponseHeader;
import dev.merapi.proxy.FilterResult;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-request state in a context: each request gets a number in {@code requestFilter}, which later phases read
 * from the context. Requests that carry {@code X-Deny} are answered 403 without reaching the upstream, and
 * {@code logging} counts and logs every request, however it ended.
 */
public final class RequestCounter implements ProxyHttp<RequestCounter.Ctx> {
    private static final Logger log = LoggerFactory.getLogger(RequestCounter.class);

    /** The state of one request, made by {@link #newCtx()} and handed to every phase of that request. */
    public static final class Ctx {
        long number;
        boolean denied;
    }

    private final HttpPeer upstream;
    private final AtomicLong requests = new AtomicLong(); // shared by every request, on every event loop
    private final AtomicLong denied = new AtomicLong();
    private final AtomicLong logged = new AtomicLong();

    public RequestCounter(String upstream) {
        this.upstream = HttpPeer.of(upstream);
    }

    @Override
    public Ctx newCtx() {
        return new Ctx();
    }

    @Override
    public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
        ctx.number = requests.incrementAndGet();
        if (session.requestHeader().header("X-Deny").isPresent()) {
            ctx.denied = true;
            session.respond(403, "text/plain; charset=utf-8", "request " + ctx.number + " denied\n");
            return FilterResult.RESPONDED_STAGE;
        }
        return FilterResult.CONTINUE_STAGE;
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
        return Stages.completed(upstream);
    }

    @Override
    public CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
        upstreamResponse.headers().set("X-Request-Number", Long.toString(ctx.number));
        return Stages.DONE;
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
        if (ctx.denied) {
            denied.incrementAndGet();
        }
        logged.incrementAndGet();
        log.info("request {}: {} {} -> {}{} in {} us", ctx.number, session.requestHeader().method(),
                session.requestHeader().path(), session.responseStatus(),
                error.map(e -> " (" + e.getMessage() + ")").orElse(""), session.elapsedNanos() / 1000);
    }

    /** How many requests were denied. */
    public long denied() {
        return denied.get();
    }

    /** How many requests have ended and been logged. */
    public long logged() {
        return logged.get();
    }

    /** Usage: {@code RequestCounter [LISTEN [UPSTREAM]]}; by default 127.0.0.1:6190 in front of 127.0.0.1:8000. */
    public static void main(String[] args) {
        String listen = args.length > 0 ? args[0] : "127.0.0.1:6190";
        String upstream = args.length > 1 ? args[1] : "127.0.0.1:8000";
        Server server = new Server();
        server.addService(HttpProxy.service("request-counter", new RequestCounter(upstream)).addTcp(listen));
        server.run();
    }
}

package dev.merapi.proxy;

import dev.merapi.core.connectors.ClientSession;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.BodyLength;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.HopByHop;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one proxied request: runs the phases in order, connects, streams both bodies with
 * backpressure, retries what is safe, and ends with exactly one {@code logging} call.
 *
 * <p>Everything here runs on the downstream session's event loop; stages completed elsewhere hop back to it.
 */
final class ProxyCall<C> implements ClientSession.Handler {
    private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);

    private final HttpProxy<C> engine;
    private final ProxyHttp<C> proxy;
    private final ServerSession downstream;
    private final Session session;
    private final EventLoop loop;
    private final Downstream downstreamHandler = new Downstream();
    private C ctx;
    private BodyChunk chunk;

    private HttpPeer peer;
    private ClientSession upstream;
    private int attempts;
    private boolean pooledFailed; // a pooled connection failed this request: later attempts use new connections
    private boolean finished;

    // request body
    private boolean requestBodyEnded;
    private boolean requestHeadSent;
    private boolean requestBodyReading;
    private boolean waitingUpstreamWritable;
    private ArrayDeque<ByteBuf> replay;
    private long replayBytes;
    private boolean replayable = true;

    // response
    private boolean responseHeaderSent;
    private boolean waitingDownstreamWritable;
    private long splicedBytes;

    ProxyCall(HttpProxy<C> engine, ServerSession downstream) {
        this.engine = engine;
        this.proxy = engine.proxy;
        this.downstream = downstream;
        this.session = new Session(downstream);
        this.loop = downstream.eventLoop();
    }

    void start() {
        downstream.setHandler(downstreamHandler);
        try {
            ctx = proxy.newCtx();
        } catch (RuntimeException e) {
            finish(ProxyError.because(ErrorType.Kind.FILTER_FAILED, ErrorSource.INTERNAL, "newCtx failed", e));
            return;
        }
        String via = engine.options.via();
        if (!via.isEmpty() && Hops.passedThrough(downstream.request(), via)) {
            // this request came round a loop: each turn would open one more connection to ourselves
            SecurityEvents.record("via-loop", downstream.clientAddress(), downstream.serverAddress(), 508, downstream.request());
            finish(ProxyError.explain(new ErrorType.HttpStatus(508), ErrorSource.DOWNSTREAM,
                    "via-loop: the request already passed through this proxy (Via names " + via + ")"));
            return;
        }
        CompletionStage<Void> early;
        try {
            early = proxy.earlyRequestFilter(session, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed("earlyRequestFilter", e));
            return;
        }
        await(early, "earlyRequestFilter", (v, e) -> {
            if (!answered("earlyRequestFilter")) {
                requestFilter();
            }
        });
    }

    private void requestFilter() {
        CompletionStage<FilterResult> stage;
        try {
            stage = proxy.requestFilter(session, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed("requestFilter", e));
            return;
        }
        await(stage, "requestFilter", (result, e) -> {
            // a started response decides, whatever the filter returned: the request never goes upstream
            if (answered("requestFilter")) {
                return;
            }
            if (result == FilterResult.RESPONDED) {
                finish(ProxyError.explain(ErrorType.Kind.FILTER_FAILED, ErrorSource.INTERNAL,
                        "requestFilter returned RESPONDED without writing a response"));
                return;
            }
            long maxForwards = Hops.maxForwards(downstream.request());
            if (maxForwards == 0) {
                Hops.answerAsFinalRecipient(session); // a TRACE or OPTIONS that may go no further
                finish(null);
                return;
            } else if (maxForwards == -2) {
                finish(ProxyError.explain(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM,
                        "max-forwards: not one decimal number"));
                return;
            }
            if ("CONNECT".equals(downstream.request().method())) {
                session.respondError(501); // tunnels are not implemented
                finish(null);
                return;
            }
            if (engine.requestBodyFiltered) {
                chunk = new BodyChunk();
            }
            choosePeer();
        });
    }

    // ---- upstream attempts

    private void choosePeer() {
        attempts++;
        CompletionStage<HttpPeer> stage;
        try {
            stage = proxy.upstreamPeer(session, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed("upstreamPeer", e));
            return;
        }
        await(stage, "upstreamPeer", (p, e) -> {
            if (answered("upstreamPeer")) {
                return;
            }
            if (p == null) {
                finish(ProxyError.explain(ErrorType.Kind.NO_UPSTREAM, ErrorSource.UPSTREAM, "upstreamPeer returned no peer"));
                return;
            }
            peer = p;
            Future<ClientSession> f = engine.connector.connect(p, loop, !pooledFailed);
            if (f.isDone()) {
                connected(f);
            } else {
                f.addListener(x -> connected(f));
            }
        });
    }

    private void connected(Future<ClientSession> f) {
        if (!f.isSuccess()) {
            ProxyError e = ProxyError.from(f.cause());
            if (finished) {
                return;
            }
            ProxyError decided = safely(() -> proxy.failToConnect(session, peer, e, ctx), e);
            if (downstream.isResponseStarted()) {
                finish(decided); // failToConnect answered: no retry, and failToProxy writes nothing
                return;
            }
            retryOrFinish(decided, false);
            return;
        }
        ClientSession cs = f.getNow();
        if (finished) {
            cs.abort();
            return;
        }
        upstream = cs;
        requestHeadSent = false;
        session.peer(peer, cs.isReused());
        cs.setHandler(this);
        CompletionStage<Void> stage;
        try {
            stage = proxy.connectedToUpstream(session, peer, cs.isReused(), ctx);
        } catch (RuntimeException e) {
            finish(filterFailed("connectedToUpstream", e));
            return;
        }
        await(stage, "connectedToUpstream", (v, e) -> {
            if (!answered("connectedToUpstream")) {
                sendRequest(cs);
            }
        });
    }

    private void sendRequest(ClientSession cs) {
        RequestHeader req = upstreamRequest();
        CompletionStage<Void> stage;
        try {
            stage = proxy.upstreamRequestFilter(session, req, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed("upstreamRequestFilter", e));
            return;
        }
        await(stage, "upstreamRequestFilter", (v, e) -> {
            if (upstream != cs || answered("upstreamRequestFilter")) {
                return;
            }
            boolean noBody = req.bodyLength() == BodyLength.NONE || req.bodyLength() == 0;
            cs.writeRequestHeader(req, noBody);
            requestHeadSent = true;
            if (noBody) {
                return;
            }
            if (replay != null && !replay.isEmpty()) {
                // a retry: what was already read from the client goes first
                boolean endsHere = requestBodyEnded;
                int n = replay.size();
                int i = 0;
                for (ByteBuf b : replay) {
                    i++;
                    cs.writeBody(b.retainedDuplicate(), endsHere && i == n);
                }
                if (endsHere) {
                    return;
                }
            } else if (requestBodyEnded) {
                if (!replayable) {
                    // the body ended on an earlier attempt that was not replayable: cannot happen, see canRetry
                    finish(ProxyError.explain(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "request body lost"));
                    return;
                }
                // a retry of an empty body (chunked "0"): the replay buffer holds no bytes, only the end goes again
                cs.writeBody(Unpooled.EMPTY_BUFFER, true);
                return;
            }
            if (chunk == null) {
                cs.flush();
            } // else the head leaves with the first filtered piece: a requestBodyFilter that answers then keeps it from the origin
            pumpRequestBody();
        });
    }

    /** The request that goes upstream for this attempt: a copy without hop-by-hop headers, in origin-form. */
    private RequestHeader upstreamRequest() {
        RequestHeader req = downstream.request().copy();
        HopByHop.strip(req.headers());
        req.setVersion(HttpVersion.HTTP_1_1);
        String target = req.target();
        if (!target.startsWith("/") && !target.equals("*")) {
            String query = req.query();
            req.setTarget(query == null ? req.path() : req.path() + '?' + query);
        }
        RequestHeader received = downstream.request();
        Hops.forwardMaxForwards(req, Hops.maxForwards(received));
        engine.options.forwardedHeaders().apply(req.headers(), downstream.clientAddress(), "http",
                received.header(HeaderNames.HOST));
        if (!engine.options.via().isEmpty()) {
            Hops.addVia(req.headers(), received.version(), engine.options.via());
        }
        if (!req.headers().contains(HeaderNames.HOST)) {
            req.headers().add(HeaderNames.HOST, peer.defaultHost());
        }
        if (engine.requestBodyFiltered && req.bodyLength() > 0) {
            req.setBodyLength(BodyLength.CHUNKED); // a filter may change the length
        }
        return req;
    }

    private void pumpRequestBody() {
        if (finished || requestBodyEnded || requestBodyReading || upstream == null) {
            return;
        }
        if (!upstream.isWritable()) {
            waitingUpstreamWritable = true;
            return;
        }
        requestBodyReading = true;
        downstream.readBody();
    }

    private void onRequestBody(ByteBuf data, boolean end) {
        requestBodyReading = false;
        if (finished) {
            data.release();
            return;
        }
        session.countRequestBody(data.readableBytes());
        if (chunk != null) {
            chunk.set(data);
            try {
                proxy.requestBodyFilter(session, chunk, end, ctx);
            } catch (RuntimeException e) {
                chunk.take().release();
                finish(filterFailed("requestBodyFilter", e));
                return;
            }
            data = chunk.take();
            if (downstream.isResponseStarted()) {
                data.release();
                answered("requestBodyFilter");
                return;
            }
        }
        requestBodyEnded = end;
        keepForReplay(data);
        ClientSession cs = upstream;
        if (cs == null || !requestHeadSent) {
            // between attempts: the next attempt replays the buffer, which must hold this piece too
            data.release();
            if (!replayable) {
                finish(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM,
                        "upstream failed and the request body is too large to replay"));
            }
            return;
        }
        cs.writeBody(data, end);
        if (!end) {
            cs.flush();
            pumpRequestBody();
        }
    }

    private void keepForReplay(ByteBuf data) {
        if (!replayable) {
            return;
        }
        long n = data.readableBytes();
        if (replayBytes + n > engine.options.replayBufferBytes()) {
            replayable = false;
            releaseReplay();
            return;
        }
        if (n > 0) {
            if (replay == null) {
                replay = new ArrayDeque<>(4);
            }
            replay.add(data.retainedDuplicate());
            replayBytes += n;
        }
    }

    private void releaseReplay() {
        if (replay != null) {
            ByteBuf b;
            while ((b = replay.poll()) != null) {
                b.release();
            }
        }
    }

    // ---- upstream events

    @Override
    public void onInformational(ResponseHeader header) {
        if (header.status() == 100) {
            return; // Merapi answers Expect: 100-continue itself
        }
        HopByHop.strip(header.headers());
        downstream.writeInterim(header);
    }

    @Override
    public void onResponseHeader(ResponseHeader header) {
        if (finished) {
            return;
        }
        try {
            proxy.upstreamResponseFilter(session, header, ctx);
        } catch (RuntimeException e) {
            failUpstream(filterFailed("upstreamResponseFilter", e));
            return;
        }
        if (answered("upstreamResponseFilter")) {
            return;
        }
        HopByHop.strip(header.headers());
        if (!engine.options.via().isEmpty()) {
            Hops.addVia(header, engine.options.via());
        }
        // once a response has started there is no retry: the replay copy can go
        replayable = false;
        releaseReplay();
        if (engine.responseBodyFiltered && !"HEAD".equals(downstream.request().method())) {
            header.headers().remove(HeaderNames.CONTENT_LENGTH);
            if (chunk == null) {
                chunk = new BodyChunk();
            }
        }
        CompletionStage<Void> stage;
        try {
            stage = proxy.responseFilter(session, header, ctx);
        } catch (RuntimeException e) {
            failUpstream(filterFailed("responseFilter", e));
            return;
        }
        await(stage, "responseFilter", (v, e) -> {
            if (upstream == null || answered("responseFilter")) {
                return;
            }
            responseHeaderSent = true;
            session.writeResponseHeader(header, false);
            if (chunk == null) {
                long spliced = upstream.spliceBody(downstream, ProxyOptions.SPLICE_MIN_BYTES);
                if (spliced >= 0) {
                    splicedBytes = spliced; // the end of the body comes as onBody(empty, true)
                    return;
                }
            }
            upstream.readBody();
        });
    }

    @Override
    public void onBody(ByteBuf data, boolean end) {
        if (finished) {
            data.release();
            return;
        }
        Duration delay = Duration.ZERO;
        if (chunk != null && engine.responseBodyFiltered) {
            chunk.set(data);
            try {
                Duration d1 = proxy.upstreamResponseBodyFilter(session, chunk, end, ctx);
                Duration d2 = proxy.responseBodyFilter(session, chunk, end, ctx);
                delay = max(d1, d2);
            } catch (RuntimeException e) {
                chunk.take().release();
                failUpstream(filterFailed("responseBodyFilter", e));
                return;
            }
            data = chunk.take();
        }
        session.writeResponseBody(data, end);
        if (end) {
            session.countSplicedBody(splicedBytes);
            ClientSession cs = upstream;
            upstream = null;
            if (!requestBodyEnded && downstream.hasRequestBody()) {
                cs.abort(); // the origin answered before the whole body was sent: not reusable
            } else {
                cs.release();
            }
            finish(null);
            return;
        }
        downstream.flush();
        if (delay.isZero() || delay.isNegative()) {
            readMoreResponse();
        } else {
            loop.schedule(this::readMoreResponse, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void readMoreResponse() {
        if (finished || upstream == null) {
            return;
        }
        if (!downstream.isWritable()) {
            waitingDownstreamWritable = true;
            return;
        }
        upstream.readBody();
    }

    @Override
    public void onWritable() {
        if (waitingUpstreamWritable) {
            waitingUpstreamWritable = false;
            pumpRequestBody();
        }
    }

    @Override
    public void onError(ProxyError error) {
        failUpstream(error);
    }

    /** An upstream failure: retry if safe and allowed, answer with an error page if nothing was sent, else cut the response. */
    private void failUpstream(ProxyError error) {
        ClientSession cs = upstream;
        boolean written = cs != null && requestHeadSent;
        upstream = null;
        requestBodyReading = requestBodyReading && !finished;
        if (cs != null) {
            cs.abort();
        }
        if (finished) {
            return;
        }
        if (responseHeaderSent) {
            finish(error);
            return;
        }
        boolean reused = cs != null && cs.isReused();
        pooledFailed |= reused;
        ProxyError safe = RetryRule.beforeErrorPhase(error, downstream.request().method(), downstream.hasRequestBody(),
                written, peer);
        ProxyError decided = safely(() -> proxy.errorWhileProxy(session, peer, safe, reused, ctx), safe);
        if (downstream.isResponseStarted()) {
            finish(decided); // errorWhileProxy answered: no retry, and failToProxy writes nothing
            return;
        }
        retryOrFinish(decided, reused);
    }

    private void retryOrFinish(ProxyError e, boolean reused) {
        // the body read so far must all be in the replay buffer
        boolean bodyReplayable = !downstream.hasRequestBody() || replayable;
        if (RetryRule.mayRetry(e, reused, attempts, engine.options.maxRetries(), bodyReplayable)) {
            session.retried();
            log.debug("retrying {} after {}", summary(), e.getMessage());
            choosePeer();
            return;
        }
        finish(e);
    }

    // ---- downstream events

    private final class Downstream implements ServerSession.Handler {
        @Override
        public void onBody(ByteBuf data, boolean endOfStream) {
            onRequestBody(data, endOfStream);
        }

        @Override
        public void onWritable() {
            if (waitingDownstreamWritable) {
                waitingDownstreamWritable = false;
                readMoreResponse();
            }
        }

        @Override
        public void onError(ProxyError error) {
            requestBodyReading = false;
            ClientSession cs = upstream;
            upstream = null;
            if (cs != null) {
                cs.abort();
            }
            finish(error);
        }
    }

    // ---- the end

    /**
     * Whether a phase has started a response. Then that response is the answer, whatever the phase returned: the
     * request never goes (further) upstream, an upstream connection is closed, and {@code logging} sees the status
     * the client got. A response left unfinished when the phase is over is cut, so the client sees it is incomplete.
     */
    private boolean answered(String phase) {
        if (!downstream.isResponseStarted()) {
            return false;
        }
        if (!downstream.isResponseDone()) {
            log.warn("{} started a response without finishing it; cutting it: {}", phase, summary());
            downstream.abort();
        }
        finish(null);
        return true;
    }

    private void finish(ProxyError error) {
        if (finished) {
            return;
        }
        finished = true;
        releaseReplay();
        if (chunk != null) {
            chunk.take().release();
        }
        ClientSession cs = upstream;
        upstream = null;
        if (cs != null) {
            cs.abort();
        }
        if (error == null) {
            logging(null);
            return;
        }
        if (error.source() == ErrorSource.INTERNAL) {
            log.error("{} failed: {}", summary(), error.getMessage(), error);
        } else if (error.source() == ErrorSource.UPSTREAM) {
            UpstreamFailures.record(error, Optional.ofNullable(peer), session.retries(), summary());
        } else {
            log.debug("{} failed: {}", summary(), error.getMessage());
        }
        if (!downstream.isResponseStarted() && downstream.isOpen()) {
            CompletionStage<Integer> stage;
            try {
                stage = proxy.failToProxy(session, error, ctx);
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            await(stage, "failToProxy", (status, e) -> {
                if (e != null) {
                    log.error("failToProxy failed for {}", summary(), e);
                    if (!downstream.isResponseStarted() && downstream.isOpen()) {
                        session.respondError(500); // its own page failed (a refused header, say): Merapi's instead
                    }
                }
                if (downstream.isResponseStarted() && !downstream.isResponseDone()) {
                    downstream.abort();
                } else if (!downstream.isResponseStarted()) {
                    downstream.abort();
                }
                logging(error);
            }, true);
            return;
        }
        if (!downstream.isResponseDone()) {
            downstream.abort(); // the client must see that the response was cut short
        }
        logging(error);
    }

    private void logging(ProxyError error) {
        try {
            proxy.logging(session, Optional.ofNullable(error), ctx);
        } catch (RuntimeException e) {
            log.warn("logging phase failed for {}", summary(), e);
        }
    }

    // ---- helpers

    private <T> void await(CompletionStage<T> stage, String phase, BiConsumer<T, Throwable> next) {
        await(stage, phase, next, false);
    }

    /**
     * Continues with {@code next} once {@code stage} completes, on this request's loop. The shared completed
     * constants continue at once. A failed stage ends the request, unless {@code always} asks for {@code next} anyway.
     */
    private <T> void await(CompletionStage<T> stage, String phase, BiConsumer<T, Throwable> next, boolean always) {
        if (stage == Stages.DONE || stage == FilterResult.CONTINUE_STAGE) {
            if (!finished || always) {
                next.accept(stage == Stages.DONE ? null : castContinue(), null);
            }
            return;
        }
        if (stage == null) {
            stage = CompletableFuture.failedFuture(new NullPointerException(phase + " returned null"));
        }
        CompletableFuture<T> f = stage.toCompletableFuture();
        if (f.isDone() && loop.inEventLoop()) {
            resume(f, phase, next, always);
            return;
        }
        f.whenComplete((v, t) -> {
            if (loop.inEventLoop()) {
                resume(f, phase, next, always);
            } else {
                loop.execute(() -> resume(f, phase, next, always));
            }
        });
    }

    @SuppressWarnings("unchecked")
    private static <T> T castContinue() {
        return (T) FilterResult.CONTINUE;
    }

    private <T> void resume(CompletableFuture<T> f, String phase, BiConsumer<T, Throwable> next, boolean always) {
        if (finished && !always) {
            return;
        }
        T value;
        try {
            value = f.join();
        } catch (RuntimeException e) {
            if (always) {
                next.accept(null, e);
            } else {
                finish(filterFailed(phase, e));
            }
            return;
        }
        try {
            next.accept(value, null);
        } catch (RuntimeException e) {
            finish(ProxyError.because(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "after " + phase, e));
        }
    }

    private static ProxyError filterFailed(String phase, Throwable e) {
        ProxyError pe = ProxyError.from(e);
        if (pe.type() == ErrorType.Kind.INTERNAL_ERROR && pe.getCause() == unwrap(e)) {
            return ProxyError.because(ErrorType.Kind.FILTER_FAILED, ErrorSource.INTERNAL, phase + " failed", unwrap(e));
        }
        return pe;
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    private ProxyError safely(java.util.function.Supplier<ProxyError> phase, ProxyError fallback) {
        try {
            ProxyError e = phase.get();
            return e != null ? e : fallback;
        } catch (RuntimeException ex) {
            log.warn("an error phase threw for {}", summary(), ex);
            return fallback.withRetry(Retry.NO);
        }
    }

    private String summary() {
        try {
            return proxy.requestSummary(session, ctx);
        } catch (RuntimeException e) {
            return downstream.request().toString();
        }
    }

    private static Duration max(Duration a, Duration b) {
        if (a == null) {
            return b == null ? Duration.ZERO : b;
        }
        if (b == null) {
            return a;
        }
        return a.compareTo(b) >= 0 ? a : b;
    }
}

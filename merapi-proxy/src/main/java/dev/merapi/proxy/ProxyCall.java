package dev.merapi.proxy;

import dev.merapi.core.connectors.ClientSession;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tunnels.Tunnel;
import dev.merapi.core.tunnels.TunnelEnd;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.BodyLength;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.HopByHop;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.NullUnmarked;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one proxied request: runs the phases in order, connects, streams both bodies with
 * backpressure, retries what is safe, and ends with exactly one {@code logging} call.
 *
 * <p>Where the request is lives in one {@link State}; a phase's stage resumes the call only if the call is still in
 * the state (and attempt) the phase was called in, so a late stage of an abandoned attempt does nothing. Whether a
 * phase answered is read from the downstream session (a started response) before the call moves on from any state
 * before {@link State#STREAMING}; what a phase returns never decides it alone.
 *
 * <p>Everything here runs on the downstream session's event loop; stages completed elsewhere hop back to it.
 * A stage that is already complete continues at once, on the same stack, without allocating.
 */
// Not checked by NullAway yet: which fields are set depends on the call's State (a peer after upstreamPeer, an upstream
// after connect, a ctx unless newCtx failed), which NullAway cannot follow; the fields that may be null say so.
@NullUnmarked
final class ProxyCall<C> implements ClientSession.Handler {
    private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);

    /** Where one request is: each state but the last names what the call is waiting for. In order. */
    enum State {
        /** {@code earlyRequestFilter} runs. */
        EARLY_REQUEST_FILTER("earlyRequestFilter"),
        /** {@code requestFilter} runs. */
        REQUEST_FILTER("requestFilter"),
        /** {@code upstreamPeer} runs: the first attempt, or a retry. */
        UPSTREAM_PEER("upstreamPeer"),
        /** The connector makes or reuses a connection. */
        CONNECTING("connect"),
        /** {@code connectedToUpstream} runs. */
        CONNECTED_TO_UPSTREAM("connectedToUpstream"),
        /** {@code upstreamRequestFilter} runs; nothing of this attempt was written upstream yet. */
        UPSTREAM_REQUEST_FILTER("upstreamRequestFilter"),
        /** The request head was written upstream (its body may still be going); the response head is awaited. */
        SENT("upstream request"),
        /** The response head arrived and {@code responseFilter} runs; it has not gone to the client. */
        RESPONSE_FILTER("responseFilter"),
        /** The response head went to the client and its body flows: no retry and no error page from here. */
        STREAMING("response body"),
        /** The connection became a tunnel (after a 101, or for CONNECT) and carries bytes both ways until it ends. */
        TUNNEL("tunnel"),
        /** The request failed and {@code failToProxy} runs. */
        FAIL_TO_PROXY("failToProxy"),
        /** {@code logging} ran or runs: the end. */
        DONE("logging");

        final String phase;

        State(String phase) {
            this.phase = phase;
        }

        /** Whether some of the request may have been written upstream in this state. */
        boolean requestWritten() {
            return compareTo(SENT) >= 0 && compareTo(STREAMING) <= 0;
        }

        /** Whether the request is over: only {@code failToProxy} and {@code logging} are left. */
        boolean over() {
            return compareTo(FAIL_TO_PROXY) >= 0;
        }
    }

    /** How a body moves in one direction. */
    private enum Flow {
        /** No read is asked for. */
        IDLE,
        /** A read was asked for; its piece has not come yet. */
        READING,
        /** The side it goes to is not writable; reading resumes when it is. */
        WAITING_WRITABLE,
        /** The last piece came. */
        ENDED
    }

    private final HttpProxy<C> engine;
    private final ProxyHttp<C> proxy;
    private final ServerSession downstream;
    private final Session session;
    private final EventLoop loop;
    private final Downstream downstreamHandler = new Downstream();
    private final ReplayBuffer replay; // null for a request without a body, which most are: 32 bytes saved
    private State state = State.EARLY_REQUEST_FILTER;
    private @Nullable C ctx; // null only when newCtx failed: then only failToProxy, requestSummary and logging see it
    private @Nullable BodyChunk chunk;

    private @Nullable HttpPeer peer;
    private @Nullable ClientSession upstream;
    private @Nullable RequestHeader upstreamRequest; // this attempt's copy, between upstreamRequestFilter and its write
    private @Nullable ResponseHeader responseHead; // between upstreamResponseFilter and its write to the client
    private int attempts;
    private boolean pooledFailed; // a pooled connection failed this request: later attempts use new connections
    private Flow requestBody = Flow.IDLE;
    private Flow responseBody = Flow.IDLE;
    private long splicedBytes;
    private @Nullable ProxyError failure; // the error failToProxy answers, for the logging call after it
    private boolean switching; // the origin answered 101 to an upgrade: the response head opens a tunnel

    ProxyCall(HttpProxy<C> engine, ServerSession downstream) {
        this.engine = engine;
        this.proxy = engine.proxy;
        this.downstream = downstream;
        this.session = new Session(downstream);
        this.loop = downstream.eventLoop();
        this.replay = downstream.hasRequestBody() ? new ReplayBuffer(engine.options.replayBufferBytes()) : null;
    }

    void start() {
        downstream.setHandler(downstreamHandler);
        session.upgrade(asksToUpgrade(downstream.request(), engine.options.tunnels()));
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
            finish(ProxyError.rejected(new ErrorType.HttpStatus(508), ErrorSource.DOWNSTREAM, "via-loop",
                    "the request already passed through this proxy (Via names " + via + ")"));
            return;
        }
        CompletionStage<Void> early;
        try {
            early = proxy.earlyRequestFilter(session, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed(State.EARLY_REQUEST_FILTER, e));
            return;
        }
        await(early);
    }

    /**
     * Goes on from the current state once its phase's stage completed with {@code value} (or {@code error}). A state
     * before {@link State#STREAMING} first checks whether its phase answered; a failed stage ends the request.
     */
    private void proceed(Object value, Throwable error) {
        State at = state;
        if (at == State.DONE) {
            return; // the phase's own response failed and ended the request meanwhile
        }
        if (error != null && at != State.FAIL_TO_PROXY) {
            finish(filterFailed(at, error));
            return;
        }
        if (at.compareTo(State.STREAMING) < 0 && answered(at.phase)) {
            return;
        }
        try {
            switch (at) {
                case EARLY_REQUEST_FILTER -> requestFilter();
                case REQUEST_FILTER -> afterRequestFilter((FilterResult) value);
                case UPSTREAM_PEER -> connect((HttpPeer) value);
                case CONNECTED_TO_UPSTREAM -> filterUpstreamRequest();
                case UPSTREAM_REQUEST_FILTER -> writeRequest();
                case RESPONSE_FILTER -> writeResponseHead();
                case FAIL_TO_PROXY -> afterFailToProxy(error);
                case CONNECTING, SENT, STREAMING, TUNNEL, DONE -> throw new IllegalStateException("no phase is awaited in " + at);
            }
        } catch (RuntimeException e) {
            finish(ProxyError.because(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "after " + at.phase, e));
        }
    }

    private void requestFilter() {
        state = State.REQUEST_FILTER;
        CompletionStage<FilterResult> stage;
        try {
            stage = proxy.requestFilter(session, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed(state, e));
            return;
        }
        await(stage);
    }

    private void afterRequestFilter(FilterResult result) {
        // a started response decided already (see proceed); RESPONDED without one is the filter's bug
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
            finish(ProxyError.rejected(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM, "max-forwards",
                    "not one decimal number"));
            return;
        }
        if ("CONNECT".equals(downstream.request().method())) {
            connectTunnel();
            return;
        }
        if (engine.requestBodyFiltered) {
            chunk = new BodyChunk();
        }
        choosePeer();
    }

    // ---- upstream attempts

    private void choosePeer() {
        attempts++;
        state = State.UPSTREAM_PEER;
        CompletionStage<HttpPeer> stage;
        try {
            stage = proxy.upstreamPeer(session, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed(state, e));
            return;
        }
        await(stage);
    }

    private void connect(HttpPeer p) {
        if (p == null) {
            finish(ProxyError.explain(ErrorType.Kind.NO_UPSTREAM, ErrorSource.UPSTREAM, "upstreamPeer returned no peer"));
            return;
        }
        peer = p;
        state = State.CONNECTING;
        // an upgrade may hold its connection for hours: a fresh one, so that the pool's stay ready for requests
        Future<ClientSession> f = engine.connector.connect(p, loop, !pooledFailed && !session.isUpgrade());
        if (f.isDone()) {
            connected(f);
        } else {
            f.addListener(x -> connected(f));
        }
    }

    private void connected(Future<ClientSession> f) {
        if (!f.isSuccess()) {
            if (state.over()) {
                return;
            }
            ProxyError e = ProxyError.from(f.cause());
            ProxyError decided = safely(() -> proxy.failToConnect(session, peer, e, ctx), e);
            if (downstream.isResponseStarted()) {
                finish(decided); // failToConnect answered: no retry, and failToProxy writes nothing
                return;
            }
            retryOrFinish(decided, false);
            return;
        }
        ClientSession cs = f.getNow();
        if (state.over()) {
            cs.abort();
            return;
        }
        upstream = cs;
        state = State.CONNECTED_TO_UPSTREAM;
        session.peer(peer, cs.isReused());
        cs.setHandler(this);
        CompletionStage<Void> stage;
        try {
            stage = proxy.connectedToUpstream(session, peer, cs.isReused(), ctx);
        } catch (RuntimeException e) {
            finish(filterFailed(state, e));
            return;
        }
        await(stage);
    }

    private void filterUpstreamRequest() {
        state = State.UPSTREAM_REQUEST_FILTER;
        RequestHeader req = upstreamRequest();
        upstreamRequest = req;
        CompletionStage<Void> stage;
        try {
            stage = proxy.upstreamRequestFilter(session, req, ctx);
        } catch (RuntimeException e) {
            finish(filterFailed(state, e));
            return;
        }
        await(stage);
    }

    private void writeRequest() {
        ClientSession cs = upstream;
        RequestHeader req = upstreamRequest;
        upstreamRequest = null;
        boolean noBody = req.bodyLength() == BodyLength.NONE || req.bodyLength() == 0;
        cs.writeRequestHeader(req, noBody);
        state = State.SENT;
        if (noBody) {
            return;
        }
        boolean ended = requestBody == Flow.ENDED;
        if (replay != null && !replay.isEmpty()) {
            // a retry: what was already read from the client goes first
            boolean trailers = ended && downstream.requestTrailers().isPresent();
            replay.writeTo(cs, ended && !trailers);
            if (trailers) {
                endRequestBody(cs, Unpooled.EMPTY_BUFFER);
            }
            if (ended) {
                return;
            }
        } else if (ended) {
            if (!bodyReplayable()) {
                // the body ended on an earlier attempt that was not replayable: cannot happen, see retryOrFinish
                finish(ProxyError.explain(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "request body lost"));
                return;
            }
            // a retry of an empty body (chunked "0"): the replay buffer holds no bytes, only the end goes again
            endRequestBody(cs, Unpooled.EMPTY_BUFFER);
            return;
        }
        if (chunk == null) {
            cs.flush();
        } // else the head leaves with the first filtered piece: a requestBodyFilter that answers then keeps it from the origin
        pumpRequestBody();
    }

    /**
     * The request that goes upstream for this attempt: a copy without hop-by-hop headers, in origin-form. A client's
     * {@code TE: trailers} stays (as that value only), for gRPC: an HTTP/2 connector sends it, an HTTP/1.1 one drops it.
     */
    private RequestHeader upstreamRequest() {
        RequestHeader req = downstream.request().copy();
        HopByHop.strip(req.headers());
        if (downstream.request().headers().containsToken(HeaderNames.TE, "trailers")) {
            req.headers().add(HeaderNames.TE, "trailers");
        }
        if (session.isUpgrade()) {
            // a genuine upgrade: the two hop-by-hop headers that ask the origin to switch go on, and nothing else
            req.headers().add(HeaderNames.CONNECTION, "upgrade");
            req.headers().add(HeaderNames.UPGRADE, downstream.request().headers().get(HeaderNames.UPGRADE).orElse(""));
        }
        req.setVersion(HttpVersion.HTTP_1_1);
        String target = req.target();
        if (!target.startsWith("/") && !target.equals("*")) {
            String path = req.path();
            req.setTarget(req.query().map(query -> path + '?' + query).orElse(path));
        }
        RequestHeader received = downstream.request();
        Hops.forwardMaxForwards(req, Hops.maxForwards(received));
        int hostAt = received.headers().indexOf(HeaderNames.HOST, 0); // no Optional per request
        engine.options.forwardedHeaders().apply(req.headers(), downstream.clientAddress(), "http",
                hostAt < 0 ? null : received.headers().value(hostAt));
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
        if (state.over() || requestBody == Flow.ENDED || requestBody == Flow.READING || upstream == null) {
            return;
        }
        if (!upstream.isWritable()) {
            requestBody = Flow.WAITING_WRITABLE;
            return;
        }
        requestBody = Flow.READING;
        downstream.readBody();
    }

    private void onRequestBody(ByteBuf data, boolean end) {
        requestBody = Flow.IDLE;
        if (state.over()) {
            data.release();
            return;
        }
        session.countRequestBody(data.readableBytes());
        if (session.requestBodyBytes() > session.maxRequestBody()) {
            data.release();
            if (!downstream.isResponseStarted()) {
                session.respond(413, "text/plain; charset=utf-8", "Content Too Large\n");
            }
            if (!downstream.isResponseDone()) {
                downstream.abort(); // a response under way cannot say 413 any more: the client sees it cut
            }
            finish(null); // the upstream request is abandoned with its connection
            return;
        }
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
        if (end) {
            requestBody = Flow.ENDED;
        }
        if (replay != null) {
            replay.keep(data);
        }
        ClientSession cs = upstream;
        if (cs == null || !state.requestWritten()) {
            // between attempts: the next attempt replays the buffer, which must hold this piece too
            data.release();
            if (!bodyReplayable()) {
                finish(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM,
                        "upstream failed and the request body is too large to replay"));
            }
            return;
        }
        if (end) {
            endRequestBody(cs, data);
            return;
        }
        cs.writeBody(data, false);
        cs.flush();
        pumpRequestBody();
    }

    /** Ends the upstream request body with {@code last}, and with the client's trailers when it sent some. */
    private void endRequestBody(ClientSession cs, ByteBuf last) {
        Optional<Headers> trailers = downstream.requestTrailers();
        if (trailers.isEmpty()) {
            cs.writeBody(last, true);
            return;
        }
        cs.writeBody(last, false);
        cs.writeTrailers(trailers.get()); // ends the body and flushes
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
    public void onUpgrade(ResponseHeader header) {
        if (state.over()) {
            return;
        }
        if (state != State.SENT || !session.isUpgrade()) {
            failUpstream(ProxyError.explain(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM,
                    "101 Switching Protocols to a request that did not ask to upgrade"));
            return;
        }
        switching = true;
        onResponseHeader(header);
    }

    @Override
    public void onResponseHeader(ResponseHeader header) {
        if (state.over()) {
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
        String switchedTo = switching ? header.headers().get(HeaderNames.UPGRADE)
                .orElseGet(() -> downstream.request().headers().get(HeaderNames.UPGRADE).orElse("")) : null;
        HopByHop.strip(header.headers());
        if (switchedTo != null) {
            header.headers().add(HeaderNames.CONNECTION, "upgrade");
            header.headers().add(HeaderNames.UPGRADE, switchedTo);
        }
        if (!engine.options.via().isEmpty()) {
            Hops.addVia(header, engine.options.via());
        }
        // once a response has started there is no retry of a body: the replay copy can go
        discardReplay();
        if (engine.responseBodyFiltered && !switching && !"HEAD".equals(downstream.request().method())) {
            header.headers().remove(HeaderNames.CONTENT_LENGTH);
            if (chunk == null) {
                chunk = new BodyChunk();
            }
        }
        state = State.RESPONSE_FILTER;
        responseHead = header;
        CompletionStage<Void> stage;
        try {
            stage = proxy.responseFilter(session, header, ctx);
        } catch (RuntimeException e) {
            failUpstream(filterFailed(state, e));
            return;
        }
        await(stage);
    }

    private void writeResponseHead() {
        ResponseHeader header = responseHead;
        responseHead = null;
        if (switching) {
            ClientSession cs = upstream;
            upstream = null;
            startTunnel(header, cs);
            return;
        }
        state = State.STREAMING;
        // a response that can have no body (HEAD, 204, 304, an HTTP/2 head that ended its stream such as gRPC's
        // trailers-only answer) ends with its head; the upstream's end is still read, to release it
        boolean headOnly = chunk == null && header.bodyLength() == BodyLength.NONE;
        session.writeResponseHeader(header, headOnly);
        if (chunk == null && !headOnly) {
            long spliced = upstream.spliceBody(downstream, ProxyOptions.SPLICE_MIN_BYTES);
            if (spliced >= 0) {
                splicedBytes = spliced; // the end of the body comes as onBody(empty, true)
                return;
            }
        }
        responseBody = Flow.READING;
        upstream.readBody();
    }

    // ---- tunnels

    /**
     * Whether {@code request} is a genuine upgrade request that {@code options} let through: HTTP/1.1, GET, no body,
     * {@code upgrade} among the tokens of {@code Connection}, exactly one {@code Upgrade} header, and its first protocol
     * allowed. Anything else is forwarded as a plain request, its Upgrade stripped with the other hop-by-hop headers.
     */
    static boolean asksToUpgrade(RequestHeader request, TunnelOptions options) {
        if (!options.upgrades() || request.version() != HttpVersion.HTTP_1_1 || !"GET".equals(request.method())
                || (request.bodyLength() != BodyLength.NONE && request.bodyLength() != 0)) {
            return false;
        }
        Headers h = request.headers();
        int at = h.indexOf(HeaderNames.UPGRADE, 0);
        if (at < 0 || h.indexOf(HeaderNames.UPGRADE, at + 1) >= 0 || !h.containsToken(HeaderNames.CONNECTION, "upgrade")) {
            return false;
        }
        String value = h.value(at);
        int end = 0;
        while (end < value.length() && value.charAt(end) != '/' && value.charAt(end) != ',' && value.charAt(end) != ' ') {
            end++;
        }
        return end > 0 && options.upgradeAllowed(value.substring(0, end));
    }

    /**
     * A CONNECT that the listener let through: a target in authority-form on the allow-list gets a TCP connection and,
     * once it is up, {@code 200 Connection Established} and a tunnel. Anything else is refused: 400 for a target in
     * another form, 403 (and a security event) for one the allow-list does not name, 502 or 504 when the connection
     * cannot be made.
     */
    private void connectTunnel() {
        RequestHeader request = downstream.request();
        ConnectTarget target = ConnectTarget.ofRequestTarget(request.target()).orElse(null);
        if (target == null) {
            SecurityEvents.record("connect-target-invalid", downstream.clientAddress(), downstream.serverAddress(), 400, request);
            finish(ProxyError.rejected(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM, "connect-target-invalid",
                    "a CONNECT target is host:port"));
            return;
        }
        if (!engine.options.tunnels().connectAllowed(target.host(), target.port())) {
            SecurityEvents.record("connect-not-allowed", downstream.clientAddress(), downstream.serverAddress(), 403, request);
            finish(ProxyError.rejected(new ErrorType.HttpStatus(403), ErrorSource.DOWNSTREAM, "connect-not-allowed",
                    "CONNECT to " + target + " is not on the allow-list"));
            return;
        }
        peer = HttpPeer.of(target.authority());
        state = State.CONNECTING;
        Future<ClientSession> f = engine.connector.connect(peer, loop, false);
        if (f.isDone()) {
            connectedForTunnel(f);
        } else {
            f.addListener(x -> connectedForTunnel(f));
        }
    }

    private void connectedForTunnel(Future<ClientSession> f) {
        if (state.over()) {
            if (f.isSuccess()) {
                f.getNow().abort();
            }
            return;
        }
        if (!f.isSuccess()) {
            finish(ProxyError.from(f.cause()).withRetry(Retry.NO));
            return;
        }
        ClientSession cs = f.getNow();
        session.peer(peer, false);
        try {
            startTunnel(ResponseHeader.of(200, "Connection Established", HttpVersion.HTTP_1_1, new Headers()), cs);
        } catch (RuntimeException e) {
            finish(ProxyError.because(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "opening a CONNECT tunnel", e));
        }
    }

    /** Turns both connections into a tunnel, {@code header} (a 101 or a 200) going to the client first. */
    private void startTunnel(ResponseHeader header, ClientSession cs) {
        state = State.TUNNEL;
        TunnelEnd up = cs.takeOver().orElse(null);
        if (up == null) {
            cs.abort();
            finish(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM,
                    "the upstream connection closed before the tunnel opened"));
            return;
        }
        TunnelEnd down = downstream.openTunnel(header).orElse(null);
        if (down == null) {
            up.close();
            finish(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.DOWNSTREAM,
                    "the client connection cannot become a tunnel"));
            return;
        }
        session.tunnelOpened(header);
        Tunnel.relay(down, up, engine.options.tunnels().idleTimeout()).whenComplete((stats, e) -> {
            if (stats != null) {
                session.tunnelEnded(stats);
            }
            finish(null);
        });
    }

    @Override
    public void onBody(ByteBuf data, boolean end) {
        if (state.over()) {
            data.release();
            return;
        }
        responseBody = end ? Flow.ENDED : Flow.IDLE;
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
        Optional<Headers> trailers = end && upstream != null ? upstream.responseTrailers() : Optional.empty();
        if (trailers.isPresent()) {
            try {
                proxy.responseTrailerFilter(session, trailers.get(), ctx);
            } catch (RuntimeException e) {
                data.release();
                failUpstream(filterFailed("responseTrailerFilter", e));
                return;
            }
            session.writeResponseBody(data, false);
            downstream.writeTrailers(trailers.get());
        } else {
            session.writeResponseBody(data, end);
        }
        if (end) {
            session.countSplicedBody(splicedBytes);
            ClientSession cs = upstream;
            upstream = null;
            if (requestBody != Flow.ENDED && downstream.hasRequestBody()) {
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
        if (state.over() || upstream == null) {
            return;
        }
        if (!downstream.isWritable()) {
            responseBody = Flow.WAITING_WRITABLE;
            return;
        }
        responseBody = Flow.READING;
        upstream.readBody();
    }

    @Override
    public void onWritable() {
        if (requestBody == Flow.WAITING_WRITABLE) {
            requestBody = Flow.IDLE;
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
        boolean written = cs != null && state.requestWritten();
        upstream = null;
        if (cs != null) {
            cs.abort();
        }
        if (state.over()) {
            return;
        }
        if (state == State.STREAMING) {
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
        if (RetryRule.mayRetry(e, reused, attempts, engine.options.maxRetries(), bodyReplayable())) {
            session.retried();
            log.debug("retrying {} after {}", summary(), e.getMessage());
            choosePeer();
            return;
        }
        finish(e);
    }

    /** Whether everything read of the request body so far is held for a replay (true without a body). */
    private boolean bodyReplayable() {
        return replay == null || replay.isComplete();
    }

    private void discardReplay() {
        if (replay != null) {
            replay.discard();
        }
    }

    // ---- downstream events

    private final class Downstream implements ServerSession.Handler {
        @Override
        public void onBody(ByteBuf data, boolean endOfStream) {
            onRequestBody(data, endOfStream);
        }

        @Override
        public void onWritable() {
            if (responseBody == Flow.WAITING_WRITABLE) {
                responseBody = Flow.IDLE;
                readMoreResponse();
            }
        }

        @Override
        public void onError(ProxyError error) {
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
        if (state.over()) {
            return;
        }
        state = State.DONE;
        discardReplay();
        if (chunk != null) {
            chunk.take().release();
        }
        responseHead = null;
        upstreamRequest = null;
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
            state = State.FAIL_TO_PROXY;
            failure = error;
            CompletionStage<Integer> stage;
            try {
                stage = proxy.failToProxy(session, error, ctx);
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            await(stage);
            return;
        }
        if (!downstream.isResponseDone()) {
            downstream.abort(); // the client must see that the response was cut short
        }
        logging(error);
    }

    private void afterFailToProxy(Throwable e) {
        ProxyError error = failure;
        state = State.DONE;
        if (e != null) {
            log.error("failToProxy failed for {}", summary(), e);
            if (!downstream.isResponseStarted() && downstream.isOpen()) {
                session.respondError(500); // its own page failed (a refused header, say): Merapi's instead
            }
        }
        if (!downstream.isResponseDone()) {
            downstream.abort(); // a page left unfinished is cut; no page at all closes the connection
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

    /**
     * Continues from the current state once {@code stage} completes, on this request's loop (see {@link #proceed}).
     * A stage that is already complete (the shared constants, {@link Stages#completed}, any finished
     * {@link CompletableFuture}) continues at once, without allocating. A later completion continues only if the call
     * is still in the state and attempt it was in when the phase was called.
     */
    private void await(CompletionStage<?> stage) {
        if (stage == Stages.DONE) {
            proceed(null, null);
            return;
        }
        if (stage == FilterResult.CONTINUE_STAGE) {
            proceed(FilterResult.CONTINUE, null);
            return;
        }
        if (stage == FilterResult.RESPONDED_STAGE) {
            proceed(FilterResult.RESPONDED, null);
            return;
        }
        if (stage == null) {
            proceed(null, new NullPointerException(state.phase + " returned null"));
            return;
        }
        // a plain CompletableFuture is read as it is; other stages (completedStage's among them) give a copy
        CompletableFuture<?> f = stage.getClass() == CompletableFuture.class ? (CompletableFuture<?>) stage
                : stage.toCompletableFuture();
        if (f.isDone() && loop.inEventLoop()) {
            resume(f);
            return;
        }
        State at = state;
        int attempt = attempts;
        f.whenComplete((v, t) -> {
            if (loop.inEventLoop()) {
                resumeIfStill(at, attempt, f);
            } else {
                loop.execute(() -> resumeIfStill(at, attempt, f));
            }
        });
    }

    private void resumeIfStill(State at, int attempt, CompletableFuture<?> f) {
        if (state == at && attempts == attempt) {
            resume(f);
        }
    }

    private void resume(CompletableFuture<?> f) {
        Object value;
        try {
            value = f.join();
        } catch (RuntimeException e) {
            proceed(null, e);
            return;
        }
        proceed(value, null);
    }

    private static ProxyError filterFailed(State state, Throwable e) {
        return filterFailed(state.phase, e);
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

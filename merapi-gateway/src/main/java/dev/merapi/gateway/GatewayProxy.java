package dev.merapi.gateway;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.gateway.config.GatewayConfig.Action;
import dev.merapi.gateway.config.GatewayConfig.Filters;
import dev.merapi.gateway.config.GatewayConfig.HeaderEdits;
import dev.merapi.gateway.config.GatewayConfig.Route;
import dev.merapi.gateway.config.PathNormalizer;
import dev.merapi.gateway.routing.Router;
import dev.merapi.http.Headers;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.proxy.FilterResult;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import dev.merapi.gateway.observability.AccessLog;
import dev.merapi.gateway.observability.GatewayMetrics;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import org.jspecify.annotations.Nullable;

/**
 * The gateway's {@link ProxyHttp}: routes each request by the configuration in force when it arrived, then proxies
 * it to the route's upstream group, redirects it or answers it. The snapshot is read once per request (in
 * {@link #requestFilter}) and kept in the context, so a reload ({@link #swap}) never changes a request midway.
 *
 * <p>Requests are routed on their normalised path ({@link PathNormalizer}) and forwarded with it; a path that
 * cannot be normalised (a bad percent-escape) is answered 400. A request no route takes is answered 404.
 *
 * <p>Every request carries an {@code X-Request-Id}: the client's when valid, else a new one; it goes upstream and
 * back to the client (unless {@code request-id.respond} is off). Every request is counted in {@link GatewayMetrics} by route, group and status class.
 *
 * <p>Threading: phases run on the session's event loop; {@link #swap} may be called from any thread.
 */
final class GatewayProxy implements ProxyHttp<GatewayProxy.Ctx> {
    private static final byte[] EMPTY = new byte[0];
    /** The request-id header: kept from the client when valid, else generated; sent upstream and back to the client. */
    static final String REQUEST_ID = "X-Request-Id";
    private final AtomicReference<GatewaySnapshot> current;
    private final GatewayMetrics metrics;
    private final Optional<AccessLog> accessLog;

    /** One request's state: the snapshot and route it was given, its upstream path, its lease on a backend. */
    static final class Ctx extends LeaseHolder {
        @Nullable String requestId;
        boolean returnRequestId;
        /** The request's origin when the route's CORS allows it; null otherwise. */
        @Nullable String corsOrigin;
        /** Times of the last attempt, in {@link Session#elapsedNanos()}: backend chosen, connection ready, response head; -1 before. */
        long peerChosenNanos = -1;
        long connectedNanos = -1;
        long firstByteNanos = -1;
        @Nullable Route route;
        GatewaySnapshot.@Nullable Group group;
        @Nullable String upstreamTarget;

        // the phases after requestFilter read what requestFilter set: a missing one is a bug, so it fails loudly

        String requestId() {
            return Objects.requireNonNull(requestId, "requestId is set by earlyRequestFilter");
        }

        Route route() {
            return Objects.requireNonNull(route, "route is set by requestFilter");
        }

        GatewaySnapshot.Group group() {
            return Objects.requireNonNull(group, "group is set by requestFilter for a proxied route");
        }

        String upstreamTarget() {
            return Objects.requireNonNull(upstreamTarget, "upstreamTarget is set by requestFilter for a proxied route");
        }
    }

    GatewayProxy(GatewaySnapshot initial, GatewayMetrics metrics, Optional<AccessLog> accessLog) {
        this.current = new AtomicReference<>(initial);
        this.metrics = metrics;
        this.accessLog = accessLog;
    }

    /** The snapshot new requests use. */
    GatewaySnapshot snapshot() {
        return current.get();
    }

    /** Makes {@code next} the snapshot of every request that arrives from now on; returns the one it replaced. */
    GatewaySnapshot swap(GatewaySnapshot next) {
        return current.getAndSet(next);
    }

    @Override
    public Ctx newCtx() {
        return new Ctx();
    }

    /** Decides the request id: the client's when it is 1 to 128 characters of letters, digits and {@code ._:-}, else a new one. */
    @Override
    public CompletionStage<Void> earlyRequestFilter(Session session, Ctx ctx) {
        RequestHeader req = session.requestHeader();
        String id = req.header(REQUEST_ID).orElse("");
        if (!validRequestId(id) || req.headers().count(REQUEST_ID) != 1) {
            id = newRequestId();
            req.headers().set(REQUEST_ID, id);
        }
        ctx.requestId = id;
        ctx.returnRequestId = current.get().config().requestId().respond();
        return Stages.DONE;
    }

    static boolean validRequestId(String id) {
        if (id.isEmpty() || id.length() > 128) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    /** 128 random bits in hex, from a DRBG per thread (no lock shared between event loops). */
    static String newRequestId() {
        SecureRandom r = RANDOM.get();
        return HexFormat.of().toHexDigits(r.nextLong()) + HexFormat.of().toHexDigits(r.nextLong());
    }

    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(() -> {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (java.security.NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    });

    @Override
    public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
        GatewaySnapshot snap = current.get(); // once per request: its route and group come from this snapshot
        RequestHeader req = session.requestHeader();
        if (isConnect(req)) {
            return FilterResult.CONTINUE_STAGE; // not routed: the listener's connect.allow decides (403 if not on it)
        }
        String path;
        try {
            path = PathNormalizer.normalize(req.path());
        } catch (IllegalArgumentException e) {
            session.respond(400, "text/plain; charset=utf-8", "Bad Request: " + e.getMessage() + "\n");
            return FilterResult.RESPONDED_STAGE;
        }
        boolean preflight = CorsFilter.isPreflight(req);
        // a preflight is routed as the request it announces, so that a route's methods match it
        RequestHeader routed = preflight ? req.copy().setMethod(req.header(CorsFilter.REQUEST_METHOD).orElse("").strip()) : req;
        Optional<Route> route = snap.router().route(routed, req.host().map(Router::hostOf).orElse(""), path);
        if (route.isEmpty()) {
            session.respond(404, "text/plain; charset=utf-8", "Not Found: no route for this request\n");
            return FilterResult.RESPONDED_STAGE;
        }
        Route r = route.get();
        ctx.route = r;
        Filters f = r.filters();
        if (f.cors().isPresent()) {
            if (preflight) {
                return answer(session, ctx, CorsFilter.preflight(f.cors().get(), req), EMPTY);
            }
            ctx.corsOrigin = CorsFilter.allowedOrigin(f.cors().get(), req).orElse(null);
        }
        if (f.maxRequestBody().isPresent()) {
            if (req.bodyLength() > f.maxRequestBody().getAsLong()) {
                session.respond(413, "text/plain; charset=utf-8", "Content Too Large\n");
                return FilterResult.RESPONDED_STAGE;
            }
            session.limitRequestBody(f.maxRequestBody().getAsLong()); // a chunked body is counted as it arrives
        }
        switch (r.action()) {
            case Action.Redirect redirect -> {
                return answer(session, ctx, ResponseHeader.of(redirect.status()).setHeader(HeaderNames.LOCATION, redirect.location()), EMPTY);
            }
            case Action.Respond respond -> {
                return answer(session, ctx, ResponseHeader.of(respond.status()).setHeader(HeaderNames.CONTENT_TYPE, respond.contentType()),
                        respond.body().getBytes(StandardCharsets.UTF_8));
            }
            case Action.Proxy proxy -> {
                ctx.group = snap.groups().get(proxy.upstream());
                ctx.upstreamTarget = upstreamPath(path, f) + req.query().map(q -> "?" + q).orElse("");
                return FilterResult.CONTINUE_STAGE;
            }
        }
    }

    /**
     * A CONNECT for a tunnel ({@code host:port}, which only reaches here on a listener with {@code connect.allow}), as
     * opposed to an extended CONNECT with a path, which is routed.
     */
    private static boolean isConnect(RequestHeader req) {
        return "CONNECT".equals(req.method()) && !req.target().startsWith("/");
    }

    /** Answers from the gateway (a redirect or a fixed response), with the request id and the route's response edits. */
    private static CompletionStage<FilterResult> answer(Session session, Ctx ctx, ResponseHeader h, byte[] body) {
        if (ctx.returnRequestId) {
            h.setHeader(REQUEST_ID, ctx.requestId());
        }
        String corsOrigin = ctx.corsOrigin;
        if (corsOrigin != null) {
            CorsFilter.onResponse(ctx.route().filters().cors().orElseThrow(), corsOrigin, h.headers());
        }
        edit(h.headers(), ctx.route().filters().responseHeaders());
        session.respond(h, body);
        return FilterResult.RESPONDED_STAGE;
    }

    /** The path that goes upstream: the normalised path, less {@code strip-prefix}, then rewritten. */
    static String upstreamPath(String path, Filters f) {
        String p = path;
        if (f.stripPrefix().isPresent()) {
            String prefix = f.stripPrefix().get();
            if (prefix.endsWith("/")) {
                prefix = prefix.substring(0, prefix.length() - 1);
            }
            if (p.startsWith(prefix) && (p.length() == prefix.length() || p.charAt(prefix.length()) == '/')) {
                p = p.substring(prefix.length());
                if (p.isEmpty()) {
                    p = "/";
                }
            }
        }
        if (f.rewrite().isPresent()) {
            Matcher m = f.rewrite().get().pattern().matcher(p);
            if (m.find()) {
                p = m.replaceFirst(f.rewrite().get().replacement());
            }
            if (!p.startsWith("/")) {
                p = "/" + p;
            }
        }
        return p;
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
        ctx.peerChosenNanos = session.elapsedNanos();
        GatewaySnapshot.Group g = ctx.group();
        Optional<Backend> backend = ctx.leaseNext(g.balancer(), g.hashKey(), session);
        if (backend.isEmpty()) {
            return Stages.failed(ProxyError.explain(ErrorType.Kind.NO_UPSTREAM, ErrorSource.UPSTREAM,
                    "no healthy backend in upstream group '" + g.spec().name() + "'"));
        }
        HttpPeer peer = g.peer(backend.get());
        Route route = ctx.route();
        if (route.filters().timeout().isPresent()) {
            peer = peer.withOptions(peer.options().toBuilder().readTimeout(route.filters().timeout().get()).build());
        }
        return Stages.completed(peer);
    }

    @Override
    public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, Ctx ctx) {
        upstreamRequest.setTarget(ctx.upstreamTarget());
        edit(upstreamRequest.headers(), ctx.route().filters().requestHeaders());
        return Stages.DONE;
    }

    @Override
    public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
        ctx.firstByteNanos = session.elapsedNanos();
        ctx.responded(upstreamResponse.status());
    }

    @Override
    public CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
        if (ctx.requestId != null && ctx.returnRequestId) {
            upstreamResponse.headers().set(REQUEST_ID, ctx.requestId);
        }
        if (ctx.route != null) {
            if (ctx.corsOrigin != null) {
                CorsFilter.onResponse(ctx.route.filters().cors().orElseThrow(), ctx.corsOrigin, upstreamResponse.headers());
            }
            edit(upstreamResponse.headers(), ctx.route.filters().responseHeaders());
        }
        return Stages.DONE;
    }

    @Override
    public CompletionStage<Void> connectedToUpstream(Session session, HttpPeer peer, boolean reused, Ctx ctx) {
        ctx.connectedNanos = session.elapsedNanos();
        metrics.upstreamConnection(ctx.group().spec().name(), reused);
        return Stages.DONE;
    }

    @Override
    public ProxyError failToConnect(Session session, HttpPeer peer, ProxyError e, Ctx ctx) {
        ctx.failed();
        metrics.connectError(ctx.group().spec().name());
        return withinRetries(session, ctx, e);
    }

    @Override
    public ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reused, Ctx ctx) {
        ctx.failed();
        ProxyError decided = session.isRequestIdempotent() && !session.isResponseStarted()
                ? e.withRetry(Retry.YES) : ProxyHttp.super.errorWhileProxy(session, peer, e, reused, ctx);
        return withinRetries(session, ctx, decided);
    }

    /** The group's {@code retries} bounds the retries of its requests. */
    private static ProxyError withinRetries(Session session, Ctx ctx, ProxyError e) {
        return ctx.group != null && session.retries() >= ctx.group.spec().retries() ? e.withRetry(Retry.NO) : e;
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
        ctx.release();
        String route = ctx.route == null ? "none" : ctx.route.name();
        String group = ctx.group == null ? "" : ctx.group.spec().name();
        metrics.request(route, group, session.responseStatus(), session.elapsedNanos(), session.retries());
        if (error.isPresent() && error.get().source() == ErrorSource.UPSTREAM && ctx.group != null) {
            metrics.upstreamError(group, error.get().type() instanceof ErrorType.Kind k ? k.name().toLowerCase(Locale.ROOT) : "other");
        }
        if (accessLog.isPresent()) {
            accessLog.get().log(new AccessLog.Entry(session.requestHeader(), session.clientAddress(), session.responseStatus(),
                    session.requestBodyBytes(), session.responseBodyBytes(), session.elapsedNanos(),
                    session.upstreamPeer().map(p -> dev.merapi.core.listeners.ListenerConfig.describe(p.address())).orElse(""), route,
                    session.retries(), ctx.requestId == null ? "" : ctx.requestId, error.map(x -> String.valueOf(x.type())).orElse(""),
                    ctx.connectedNanos < 0 ? -1 : ctx.connectedNanos - ctx.peerChosenNanos,
                    ctx.firstByteNanos < 0 || ctx.connectedNanos < 0 ? -1 : ctx.firstByteNanos - ctx.connectedNanos,
                    session.isUpstreamReused(), session.tls().map(dev.merapi.core.tls.TlsInfo::protocol)));
        }
    }

    /** Applies header edits: remove, then set, then add. */
    static void edit(Headers headers, HeaderEdits edits) {
        if (edits.isEmpty()) {
            return;
        }
        for (String name : edits.remove()) {
            headers.remove(name);
        }
        for (Map.Entry<String, String> e : edits.set().entrySet()) {
            headers.set(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : edits.add().entrySet()) {
            headers.add(e.getKey(), e.getValue());
        }
    }
}

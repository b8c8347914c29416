package dev.merapi.proxy;

import dev.merapi.core.connectors.Connector;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.services.ListeningService;
import dev.merapi.http.Http1Limits;
import java.util.Objects;

/**
 * The proxy engine: runs the phases of a {@link ProxyHttp} for every request, connects upstream through a
 * per-loop pooled {@link Connector}, streams bodies both ways with backpressure, retries what is safe to
 * retry, and turns failures into responses.
 *
 * <p>{@link #service(String, ProxyHttp, ProxyOptions)} is the way to run one: it makes the engine and the
 * listening service that feeds it requests.
 * <pre>{@code
 * Server server = new Server();
 * server.addService(HttpProxy.service("proxy", new MyProxy(), ProxyOptions.DEFAULT).addTcp("0.0.0.0:8080"));
 * server.run();
 * }</pre>
 * {@link #of(ProxyHttp, ProxyOptions)} makes the engine alone, for a test or for a {@link ListeningService} built
 * by hand.
 *
 * @param <C> the per-request context type of the {@link ProxyHttp}
 */
public final class HttpProxy<C> implements HttpServerApp {
    final ProxyHttp<C> proxy;
    final ProxyOptions options;
    final Connector connector;
    final boolean requestBodyFiltered;
    final boolean responseBodyFiltered;

    private HttpProxy(ProxyHttp<C> proxy, ProxyOptions options) {
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.options = Objects.requireNonNull(options, "options");
        // phases left at their defaults are skipped: no chunk holder, and the upstream framing is kept
        this.requestBodyFiltered = overrides(proxy, "requestBodyFilter", Session.class, BodyChunk.class, boolean.class, Object.class);
        this.responseBodyFiltered = overrides(proxy, "upstreamResponseBodyFilter", Session.class, BodyChunk.class, boolean.class, Object.class)
                || overrides(proxy, "responseBodyFilter", Session.class, BodyChunk.class, boolean.class, Object.class);
        // a body that a filter sees must pass through the JVM, so only an unfiltered one is spliced
        // the connector takes the transport of the loop each connection is opened on: the server's, never another
        this.connector = new Connector(options.maxIdleUpstreamPerLoop(), Http1Limits.DEFAULT,
                options.splice() && !responseBodyFiltered, options.maxSplicePipesPerLoop());
    }

    /** An engine for {@code proxy} with the default options. */
    public static <C> HttpProxy<C> of(ProxyHttp<C> proxy) {
        return new HttpProxy<>(proxy, ProxyOptions.DEFAULT);
    }

    /** An engine for {@code proxy}. */
    public static <C> HttpProxy<C> of(ProxyHttp<C> proxy, ProxyOptions options) {
        return new HttpProxy<>(proxy, options);
    }

    /**
     * A listening service that runs {@code proxy} with {@code options}; add listeners (and, if needed,
     * {@link ListeningService#http1Options} or a {@link ListeningService#connectionFilter}) to it, then add it to a
     * server.
     *
     * @param name the service's name in logs
     */
    public static <C> ListeningService service(String name, ProxyHttp<C> proxy, ProxyOptions options) {
        return ListeningService.http(name, of(proxy, options));
    }

    /** {@link #service(String, ProxyHttp, ProxyOptions)} with {@link ProxyOptions#DEFAULT}. */
    public static <C> ListeningService service(String name, ProxyHttp<C> proxy) {
        return service(name, proxy, ProxyOptions.DEFAULT);
    }

    /** The upstream connector, with its pool and reuse counters. */
    public Connector connector() {
        return connector;
    }

    /** The options. */
    public ProxyOptions options() {
        return options;
    }

    @Override
    public void onRequest(ServerSession session) {
        new ProxyCall<>(this, session).start();
    }

    private static boolean overrides(Object impl, String name, Class<?>... params) {
        try {
            return impl.getClass().getMethod(name, params).getDeclaringClass() != ProxyHttp.class;
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("ProxyHttp has no method " + name, e);
        }
    }
}

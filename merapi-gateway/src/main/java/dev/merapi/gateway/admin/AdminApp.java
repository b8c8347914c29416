package dev.merapi.gateway.admin;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.gateway.config.GatewayConfig.Admin;
import dev.merapi.gateway.observability.GatewayMetrics;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The admin listener: {@code GET /livez} (200 while the process runs), {@code GET /readyz} (200 once the listeners
 * are bound and the first health checks are done, 503 before and during shutdown), {@code GET /metrics}
 * (Prometheus text), all three open to whoever can reach the listener, and the authenticated admin API under
 * {@code /api/v1/} ({@link AdminApi}). Anything else is 404; a method other than GET or HEAD outside the API is 405.
 * It listens on loopback by default ({@code admin.address}). Runs on the event loop; a scrape formats the registry
 * there, which is proportional to the number of label sets.
 */
public final class AdminApp implements HttpServerApp, AutoCloseable {
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private final GatewayMetrics metrics;
    private final BooleanSupplier ready;
    private final AdminApi api;

    private AdminApp(GatewayMetrics metrics, BooleanSupplier ready, AdminApi api) {
        this.metrics = metrics;
        this.ready = ready;
        this.api = api;
    }

    /**
     * The admin listener's app for a gateway.
     *
     * @throws IllegalArgumentException if the audit log cannot be opened
     */
    public static AdminApp of(GatewayMetrics metrics, BooleanSupplier ready, Admin config, GatewayControl gateway) {
        return new AdminApp(metrics, ready, AdminApi.of(config, gateway, ready));
    }

    @Override
    public void onRequest(ServerSession session) {
        if (AdminApi.handles(session.request().path())) {
            api.handle(session);
        } else {
            WholeRequest.thenAnswer(session, this::answer);
        }
    }

    /**
     * Puts the admin API credentials (tokens, client identities, {@code require-both}) of {@code next} in force, at
     * once; see {@link AdminApi#credentials(Admin)}. The listener's address and TLS, the audit log and the body limit
     * stay those of the start. Thread-safe.
     */
    public void credentials(Admin next) {
        api.credentials(next);
    }

    /** Stops the admin API's threads and closes its audit log. */
    @Override
    public void close() {
        api.close();
    }

    private void answer(ServerSession session) {
        String method = session.request().method();
        String path = session.request().path();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            write(session, 405, "text/plain; charset=utf-8", "Method Not Allowed\n");
            return;
        }
        switch (path) {
            case "/livez" -> write(session, 200, "text/plain; charset=utf-8", "ok\n");
            case "/readyz" -> {
                boolean r = ready.getAsBoolean();
                write(session, r ? 200 : 503, "text/plain; charset=utf-8", r ? "ready\n" : "not ready\n");
            }
            case "/metrics" -> write(session, 200, PROMETHEUS_TEXT, metrics.scrape());
            default -> write(session, 404, "text/plain; charset=utf-8", "Not Found\n");
        }
    }

    private static void write(ServerSession session, int status, String type, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ResponseHeader h = ResponseHeader.of(status);
        h.headers().add(HeaderNames.CONTENT_TYPE, type);
        h.headers().add(HeaderNames.CONTENT_LENGTH, Integer.toString(bytes.length));
        h.headers().add("Cache-Control", "no-store");
        boolean head = session.request().method().equals("HEAD");
        session.writeResponseHeader(h, head);
        if (!head) {
            session.writeBody(Unpooled.wrappedBuffer(bytes), true);
        }
    }
}

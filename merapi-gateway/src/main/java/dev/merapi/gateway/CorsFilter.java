package dev.merapi.gateway;

import dev.merapi.gateway.config.GatewayConfig.Cors;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A route's CORS ({@link Cors}): answers preflights at the gateway and adds {@code Access-Control-*} to the
 * responses of allowed origins. A request without {@code Origin} is left alone; so is one from an origin the route
 * does not allow (the browser then refuses the response, as CORS intends). Stateless; runs on the event loop.
 */
final class CorsFilter {
    static final String ORIGIN = "Origin";
    static final String REQUEST_METHOD = "Access-Control-Request-Method";
    static final String REQUEST_HEADERS = "Access-Control-Request-Headers";

    private CorsFilter() {
    }

    /** Whether {@code req} is a preflight: {@code OPTIONS} with {@code Origin} and {@code Access-Control-Request-Method}. */
    static boolean isPreflight(RequestHeader req) {
        return req.method().equals("OPTIONS") && req.headers().contains(ORIGIN) && req.headers().contains(REQUEST_METHOD);
    }

    /** The request's origin if {@code cors} allows it. */
    static Optional<String> allowedOrigin(Cors cors, RequestHeader req) {
        Optional<String> announced = req.header(ORIGIN);
        if (announced.isEmpty() || req.headers().count(ORIGIN) != 1) {
            return Optional.empty();
        }
        String origin = announced.get();
        if (cors.anyOrigin()) {
            return Optional.of(origin);
        }
        for (String o : cors.allowOrigins()) {
            if (o.equalsIgnoreCase(origin)) {
                return Optional.of(origin);
            }
        }
        return Optional.empty();
    }

    /**
     * The answer to a preflight: 204 with what the route allows when the origin, the method and every announced
     * header are allowed; else 403, which no browser takes as a permission.
     */
    static ResponseHeader preflight(Cors cors, RequestHeader req) {
        Optional<String> origin = allowedOrigin(cors, req);
        String method = req.header(REQUEST_METHOD).orElse("").strip();
        List<String> asked = announcedHeaders(req);
        @Nullable String refused = origin.isEmpty() ? "origin not allowed"
                : !cors.allowMethods().contains(method) ? "method not allowed"
                : !headersAllowed(cors, asked) ? "header not allowed" : null;
        if (refused != null) {
            ResponseHeader h = ResponseHeader.of(403);
            h.headers().set("Content-Type", "text/plain; charset=utf-8");
            h.headers().add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
            return h;
        }
        ResponseHeader h = ResponseHeader.of(204);
        Headers out = h.headers();
        allowOrigin(cors, origin.get(), out);
        out.set("Access-Control-Allow-Methods", String.join(", ", cors.allowMethods()));
        if (!asked.isEmpty()) {
            out.set("Access-Control-Allow-Headers", cors.allowHeaders().contains("*") ? String.join(", ", asked)
                    : String.join(", ", cors.allowHeaders()));
        }
        out.set("Access-Control-Max-Age", Long.toString(cors.maxAge().toSeconds()));
        out.add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers");
        return h;
    }

    /** Adds {@code Access-Control-*} for an allowed origin to a response (proxied, redirect or fixed). */
    static void onResponse(Cors cors, String origin, Headers out) {
        allowOrigin(cors, origin, out);
        if (!cors.exposeHeaders().isEmpty()) {
            out.set("Access-Control-Expose-Headers", String.join(", ", cors.exposeHeaders()));
        }
    }

    private static void allowOrigin(Cors cors, String origin, Headers out) {
        if (cors.anyOrigin() && !cors.allowCredentials()) {
            out.set("Access-Control-Allow-Origin", "*");
        } else {
            out.set("Access-Control-Allow-Origin", origin);
            out.add("Vary", "Origin"); // the answer depends on the origin: caches must keep one per origin
        }
        if (cors.allowCredentials()) {
            out.set("Access-Control-Allow-Credentials", "true");
        }
    }

    private static List<String> announcedHeaders(RequestHeader req) {
        List<String> out = new ArrayList<>();
        @Nullable String v = req.header(REQUEST_HEADERS).orElse(null);
        if (v != null) {
            for (String name : v.split(",")) {
                if (!name.isBlank()) {
                    out.add(name.strip().toLowerCase(Locale.ROOT));
                }
            }
        }
        return out;
    }

    private static boolean headersAllowed(Cors cors, List<String> asked) {
        if (cors.allowHeaders().contains("*")) {
            return true;
        }
        for (String a : asked) {
            if (cors.allowHeaders().stream().noneMatch(h -> h.equalsIgnoreCase(a))) {
                return false;
            }
        }
        return true;
    }
}

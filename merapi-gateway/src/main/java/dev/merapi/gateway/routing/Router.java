package dev.merapi.gateway.routing;

import dev.merapi.gateway.config.GatewayConfig.Match;
import dev.merapi.gateway.config.GatewayConfig.PathMatch;
import dev.merapi.gateway.config.GatewayConfig.Route;
import dev.merapi.http.RequestHeader;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Chooses the route of a request: the most specific match wins.
 * <ol>
 *   <li>Host: routes for the exact host first, then wildcard routes from the longest suffix
 *       ({@code *.api.example.com} before {@code *.example.com}), then routes with no host.</li>
 *   <li>Within one host tier: an exact path first, then the longest path prefix (at a segment boundary), then
 *       regular expressions in file order.</li>
 *   <li>Routes with the same host and path keep file order; the first whose methods, headers and query all match
 *       wins. A tier with no match falls through to the next one.</li>
 * </ol>
 * Cost: one hash lookup per host label and one per path segment, whatever the number of routes; regex routes
 * are tried one by one, so keep them few. Immutable and thread-safe once built.
 */
public final class Router {
    private final Map<String, Table> exactHosts = new HashMap<>();
    private final Map<String, Table> wildcardHosts = new HashMap<>(); // by the suffix after "*."
    private final Table anyHost = new Table();

    private Router(List<Route> routes) {
        for (Route r : routes) {
            Optional<String> host = r.match().host();
            Table t = host.isEmpty() ? anyHost
                    : host.get().startsWith("*.") ? wildcardHosts.computeIfAbsent(host.get().substring(2), k -> new Table())
                    : exactHosts.computeIfAbsent(host.get(), k -> new Table());
            t.add(r);
        }
    }

    /** A router over {@code routes}, which keep their file order where specificity ties. */
    public static Router of(List<Route> routes) {
        return new Router(routes);
    }

    /**
     * The route of a request, if any.
     *
     * @param request the request, for its method, headers and query
     * @param host the host it is for, lower case, without a port
     * @param path its normalised path ({@link dev.merapi.gateway.config.PathNormalizer})
     */
    public Optional<Route> route(RequestHeader request, String host, String path) {
        Table t = exactHosts.get(host);
        Route r;
        if (t != null && (r = t.find(request, path)) != null) {
            return Optional.of(r);
        }
        if (!wildcardHosts.isEmpty()) {
            for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
                t = wildcardHosts.get(host.substring(dot + 1));
                if (t != null && (r = t.find(request, path)) != null) {
                    return Optional.of(r);
                }
            }
        }
        return Optional.ofNullable(anyHost.find(request, path));
    }

    /** The host of a Host header value: lower case, without the port. */
    public static String hostOf(String hostHeader) {
        if (hostHeader == null) {
            return "";
        }
        String h = hostHeader;
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return (end > 0 ? h.substring(0, end + 1) : h).toLowerCase(Locale.ROOT);
        }
        int colon = h.indexOf(':');
        return (colon >= 0 ? h.substring(0, colon) : h).toLowerCase(Locale.ROOT);
    }

    /** The routes of one host tier. */
    private static final class Table {
        private final Map<String, List<Route>> exact = new HashMap<>();
        private final Node prefixes = new Node();
        private final List<Route> regexes = new ArrayList<>();

        void add(Route r) {
            switch (r.match().path()) {
                case PathMatch.Any a -> prefixes.routes.add(r);
                case PathMatch.Exact e -> exact.computeIfAbsent(e.path(), k -> new ArrayList<>()).add(r);
                case PathMatch.Prefix p -> {
                    Node n = prefixes;
                    for (String seg : segments(p.prefix())) {
                        n = n.children.computeIfAbsent(seg, k -> new Node());
                    }
                    n.routes.add(r);
                }
                case PathMatch.Regex x -> regexes.add(r);
            }
        }

        @Nullable Route find(RequestHeader request, String path) {
            List<Route> candidates = exact.get(path);
            Route r;
            if (candidates != null && (r = first(candidates, request)) != null) {
                return r;
            }
            r = deepest(prefixes, path, 1, request);
            if (r != null) {
                return r;
            }
            for (Route x : regexes) {
                if (((PathMatch.Regex) x.match().path()).pattern().matcher(path).matches() && conditions(x.match(), request)) {
                    return x;
                }
            }
            return null;
        }

        /** The route of the deepest prefix node on {@code path} (from {@code from}) whose conditions hold. */
        private static @Nullable Route deepest(Node n, String path, int from, RequestHeader request) {
            if (from <= path.length() && !n.children.isEmpty()) {
                int end = path.indexOf('/', from);
                String seg = end < 0 ? path.substring(from) : path.substring(from, end);
                Node child = n.children.get(seg);
                if (child != null) {
                    Route r = deepest(child, path, end < 0 ? path.length() + 1 : end + 1, request);
                    if (r != null) {
                        return r;
                    }
                }
            }
            return first(n.routes, request);
        }
    }

    /** One node of the prefix trie: a path segment. */
    private static final class Node {
        final Map<String, Node> children = new HashMap<>();
        final List<Route> routes = new ArrayList<>();
    }

    private static List<String> segments(String prefix) {
        List<String> out = new ArrayList<>();
        for (String s : prefix.split("/")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    private static @Nullable Route first(List<Route> routes, RequestHeader request) {
        for (Route r : routes) {
            if (conditions(r.match(), request)) {
                return r;
            }
        }
        return null;
    }

    private static boolean conditions(Match m, RequestHeader request) {
        if (!m.methods().isEmpty() && !m.methods().contains(request.method())) {
            return false;
        }
        for (Map.Entry<String, String> h : m.headers().entrySet()) {
            if (!request.header(h.getKey()).filter(h.getValue()::equals).isPresent()) {
                return false;
            }
        }
        if (!m.query().isEmpty()) {
            Map<String, String> q = query(request.query().orElse(""));
            for (Map.Entry<String, String> e : m.query().entrySet()) {
                if (!e.getValue().equals(q.get(e.getKey()))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The first value of each parameter of a raw query, decoded; a parameter that does not decode is left out. */
    static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            try {
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                out.putIfAbsent(k, v);
            } catch (IllegalArgumentException e) {
                // a bad escape: this parameter matches nothing
            }
        }
        return out;
    }
}

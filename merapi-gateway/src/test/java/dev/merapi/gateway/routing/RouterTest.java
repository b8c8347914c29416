package dev.merapi.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.PathNormalizer;
import dev.merapi.gateway.config.GatewayConfig.Route;
import dev.merapi.http.RequestHeader;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link Router}: the documented precedence (docs/configuration.md, "Route precedence"), rule by rule. */
class RouterTest {

    private static Router router(String routes) {
        GatewayConfig c = ConfigLoader.withEnvironment(Map.<String, String>of()::get).parse("""
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: u, backends: ["127.0.0.1:9"]}]
                routes:
                """ + routes, "t.yaml", Path.of("."));
        return Router.of(c.routes());
    }

    private static String route(Router r, String method, String host, String target, String... headers) {
        RequestHeader req = RequestHeader.of(method, target);
        for (int i = 0; i < headers.length; i += 2) {
            req.headers().add(headers[i], headers[i + 1]);
        }
        return r.route(req, host, PathNormalizer.normalize(req.path())).map(Route::name).orElse("none");
    }

    @Test
    void exactHostBeatsWildcardWhichBeatsAnyHost() {
        Router r = router("""
                  - {name: any, upstream: u}
                  - {name: wild, match: {host: "*.example.com"}, upstream: u}
                  - {name: deeper, match: {host: "*.api.example.com"}, upstream: u}
                  - {name: exact, match: {host: api.example.com}, upstream: u}
                """);

        assertThat(route(r, "GET", "api.example.com", "/")).isEqualTo("exact");
        assertThat(route(r, "GET", "v1.api.example.com", "/")).isEqualTo("deeper");
        assertThat(route(r, "GET", "www.example.com", "/")).isEqualTo("wild");
        assertThat(route(r, "GET", "a.b.example.com", "/")).isEqualTo("wild");
        assertThat(route(r, "GET", "example.com", "/")).isEqualTo("any");
        assertThat(route(r, "GET", "other.org", "/")).isEqualTo("any");
    }

    @Test
    void exactPathBeatsLongestPrefixWhichBeatsShorterPrefixAndRegex() {
        Router r = router("""
                  - {name: regex, match: {path-regex: "/api/.*"}, upstream: u}
                  - {name: root, match: {path-prefix: /}, upstream: u}
                  - {name: api, match: {path-prefix: /api}, upstream: u}
                  - {name: users, match: {path-prefix: /api/users}, upstream: u}
                  - {name: me, match: {path: /api/users/me}, upstream: u}
                """);

        assertThat(route(r, "GET", "h", "/api/users/me")).isEqualTo("me");
        assertThat(route(r, "GET", "h", "/api/users/42")).isEqualTo("users");
        assertThat(route(r, "GET", "h", "/api/users")).isEqualTo("users");
        assertThat(route(r, "GET", "h", "/api/orders")).isEqualTo("api");
        assertThat(route(r, "GET", "h", "/apiary")).isEqualTo("root");
        assertThat(route(r, "GET", "h", "/")).isEqualTo("root");
    }

    @Test
    void aPrefixMatchesOnlyAtASegmentBoundary() {
        Router r = router("  - {name: api, match: {path-prefix: /api}, upstream: u}\n");

        assertThat(route(r, "GET", "h", "/api")).isEqualTo("api");
        assertThat(route(r, "GET", "h", "/api/")).isEqualTo("api");
        assertThat(route(r, "GET", "h", "/api/x?y=1")).isEqualTo("api");
        assertThat(route(r, "GET", "h", "/apix")).isEqualTo("none");
    }

    @Test
    void regexRoutesAreTriedInFileOrderAfterPrefixes() {
        Router r = router("""
                  - {name: first, match: {path-regex: "/v[0-9]+/.*"}, upstream: u}
                  - {name: second, match: {path-regex: "/v1/.*"}, upstream: u}
                """);

        assertThat(route(r, "GET", "h", "/v1/x")).isEqualTo("first");
        assertThat(route(r, "GET", "h", "/v1")).isEqualTo("none");
    }

    @Test
    void methodHeaderAndQueryConditionsFallThroughInFileOrder() {
        Router r = router("""
                  - {name: writes, match: {path-prefix: /api, methods: [POST, PUT]}, upstream: u}
                  - {name: canary, match: {path-prefix: /api, headers: {X-Canary: "1"}}, upstream: u}
                  - {name: debug, match: {path-prefix: /api, query: {debug: "on"}}, upstream: u}
                  - {name: rest, match: {path-prefix: /api}, upstream: u}
                  - {name: fallback, upstream: u}
                """);

        assertThat(route(r, "POST", "h", "/api/x")).isEqualTo("writes");
        assertThat(route(r, "GET", "h", "/api/x", "x-canary", "1")).isEqualTo("canary");
        assertThat(route(r, "GET", "h", "/api/x", "X-Canary", "2")).isEqualTo("rest");
        assertThat(route(r, "GET", "h", "/api/x?a=b&debug=on")).isEqualTo("debug");
        assertThat(route(r, "GET", "h", "/api/x?debug=off")).isEqualTo("rest");
        assertThat(route(r, "GET", "h", "/other")).isEqualTo("fallback");
    }

    @Test
    void aHostTierWithNoMatchingRouteFallsThroughToTheNext() {
        Router r = router("""
                  - {name: host-get, match: {host: a.example.com, methods: [GET]}, upstream: u}
                  - {name: any, upstream: u}
                """);

        assertThat(route(r, "GET", "a.example.com", "/")).isEqualTo("host-get");
        assertThat(route(r, "DELETE", "a.example.com", "/")).isEqualTo("any");
    }

    @Test
    void disguisedPathsReachOnlyWhatTheNormalisedPathReaches() {
        Router r = router("""
                  - {name: admin, match: {path-prefix: /admin}, respond: {status: 403}}
                  - {name: api, match: {path-prefix: /api}, upstream: u}
                """);

        for (String raw : new String[] {"/api/../admin", "/%2e%2e/admin", "//admin", "/api/%2E%2E/admin/x", "/./admin"}) {
            assertThat(route(r, "GET", "h", raw)).as(raw).isEqualTo("admin");
        }
        assertThat(route(r, "GET", "h", "/api/..%2Fadmin")).isEqualTo("api"); // an encoded slash does not split a segment
    }

    @Test
    void hostOfDropsThePortAndCase() {
        assertThat(Router.hostOf("API.Example.com:8443")).isEqualTo("api.example.com");
        assertThat(Router.hostOf("[::1]:8080")).isEqualTo("[::1]");
        assertThat(Router.hostOf(null)).isEmpty();
    }
}

package dev.merapi.benchmarks;

import dev.merapi.gateway.config.GatewayConfig.Action;
import dev.merapi.gateway.config.GatewayConfig.Filters;
import dev.merapi.gateway.config.GatewayConfig.Match;
import dev.merapi.gateway.config.GatewayConfig.PathMatch;
import dev.merapi.gateway.config.GatewayConfig.Route;
import dev.merapi.gateway.config.PathNormalizer;
import dev.merapi.gateway.routing.Router;
import dev.merapi.http.RequestHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One route lookup of the gateway ({@link Router#route} after {@link PathNormalizer#normalize}) per operation, over
 * 10, 1,000 and 10,000 routes: a third on exact hosts, a third on wildcard hosts, a third path prefixes on any host,
 * each with its own two-segment prefix. Requests cycle through 1,024 that hit routes spread over the whole set, plus
 * a miss. The cost should stay flat as routes grow: host and prefix matching are hash lookups per label and segment.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouterBenchmark {
    @Param({"10", "1000", "10000"})
    public int routes;

    private Router router;
    private RequestHeader[] requests;
    private String[] hosts;
    private int next;

    @Setup
    public void setUp() {
        List<Route> list = new ArrayList<>();
        for (int i = 0; i < routes; i++) {
            Optional<String> host = switch (i % 3) {
                case 0 -> Optional.of("h" + i + ".example.com");
                case 1 -> Optional.of("*.w" + i + ".example.com");
                default -> Optional.empty();
            };
            list.add(new Route("r" + i, new Match(host, new PathMatch.Prefix("/svc" + i + "/v1"), Set.of(), Map.of(), Map.of()),
                    new Action.Proxy("u"), Filters.NONE));
        }
        router = Router.of(list);
        requests = new RequestHeader[1024];
        hosts = new String[1024];
        for (int j = 0; j < 1024; j++) {
            int i = (int) ((long) j * routes / 1024);
            requests[j] = RequestHeader.of("GET", j == 1023 ? "/nowhere/at/all" : "/svc" + i + "/v1/items/" + j + "?q=1");
            hosts[j] = switch (i % 3) {
                case 0 -> "h" + i + ".example.com";
                case 1 -> "a.w" + i + ".example.com";
                default -> "other.example.org";
            };
        }
    }

    @Benchmark
    public Optional<Route> route() {
        int j = next++ & 1023;
        RequestHeader r = requests[j];
        return router.route(r, hosts[j], PathNormalizer.normalize(r.path()));
    }
}

package dev.merapi.loadbalancing.selection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merapi's ketama against nginx's {@code hash $request_uri consistent}: a real nginx with an {@code upstream} block
 * over the same backends and weights, the same keys sent through it, and every key must land on the backend
 * Merapi's balancer chooses.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KetamaNginxIT {
    private static final Path NGINX = Path.of("/usr/sbin/nginx");
    private static final int KEYS = 2_000;

    @TempDir
    Path dir;

    @Test
    void everyKeyLandsOnTheBackendNginxChooses() throws Exception {
        assumeTrue(Files.isExecutable(NGINX), "nginx is not installed (apt-get install nginx-light)");
        int[] weights = {1, 3, 2, 1, 5};
        List<MockOrigin> origins = new ArrayList<>();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        try {
            List<Backend> backends = new ArrayList<>();
            for (int i = 0; i < weights.length; i++) {
                MockOrigin o = MockOrigin.start();
                String name = "127.0.0.1:" + o.port();
                o.setDispatcher(request -> MockResponse.ok(name));
                origins.add(o);
                backends.add(Backend.of(name, weights[i]));
            }
            String servers = backends.stream().map(b -> "        server " + b.name() + " weight=" + b.weight() + ";")
                    .collect(Collectors.joining("\n"));
            try (ExternalServer nginx = ExternalServer.nginx(NGINX, dir, port -> """
                    upstream pool {
                        hash $request_uri consistent;
                    %s
                        keepalive 8;
                    }
                    server {
                        listen 127.0.0.1:%d;
                        location / {
                            proxy_pass http://pool;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                        }
                    }
                    """.formatted(servers, port))) {
                LoadBalancer lb = LoadBalancer.of(SelectionAlgorithm.ketama(), backends);
                Map<String, Integer> perBackend = new HashMap<>();
                List<String> mismatches = new ArrayList<>();
                for (int k = 0; k < KEYS; k++) {
                    String uri = "/objects/" + k + "?v=" + (k * 7919 % 1000);
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nginx.port() + uri))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).isEqualTo(200);
                    String merapi = lb.select(uri).orElseThrow().name();
                    if (!merapi.equals(r.body())) {
                        mismatches.add(uri + ": nginx " + r.body() + ", merapi " + merapi);
                    }
                    perBackend.merge(r.body(), 1, Integer::sum);
                }
                assertThat(mismatches).isEmpty();
                assertThat(perBackend).as("every backend gets keys").hasSize(weights.length);
            }
        } finally {
            client.shutdownNow();
            origins.forEach(MockOrigin::close);
        }
    }
}

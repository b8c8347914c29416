package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code merapi} with no command, as a real process: the built-in configuration with the proxy in front of the demo
 * origin and the admin listener beside it, and the README's quick start.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EmbeddedDefaultIT {
    private static final Pattern URL = Pattern.compile("(http://\\S+)");

    @Test
    void theReadmeQuickStartShowsWhatCurlPrints() throws Exception {
        Path curl = Path.of("/usr/bin/curl");
        String readme = Files.readString(Path.of("..", "README.md"));
        String block = readme.substring(readme.indexOf("$ curl -i http://127.0.0.1:8080/\n") + "$ curl -i http://127.0.0.1:8080/\n".length());
        block = block.substring(0, block.indexOf("```"));
        String[] parts = block.split("\n\n", 2);
        List<String> readmeHead = List.of(parts[0].split("\n"));
        String readmeBody = parts[1];
        assertThat(readmeHead).contains("Content-Length: " + readmeBody.getBytes(StandardCharsets.UTF_8).length);

        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("--listen", "127.0.0.1:" + port, "--admin", "127.0.0.1:0", "--threads", "1")) {
            gateway.awaitLine("Try it:", Duration.ofSeconds(30));
            String shown;
            if (Files.isExecutable(curl)) {
                Process p = new ProcessBuilder(curl.toString(), "-si", "--max-time", "10", "http://127.0.0.1:" + port + "/")
                        .redirectErrorStream(true).start();
                shown = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n");
                assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
            } else {
                HttpResponse<String> r = client().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
                        HttpResponse.BodyHandlers.ofString());
                shown = "HTTP/1.1 " + r.statusCode() + " OK\n" + String.join("\n", r.headers().map().entrySet().stream()
                        .map(e -> e.getKey() + ": " + e.getValue().getFirst()).toList()) + "\n\n" + r.body();
            }
            String[] got = shown.split("\n\n", 2);
            String version = readmeBody.substring(readmeBody.indexOf("merapi-demo-origin ") + 19, readmeBody.indexOf('\n',
                    readmeBody.indexOf("merapi-demo-origin ")));
            String expectedBody = readmeBody.replace("merapi-demo-origin " + version, "merapi-demo-origin " + Main.VERSION);
            assertThat(got[1]).isEqualTo(expectedBody);
            List<String> expectedHead = readmeHead.stream().map(l -> l.startsWith("Content-Length: ")
                    ? "Content-Length: " + expectedBody.getBytes(StandardCharsets.UTF_8).length : l).toList();
            assertThat(List.of(got[0].split("\n"))).as("curl -i shows exactly the README's head; output:\n%s", shown)
                    .containsExactlyElementsOf(expectedHead);
        }
    }

    @Test
    void theEmbeddedDefaultServesH2cWithPriorKnowledgeAndHttp11OnTheSamePort() throws Exception {
        Path curl = Path.of("/usr/bin/curl");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(curl), "curl is not installed");
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("--listen", "127.0.0.1:" + port, "--admin", "127.0.0.1:0", "--threads", "1")) {
            gateway.awaitLine("Try it:", Duration.ofSeconds(30));
            for (String version : List.of("--http2-prior-knowledge", "--http1.1")) {
                Process p = new ProcessBuilder(curl.toString(), "-s", "--max-time", "10", version, "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", "http://127.0.0.1:" + port + "/").redirectErrorStream(true).start();
                String shown = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
                assertThat(shown).as(version).isEqualTo(version.equals("--http1.1") ? "1.1 200" : "2 200");
            }
        }
    }

    @Test
    void theAdminListenerRunsBesideTheProxyAndCountsItsRequests() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("--listen", "127.0.0.1:" + port, "--admin", "127.0.0.1:0", "--threads", "1");
                HttpClient client = client()) {
            String adminLine = gateway.awaitLine("admin on http://", Duration.ofSeconds(30));
            gateway.awaitLine("Try it:", Duration.ofSeconds(30));
            Matcher m = URL.matcher(adminLine);
            assertThat(m.find()).isTrue();
            String admin = m.group(1);

            assertThat(get(client, "http://127.0.0.1:" + port + "/").statusCode()).isEqualTo(200);

            assertThat(get(client, admin + "/livez").statusCode()).isEqualTo(200);
            assertThat(get(client, admin + "/readyz").body()).isEqualTo("ready\n");
            assertThat(get(client, admin + "/metrics").body())
                    .contains("merapi_requests_total{group=\"demo\",route=\"default\",status_class=\"2xx\"} 1.0");
            assertThat(gateway.awaitLine("\"route\":\"default\"", Duration.ofSeconds(10))).as("the access log on stdout")
                    .contains("\"status\"");

            gateway.signal("INT");
            assertThat(gateway.awaitExit(Duration.ofSeconds(10))).as("Ctrl-C exits at once; output:\n%s", gateway.output()).isZero();
        }
    }

    private static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpResponse<String> get(HttpClient client, String url) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
}

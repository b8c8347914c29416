package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Merapi's {@code proxy} engine ({@link ForwardProxy} on {@link HttpProxy}) in front of a real nginx, driven by
 * real curl: keep-alive, chunked bodies both ways, 64 MiB bodies both ways, and the error statuses a client sees.
 * Everything listens on 127.0.0.1; nginx gets a port found free at run time and its own temporary prefix.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NginxOriginIT {
    private static final Path NGINX_BINARY = Path.of("/usr/sbin/nginx");
    private static final Path CURL_BINARY = Path.of("/usr/bin/curl");
    private static final int LARGE = 64 * 1024 * 1024;

    @TempDir
    static Path dir;
    private static Path www;
    private static ExternalServer nginx;
    private static Path large;
    private static String largeSha256;
    private static String textSha256;

    @BeforeAll
    static void startNginx() throws Exception {
        assumeTrue(Files.isExecutable(NGINX_BINARY), "nginx is not installed (apt-get install nginx-light)");
        assumeTrue(Files.isExecutable(CURL_BINARY), "curl is not installed (apt-get install curl)");
        www = Files.createDirectories(dir.resolve("www"));
        Files.createDirectories(www.resolve("upload"));
        large = www.resolve("large.bin");
        largeSha256 = writeRandomFile(large, LARGE);
        Path text = Files.createDirectories(www.resolve("gzip")).resolve("text.txt");
        textSha256 = writeTextFile(text, 4 * 1024 * 1024);
        nginx = startNginx(dir.resolve("nginx"), www);
    }

    @AfterAll
    static void stopNginx() throws InterruptedException {
        if (nginx != null) {
            nginx.close();
        }
    }

    @Test
    void curlReusesOneConnectionForSeveralRequestsAndMerapiReusesItsUpstreamConnection() throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            String url = server.uri("/tiny").toString();

            Curl.Result r = Curl.run("-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                    "-w", "%{http_code} %{num_connects} %{size_download}\\n", url, url, url);

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.lines()).containsExactly("200 1 5", "200 0 5", "200 0 5");
            assertThat(proxy.connector().newConnections()).as("new upstream connections").isEqualTo(1);
            assertThat(proxy.connector().reusedConnections()).as("reused upstream connections").isEqualTo(2);
        }
    }

    @Test
    void nginxResponseComesBackWithItsHeadersAndVia() throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            Curl.Result r = Curl.run("-i", server.uri("/tiny").toString());

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).startsWith("HTTP/1.1 200 OK\r\n").containsIgnoringCase("Server: nginx")
                    .contains("Content-Length: 5\r\n", "Via: 1.1 merapi\r\n").endsWith("\r\n\r\nhello");
        }
    }

    @Test
    void largeDownloadArrivesIntact() throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            Path out = dir.resolve("download.bin");

            Curl.Result r = Curl.run("-o", out.toString(), "-w", "%{http_code} %{size_download}", server.uri("/large.bin").toString());

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo("200 " + LARGE);
            assertThat(sha256(out)).isEqualTo(largeSha256);
            Files.delete(out);
        }
    }

    @Test
    void headOfALargeFileHasItsLengthAndNoBody() throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            String url = server.uri("/large.bin").toString();

            // the HEAD, then a GET on the same connection: the HEAD response must not have left body bytes behind
            Curl.Result r = Curl.run("-I", "-w", "%{http_code} %{num_connects} %{size_download}\\n", url,
                    "--next", "-o", "/dev/null", "-w", "%{http_code} %{num_connects} %{size_download}\\n", server.uri("/tiny").toString());

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).contains("Content-Length: " + LARGE + "\r\n");
            assertThat(r.lines()).endsWith("200 1 0", "200 0 5");
        }
    }

    @Test
    void chunkedDownloadFromNginxArrivesChunkedAndIntact() throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            Path out = dir.resolve("text.out");
            Path headers = dir.resolve("text.headers");

            // nginx gzips on the fly, so it does not know the length and sends the body chunked
            Curl.Result r = Curl.run("--compressed", "-D", headers.toString(), "-o", out.toString(),
                    "-w", "%{http_code}", server.uri("/gzip/text.txt").toString());

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo("200");
            String head = Files.readString(headers, StandardCharsets.ISO_8859_1);
            assertThat(head).containsIgnoringCase("Transfer-Encoding: chunked\r\n").containsIgnoringCase("Content-Encoding: gzip\r\n")
                    .doesNotContainIgnoringCase("Content-Length");
            assertThat(sha256(out)).isEqualTo(textSha256);
        }
    }

    @ParameterizedTest(name = "chunked={0}")
    @ValueSource(booleans = {true, false})
    void largeUploadReachesNginxIntact(boolean chunked) throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            String name = "upload/" + (chunked ? "chunked" : "sized") + ".bin";
            List<String> args = new ArrayList<>(List.of("-T", large.toString(), "-w", "%{http_code}"));
            if (chunked) {
                args.addAll(List.of("-H", "Transfer-Encoding: chunked"));
            }
            args.add(server.uri("/" + name).toString());

            Curl.Result r = Curl.run(args.toArray(String[]::new));

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.lines().getLast()).isEqualTo("201");
            Path stored = www.resolve(name);
            assertThat(sha256(stored)).isEqualTo(largeSha256);
            Files.delete(stored);
        }
    }

    @Test
    void stoppedNginxGives502() throws Exception {
        ExternalServer doomed = startNginx(dir.resolve("nginx-doomed"), www);
        try {
            HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + doomed.port()));
            try (TestServer server = start(proxy)) {
                String url = server.uri("/tiny").toString();
                assertThat(Curl.run("-o", "/dev/null", "-w", "%{http_code}", url).stdout()).isEqualTo("200");

                doomed.close(); // the pooled upstream connection dies with it

                Curl.Result r = Curl.run("-w", "\\n%{http_code}", url);
                assertThat(r.exitCode()).as(r.stderr()).isZero();
                assertThat(r.lines()).containsExactly("502 Bad Gateway", "", "502");
                // and again, now that no pooled connection is left: a refused connect
                assertThat(Curl.run("-o", "/dev/null", "-w", "%{http_code}", url).stdout()).isEqualTo("502");
            }
        } finally {
            doomed.close();
        }
    }

    @Test
    void stalledOriginGives504AfterTheReadTimeout() throws Exception {
        try (MockOrigin stalled = MockOrigin.start()) {
            stalled.enqueue(MockResponse.builder().fault(new OriginFault.Stall()).build());
            PeerOptions shortRead = PeerOptions.builder().readTimeout(Duration.ofMillis(500)).build();
            HttpProxy<Void> proxy = proxyTo(HttpPeer.of(stalled.address(), false, "").withOptions(shortRead));
            try (TestServer server = start(proxy)) {
                Curl.Result r = Curl.run("-w", "\\n%{http_code} %{time_total}", server.uri("/stall").toString());

                assertThat(r.exitCode()).as(r.stderr()).isZero();
                assertThat(r.lines().getFirst()).isEqualTo("504 Gateway Timeout");
                String[] statusAndTime = r.lines().getLast().split(" ");
                assertThat(statusAndTime[0]).isEqualTo("504");
                assertThat(Double.parseDouble(statusAndTime[1])).as("seconds").isBetween(0.4, 5.0);
                assertThat(stalled.takeRequest().target()).isEqualTo("/stall");
            }
            assertThat(stalled.awaitNoOpenConnections(Duration.ofSeconds(5))).as("stalled connection closed").isTrue();
        }
    }

    @Test
    void malformedRequestFromCurlGets400AndAClose() throws Exception {
        HttpProxy<Void> proxy = proxyTo(HttpPeer.of("127.0.0.1:" + nginx.port()));
        try (TestServer server = start(proxy)) {
            Curl.Result r = Curl.run("-i", "-H", "Content-Length: abc", server.uri("/tiny").toString());

            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).startsWith("HTTP/1.1 400 Bad Request\r\n").contains("Connection: close\r\n");
            assertThat(proxy.connector().newConnections()).as("nothing went upstream").isZero();
        }
    }

    // ---- the proxy

    private static HttpProxy<Void> proxyTo(HttpPeer peer) {
        return HttpProxy.of(new ForwardProxy(peer));
    }

    private static TestServer start(HttpProxy<Void> proxy) {
        return TestServer.start(ListeningService.http("proxy", proxy)).checkClosedOnStop(proxy.connector()::openConnections);
    }

    // ---- files

    /** Writes {@code size} pseudo-random bytes (the same every run) and returns their SHA-256. */
    private static String writeRandomFile(Path file, int size) throws IOException {
        MessageDigest sha = sha256();
        SplittableRandom random = new SplittableRandom(20261123);
        byte[] block = new byte[1024 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int written = 0; written < size; written += block.length) {
                random.nextBytes(block);
                int n = Math.min(block.length, size - written);
                out.write(block, 0, n);
                sha.update(block, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Writes about {@code size} bytes of numbered text lines and returns their SHA-256. */
    private static String writeTextFile(Path file, int size) throws IOException {
        StringBuilder text = new StringBuilder(size + 100);
        for (int i = 0; text.length() < size; i++) {
            text.append("line ").append(i).append(": the quick brown fox jumps over the lazy dog\n");
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
        Files.write(file, bytes);
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest sha = sha256();
        byte[] buffer = new byte[1024 * 1024];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                sha.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- curl

    /** Runs the real curl, silent but for errors, with a time limit on every transfer and on the process. */
    private static final class Curl {
        /** What one curl run printed, and how it exited. */
        record Result(int exitCode, String stdout, String stderr) {
            /** stdout split into lines, without the line ends. */
            List<String> lines() {
                return stdout.lines().toList();
            }
        }

        static Result run(String... args) throws IOException, InterruptedException {
            List<String> command = new ArrayList<>(List.of(CURL_BINARY.toString(), "-sS", "--max-time", "30"));
            command.addAll(List.of(args));
            Path out = Files.createTempFile(dir, "curl", ".out");
            Path err = Files.createTempFile(dir, "curl", ".err");
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            try {
                p.getOutputStream().close();
                if (!p.waitFor(40, TimeUnit.SECONDS)) {
                    throw new AssertionError("curl did not finish within 40 s: " + command);
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                p.destroyForcibly();
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        }
    }

    // ---- nginx

    /** A real nginx in the foreground, one process, with everything it writes under its own prefix. */
    /** nginx serving {@code root} from its own directory {@code prefix}. */
    private static ExternalServer startNginx(Path prefix, Path root) throws IOException, InterruptedException {
        return ExternalServer.nginx(NGINX_BINARY, prefix, port -> """
                    default_type application/octet-stream;
                    keepalive_requests 10000;
                    server {
                        listen 127.0.0.1:%2$d;
                        root %1$s;
                        location = /tiny { default_type text/plain; return 200 "hello"; }
                        location /gzip/ { gzip on; gzip_types *; gzip_min_length 0; gzip_proxied any; }
                        location /upload/ {
                            dav_methods PUT;
                            create_full_put_path on;
                            client_max_body_size 0;
                        }
                        location / { }
                    }
                """.formatted(root, port));
    }
}

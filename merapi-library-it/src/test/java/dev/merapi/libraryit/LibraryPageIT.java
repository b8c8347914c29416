package dev.merapi.libraryit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * docs/library.md works as written: its outside project (src/it/hello-proxy, which the page quotes) builds with
 * plain Maven against this build's artifacts, staged in target/it-repo by {@code invoker:install}, and the jar it
 * packs proxies a request with the JVM flags and the logging the page gives.
 *
 * <p>The outside build takes its plugins and third-party jars from this build's local repository, through a mirror
 * of every repository to it, so it needs no network; it never writes to that repository.
 */
class LibraryPageIT {
    private static final Path SOURCE = Path.of("src/it/hello-proxy");
    private static final Path WORK = Path.of("target/it/hello-proxy").toAbsolutePath();
    private static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(8);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Executor READER = Executors.newVirtualThreadPerTaskExecutor(); // not the common pool: one thread on two cores

    private static int buildExit;
    private static String buildLog = "";

    @BeforeAll
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    static void buildTheOutsideProject() throws Exception {
        deleteTree(WORK.getParent());
        copyTree(SOURCE, WORK);
        Path settings = WORK.getParent().resolve("settings.xml");
        String itRepo = Path.of(property("merapi.itRepo")).toAbsolutePath().toString();
        Files.writeString(settings, """
                <settings>
                  <localRepository>%s</localRepository>
                  <mirrors>
                    <mirror><id>this-build</id><mirrorOf>*</mirrorOf><url>%s</url></mirror>
                  </mirrors>
                </settings>
                """.formatted(itRepo, Path.of(property("merapi.mainRepo")).toUri()));
        // never -o: Maven refuses file:// repositories offline, and the mirror sends every request to one anyway
        List<String> command = List.of(Path.of(property("merapi.mavenHome"), "bin", "mvn").toString(),
                "-B", "-ntp", "-s", settings.toString(), "-Dmaven.repo.local=" + itRepo, "package");
        ProcessBuilder builder = new ProcessBuilder(command).directory(WORK.toFile()).redirectErrorStream(true)
                .redirectOutput(WORK.getParent().resolve("build.log").toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home")); // Java 25, as the page asks
        builder.environment().remove("MAVEN_ARGS");
        Process build = builder.start();
        if (!build.waitFor(BUILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            build.destroyForcibly().waitFor();
            throw new AssertionError("the outside build took longer than " + BUILD_TIMEOUT);
        }
        buildExit = build.exitValue();
        buildLog = Files.readString(WORK.getParent().resolve("build.log"));
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        assertThat(value).as("system property %s (set by this module's pom)", name).isNotBlank();
        return value;
    }

    @Test
    void theOutsideProjectBuildsAgainstTheBomWithPlainMaven() {
        assertThat(buildExit).as("mvn package in %s:%n%s", WORK, buildLog).isZero();
        assertThat(WORK.resolve("target/hello-proxy-1.0.0.jar")).isRegularFile();
    }

    @Test
    void theBomDecidesTheVersionsOfWhatTheApiExposes() throws IOException {
        assertThat(buildExit).as("the build: %s", buildLog).isZero();
        List<String> jars;
        try (Stream<Path> lib = Files.list(WORK.resolve("target/lib"))) {
            jars = lib.map(p -> p.getFileName().toString()).sorted().toList();
        }
        // Logback asks for an older SLF4J than Merapi; without the BOM's say, Maven's nearest-wins picks Logback's
        assertThat(jars).contains("slf4j-api-" + property("merapi.slf4jVersion") + ".jar",
                "merapi-proxy-" + property("merapi.version") + ".jar", "logback-classic-" + property("merapi.logbackVersion") + ".jar");
        assertThat(jars.stream().filter(j -> j.startsWith("slf4j-api-"))).hasSize(1);
        // netty-tcnative (TLS, BoringSSL) has its own version line, the one Netty's release pairs with it
        assertThat(jars.stream().filter(j -> j.startsWith("netty-") && !j.startsWith("netty-tcnative-")))
                .isNotEmpty()
                .allSatisfy(j -> assertThat(j).contains("-" + property("merapi.nettyVersion")));
        assertThat(jars.stream().filter(j -> j.startsWith("netty-tcnative-")))
                .isNotEmpty()
                .allSatisfy(j -> assertThat(j).contains("-" + property("merapi.tcnativeVersion")));
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void thePackedJarProxiesARequestAndLogsAtInfo() throws Exception {
        assertThat(buildExit).as("the build: %s", buildLog).isZero();
        Path stderr = WORK.getParent().resolve("proxy.log");
        try (MockOrigin origin = MockOrigin.start()) {
            Process proxy = new ProcessBuilder(JAVA.toString(), "--enable-native-access=ALL-UNNAMED",
                    "--sun-misc-unsafe-memory-access=allow", "-jar", "target/hello-proxy-1.0.0.jar", "127.0.0.1:0",
                    "127.0.0.1:" + origin.port()).directory(WORK.toFile()).redirectError(stderr.toFile()).start();
            try {
                String announced = announcedAddress(proxy);
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(10)).build();
                HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(announced + "/hello"))
                        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).isEqualTo("hello from mock origin\n");
                assertThat(response.headers().firstValue("Via")).contains("1.1 merapi");
                assertThat(origin.takeRequest().target()).isEqualTo("/hello");

                origin.close(); // now the upstream refuses: one WARN line names the peer by its name
                HttpResponse<String> failed = client.send(HttpRequest.newBuilder(URI.create(announced + "/gone"))
                        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(failed.statusCode()).isEqualTo(502);

                proxy.destroy(); // SIGTERM: a graceful shutdown, with nothing in flight
                assertThat(proxy.waitFor(60, TimeUnit.SECONDS)).as("the proxy stops on SIGTERM").isTrue();
            } finally {
                proxy.destroyForcibly();
            }
        }
        List<String> log = Files.readAllLines(stderr);
        assertThat(log).anySatisfy(line -> assertThat(line)
                .contains("WARN").contains("upstream-failure peer=origin (127.0.0.1:"));
        assertThat(log).as("the logback.xml of the page: INFO and up, no Netty debug flood")
                .noneMatch(line -> line.contains("DEBUG") || line.contains("TRACE") || line.contains("LEAK:"));
    }

    /** Reads the proxy's first stdout line, {@code hello-proxy on http://127.0.0.1:PORT -> origin (…)}. */
    private static String announcedAddress(Process proxy) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, READER).get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(line).as("the proxy's announcement").isNotNull().startsWith("hello-proxy on http://")
                .endsWith(" -> origin (127.0.0.1:" + line.substring(line.lastIndexOf(':') + 1));
        return line.substring("hello-proxy on ".length(), line.indexOf(" -> "));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

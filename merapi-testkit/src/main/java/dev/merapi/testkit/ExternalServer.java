package dev.merapi.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real peer (nginx, HAProxy, …) started as a child process on a loopback port found free at run time, with a
 * generated config and its logs in its own directory. If the port was taken meanwhile, it starts again on another.
 * Closing it stops the process (SIGTERM, then SIGKILL) and waits for it.
 */
public final class ExternalServer implements AutoCloseable {
    /** The config file's text for a given port. */
    @FunctionalInterface
    public interface Config {
        /** @param port the port the server must listen on, on 127.0.0.1 */
        String forPort(int port);
    }

    /** The command line that starts the server with a config file. */
    @FunctionalInterface
    public interface Command {
        /**
         * @param conf the config file written from {@link Config}
         * @param dir the server's own directory, for its logs and state
         */
        List<String> of(Path conf, Path dir);
    }

    private final String name;
    private final Process process;
    private final int port;
    private final Path dir;

    private ExternalServer(String name, Process process, int port, Path dir) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.dir = dir;
    }

    /**
     * Starts {@code name} and waits until it accepts connections (at most 10 s per attempt, 3 attempts).
     *
     * @throws AssertionError with the server's output when it does not start
     */
    public static ExternalServer start(String name, Path dir, Config config, Command command)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        for (int attempt = 1; ; attempt++) {
            int port = freePort();
            Path conf = dir.resolve(name + ".conf");
            Files.writeString(conf, config.forPort(port));
            Process p = new ProcessBuilder(command.of(conf, dir)).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout.log").toFile()).start();
            p.getOutputStream().close();
            if (awaitListening(p, port, Duration.ofSeconds(10))) {
                return new ExternalServer(name, p, port, dir);
            }
            stop(p);
            if (attempt == 3) {
                throw new AssertionError(name + " did not start; output:\n" + readOrEmpty(dir.resolve("stdout.log"))
                        + readOrEmpty(dir.resolve("error.log")));
            }
        }
    }

    /**
     * nginx in the foreground as one process, with its pid file, logs and temporary files in {@code dir}.
     *
     * @param binary the nginx executable
     * @param http the directives inside the {@code http} block for a port (upstreams, servers, options)
     */
    public static ExternalServer nginx(Path binary, Path dir, Config http) throws IOException, InterruptedException {
        return start("nginx", dir, port -> """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log info;
                events { worker_connections 256; }
                http {
                    access_log off;
                    client_body_temp_path %1$s/client_body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                %2$s
                }
                """.formatted(dir, http.forPort(port)), (conf, d) -> List.of(binary.toString(), "-p", d + "/", "-e",
                d.resolve("error.log").toString(), "-c", conf.toString()));
    }

    /** The port it listens on, on 127.0.0.1. */
    public int port() {
        return port;
    }

    /** Whether the process still runs. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Stops the process and waits for it; stopping twice is harmless. */
    @Override
    public void close() {
        try {
            stop(process);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void stop(Process p) throws InterruptedException {
        if (p.isAlive()) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static boolean awaitListening(Process p, int port, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() - deadline < 0) {
            if (!p.isAlive()) {
                return false;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                return true;
            } catch (IOException e) {
                Thread.sleep(20);
            }
        }
        return false;
    }

    /** A loopback port that was free a moment ago. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public String toString() {
        return name + "[" + dir + ", port " + port + "]";
    }
}

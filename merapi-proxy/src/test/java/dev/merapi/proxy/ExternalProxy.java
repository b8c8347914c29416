package dev.merapi.proxy;

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
 * nginx or HAProxy started as a child process, as a reverse proxy in front of one origin, on a port found free at
 * run time, with a generated config and its logs in its own directory. Stopping it ends the process.
 */
final class ExternalProxy implements AutoCloseable {
    static final Path NGINX = Path.of("/usr/sbin/nginx");
    static final Path HAPROXY = Path.of("/usr/sbin/haproxy");

    private final String name;
    private final Process process;
    private final int port;
    private final Path dir;

    private ExternalProxy(String name, Process process, int port, Path dir) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.dir = dir;
    }

    int port() {
        return port;
    }

    /**
     * nginx with HTTP/1.1 and keep-alive to the origin, the client's Host passed on, and short client timeouts so
     * that a request whose body never comes ends in seconds.
     */
    static ExternalProxy nginx(Path dir, int originPort) throws IOException, InterruptedException {
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
                    client_header_timeout 2s;
                    client_body_timeout 2s;
                    keepalive_timeout 10s;
                    upstream origin {
                        server 127.0.0.1:%3$d;
                        keepalive 8;
                    }
                    server {
                        listen 127.0.0.1:%2$d;
                        location / {
                            proxy_pass http://origin;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_set_header Host $http_host;
                            proxy_ignore_client_abort on;
                        }
                    }
                }
                """.formatted(dir, port, originPort), (conf, d) -> List.of(NGINX.toString(), "-p", d + "/", "-e",
                d.resolve("error.log").toString(), "-c", conf.toString()));
    }

    /** HAProxy in {@code mode http} with keep-alive on both sides and short client timeouts. */
    static ExternalProxy haproxy(Path dir, int originPort) throws IOException, InterruptedException {
        return start("haproxy", dir, port -> """
                global
                    maxconn 256
                defaults
                    mode http
                    option http-keep-alive
                    timeout connect 2s
                    timeout client 5s
                    timeout server 5s
                    timeout http-request 2s
                    timeout http-keep-alive 10s
                frontend fe
                    bind 127.0.0.1:%1$d
                    default_backend be
                backend be
                    server origin 127.0.0.1:%2$d
                """.formatted(port, originPort), (conf, d) -> List.of(HAPROXY.toString(), "-db", "-f", conf.toString()));
    }

    private interface Config {
        String forPort(int port);
    }

    private interface Command {
        List<String> of(Path conf, Path dir);
    }

    private static ExternalProxy start(String name, Path dir, Config config, Command command)
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
                return new ExternalProxy(name, p, port, dir);
            }
            stop(p);
            if (attempt == 3) {
                throw new AssertionError(name + " did not start; output:\n" + readOrEmpty(dir.resolve("stdout.log"))
                        + readOrEmpty(dir.resolve("error.log")));
            }
        }
    }

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

    private static int freePort() {
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

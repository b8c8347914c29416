package dev.merapi.proxy;

import dev.merapi.testkit.ExternalServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** nginx and HAProxy as reverse proxies in front of one origin, for the differential tests. */
final class ExternalProxy {
    static final Path NGINX = Path.of("/usr/sbin/nginx");
    static final Path HAPROXY = Path.of("/usr/sbin/haproxy");

    private ExternalProxy() {
    }

    /**
     * nginx with HTTP/1.1 and keep-alive to the origin, the client's Host passed on, and short client timeouts so
     * that a request whose body never comes ends in seconds.
     */
    static ExternalServer nginx(Path dir, int originPort) throws IOException, InterruptedException {
        return ExternalServer.nginx(NGINX, dir, port -> """
                    client_header_timeout 2s;
                    client_body_timeout 2s;
                    keepalive_timeout 10s;
                    upstream origin {
                        server 127.0.0.1:%2$d;
                        keepalive 8;
                    }
                    server {
                        listen 127.0.0.1:%1$d;
                        location / {
                            proxy_pass http://origin;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_set_header Host $http_host;
                            proxy_ignore_client_abort on;
                        }
                    }
                """.formatted(port, originPort));
    }

    /** HAProxy in {@code mode http} with keep-alive on both sides and short client timeouts. */
    static ExternalServer haproxy(Path dir, int originPort) throws IOException, InterruptedException {
        return ExternalServer.start("haproxy", dir, port -> """
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
}

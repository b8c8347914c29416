package dev.merapi.loadbalancing.health;

import dev.merapi.loadbalancing.Backend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * An HTTP/1.1 check: {@code GET path} with {@code Connection: close}, over TLS when the backend (or the probe)
 * says so. It passes when the status is in the expected range and, if a body text is expected, the body (up to
 * 64 KiB, chunked or not) contains it. Redirects are not followed. Immutable.
 */
public final class HttpProbe implements Probe {
    /** The most body a check reads. */
    public static final int MAX_BODY = 64 * 1024;

    private final String path;
    private final Optional<String> host;
    private final int minStatus;
    private final int maxStatus;
    private final Optional<String> bodyContains;
    private final boolean forceTls;

    private HttpProbe(Builder b) {
        this.path = b.path;
        this.host = b.host;
        this.minStatus = b.minStatus;
        this.maxStatus = b.maxStatus;
        this.bodyContains = b.bodyContains;
        this.forceTls = b.tls;
    }

    /** A check of {@code path}: status 200 to 399 passes, any body. */
    public static HttpProbe of(String path) {
        return builder(path).build();
    }

    /** Starts a check of {@code path}, such as {@code /healthz}. */
    public static Builder builder(String path) {
        return new Builder(path);
    }

    /** The path requested. */
    public String path() {
        return path;
    }

    @Override
    public void check(Backend backend, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean tls = forceTls || backend.tls();
        try (Socket s = tls ? Probe.tlsHandshake(backend, timeout) : Probe.connect(backend, timeout)) {
            String hostHeader = host.orElse(backend.sni().isEmpty() ? backend.name() : backend.sni());
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader
                    + "\r\nUser-Agent: merapi-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            Response r = read(s, deadline);
            if (r.status < minStatus || r.status > maxStatus) {
                throw new IOException("status " + r.status + ", expected " + minStatus + " to " + maxStatus);
            }
            if (bodyContains.isPresent() && !r.body.contains(bodyContains.get())) {
                throw new IOException("the body does not contain '" + bodyContains.get() + "'");
            }
        }
    }

    private record Response(int status, String body) {
    }

    private Response read(Socket s, long deadline) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int headEnd = -1;
        while (all.size() < MAX_BODY + 16 * 1024) {
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("timed out reading the response");
            }
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            all.write(buf, 0, n);
            if (headEnd < 0) {
                headEnd = all.toString(StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n");
                if (headEnd >= 0 && bodyContains.isEmpty()) {
                    break; // the status is all that is needed
                }
            }
        }
        String text = all.toString(StandardCharsets.ISO_8859_1);
        if (headEnd < 0) {
            headEnd = text.indexOf("\r\n\r\n");
        }
        if (!text.startsWith("HTTP/1.") || text.length() < 12 || headEnd < 0) {
            throw new IOException("not an HTTP/1 response");
        }
        int status;
        try {
            status = Integer.parseInt(text.substring(9, 12));
        } catch (NumberFormatException e) {
            throw new IOException("bad status line", e);
        }
        String head = text.substring(0, headEnd).toLowerCase(Locale.ROOT);
        String body = text.substring(headEnd + 4);
        if (head.contains("\r\ntransfer-encoding:") && head.contains("chunked")) {
            body = dechunk(body);
        }
        return new Response(status, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    }

    /** The data of a chunked body, as far as it was read. */
    static String dechunk(String chunked) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < chunked.length()) {
            int eol = chunked.indexOf("\r\n", i);
            if (eol < 0) {
                break;
            }
            String sizeField = chunked.substring(i, eol);
            int semi = sizeField.indexOf(';');
            int size;
            try {
                size = Integer.parseInt((semi >= 0 ? sizeField.substring(0, semi) : sizeField).strip(), 16);
            } catch (NumberFormatException e) {
                break;
            }
            if (size == 0) {
                break;
            }
            int start = eol + 2;
            out.append(chunked, start, Math.min(chunked.length(), start + size));
            i = start + size + 2;
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "GET " + path + " expecting " + minStatus + "-" + maxStatus + bodyContains.map(b -> " and '" + b + "'").orElse("");
    }

    /** Settings of an {@link HttpProbe}; not thread-safe. */
    public static final class Builder {
        private final String path;
        private Optional<String> host = Optional.empty();
        private int minStatus = 200;
        private int maxStatus = 399;
        private Optional<String> bodyContains = Optional.empty();
        private boolean tls;

        private Builder(String path) {
            Objects.requireNonNull(path, "path");
            if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
                throw new IllegalArgumentException("a health-check path starts with '/' and has no space or control character: '" + path + "'");
            }
            this.path = path;
        }

        /** The {@code Host} header; default the backend's SNI, else its {@code host:port}. */
        public Builder host(String host) {
            if (host.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
                throw new IllegalArgumentException("invalid Host for a health check: '" + host + "'");
            }
            this.host = Optional.of(host);
            return this;
        }

        /** The statuses that pass, inclusive; default 200 to 399. */
        public Builder expectStatus(int min, int max) {
            if (min < 100 || max > 599 || min > max) {
                throw new IllegalArgumentException("expected status range must be within 100-599: " + min + "-" + max);
            }
            this.minStatus = min;
            this.maxStatus = max;
            return this;
        }

        /** A text the body must contain; default none. */
        public Builder bodyContains(String text) {
            this.bodyContains = Optional.of(Objects.requireNonNull(text, "text"));
            return this;
        }

        /** Checks over TLS even for a plain-text backend; default only when the backend uses TLS. */
        public Builder tls(boolean tls) {
            this.tls = tls;
            return this;
        }

        /** The probe. */
        public HttpProbe build() {
            return new HttpProbe(this);
        }
    }
}

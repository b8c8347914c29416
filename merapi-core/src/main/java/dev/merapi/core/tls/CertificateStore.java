package dev.merapi.core.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificates a TLS listener serves, chosen per handshake by the name the client asks for (SNI), and replaced
 * without a restart.
 *
 * <p>Selection: an exact name first, then a wildcard one label above it ({@code *.example.com} for
 * {@code a.example.com}), then the default certificate (the first one added). A missing or malformed name
 * (see {@link #normalizeServerName}) gets the default.
 *
 * <p>Reload: {@link #reload()} reads every file-based certificate again and, only if all of them load and pass their
 * checks (readable, key matching, valid now), swaps them in at once; otherwise it throws and the certificates in use
 * stay. New handshakes use the new certificates; open connections carry on with what they negotiated.
 * {@link #watchFiles(Duration)} does the same whenever a file's modification time changes.
 *
 * <pre>{@code
 * CertificateStore certs = CertificateStore.builder()
 *         .add(Path.of("example.com.pem"), Path.of("example.com.key"))   // the default
 *         .add(Path.of("wild.example.net.pem"), Path.of("wild.example.net.key"))
 *         .build();
 * AutoCloseable watch = certs.watchFiles(Duration.ofSeconds(30));
 * }</pre>
 *
 * <p>Thread-safe: {@link #select} is a lock-free read for the event loops; reloads run on the caller's thread (they
 * read files: never call them on an event loop).
 */
public final class CertificateStore {
    private static final Logger log = LoggerFactory.getLogger(CertificateStore.class);
    private static final int MAX_NAME = 253;
    private static final ScheduledExecutorService WATCHER = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("merapi-tls-watch").factory());

    private volatile Snapshot current;

    /** The certificates in use at one moment; replaced whole by a reload. */
    private record Snapshot(long generation, List<TlsCertificate> all, Map<String, TlsCertificate> byName) {
        static Snapshot of(long generation, List<TlsCertificate> all) {
            if (all.isEmpty()) {
                throw new TlsConfigException("a TLS listener needs at least one certificate");
            }
            Map<String, TlsCertificate> byName = new HashMap<>();
            for (TlsCertificate c : all) {
                for (String n : c.names()) {
                    byName.putIfAbsent(n, c); // the first certificate added wins a name two of them hold
                }
            }
            return new Snapshot(generation, List.copyOf(all), Map.copyOf(byName));
        }
    }

    private CertificateStore(List<TlsCertificate> certificates) {
        this.current = Snapshot.of(1, certificates);
    }

    /** A store serving one certificate, loaded from PEM files (see {@link TlsCertificate#load}). */
    public static CertificateStore of(Path chainPem, Path keyPem) {
        return builder().add(chainPem, keyPem).build();
    }

    /** A store serving {@code certificates}, the first one being the default. */
    public static CertificateStore of(List<TlsCertificate> certificates) {
        return new CertificateStore(List.copyOf(certificates));
    }

    /** A builder; the first certificate added is the default. */
    public static Builder builder() {
        return new Builder();
    }

    /** The certificates in use, the default first. */
    public List<TlsCertificate> certificates() {
        return current.all;
    }

    /** The default certificate: served when the client sends no name or one that no certificate holds. */
    public TlsCertificate defaultCertificate() {
        return current.all.getFirst();
    }

    /** A number that grows by one at each successful reload. */
    public long generation() {
        return current.generation;
    }

    /**
     * The certificate for {@code serverName} as the client sent it (SNI): exact name, wildcard, then the default.
     * Lock-free; safe on an event loop.
     */
    public TlsCertificate select(String serverName) {
        Snapshot s = current;
        Optional<String> name = normalizeServerName(serverName);
        if (name.isEmpty()) {
            return s.all.getFirst();
        }
        String host = name.get();
        TlsCertificate exact = s.byName.get(host);
        if (exact != null) {
            return exact;
        }
        int dot = host.indexOf('.');
        if (dot > 0) {
            TlsCertificate wildcard = s.byName.get("*" + host.substring(dot));
            if (wildcard != null) {
                return wildcard;
            }
        }
        return s.all.getFirst();
    }

    /**
     * A server name as a host name to look up: lower-case, without a trailing dot; empty if it is missing, longer than
     * 253 characters, has an empty label, or holds anything but letters, digits, {@code -} and {@code _} between dots.
     */
    public static Optional<String> normalizeServerName(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return Optional.empty();
        }
        String s = serverName.endsWith(".") ? serverName.substring(0, serverName.length() - 1) : serverName;
        if (s.isEmpty() || s.length() > MAX_NAME) {
            return Optional.empty();
        }
        boolean labelStart = true;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '.') {
                if (labelStart) {
                    return Optional.empty();
                }
                labelStart = true;
                continue;
            }
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (!ok) {
                return Optional.empty();
            }
            labelStart = false;
        }
        if (labelStart) { // a second trailing dot: an empty last label
            return Optional.empty();
        }
        return Optional.of(s.toLowerCase(Locale.ROOT));
    }

    /**
     * Reads every file-based certificate again and swaps the new set in if all of them load and pass their checks.
     * Certificates made from objects are kept as they are. Blocks on file I/O.
     *
     * @throws TlsConfigException naming the file and the reason; the certificates in use stay
     */
    public synchronized void reload() {
        Snapshot old = current;
        List<TlsCertificate> next = new ArrayList<>(old.all.size());
        for (TlsCertificate c : old.all) {
            if (c.chainFile().isPresent() && c.keyFile().isPresent()) {
                next.add(TlsCertificate.load(c.chainFile().get(), c.keyFile().get()));
            } else {
                next.add(c);
            }
        }
        swap(old, next);
    }

    /**
     * Serves {@code certificates} from now on (the first is the default), for certificates obtained by code.
     *
     * @throws TlsConfigException if the list is empty
     */
    public synchronized void replace(List<TlsCertificate> certificates) {
        swap(current, List.copyOf(certificates));
    }

    private void swap(Snapshot old, List<TlsCertificate> next) {
        current = Snapshot.of(old.generation + 1, next);
        for (TlsCertificate c : next) {
            log.info("TLS certificate in use: {}", c);
        }
    }

    /**
     * Checks the files' modification times every {@code interval} and reloads when one changed. A refused reload is
     * logged as an error (the old certificates stay) and tried again at the next change.
     *
     * @return closing it stops the checks
     */
    public AutoCloseable watchFiles(Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("the file check interval must be positive: " + interval);
        }
        Map<Path, FileTime> seen = new HashMap<>(modificationTimes());
        ScheduledFuture<?> task = WATCHER.scheduleWithFixedDelay(() -> {
            Map<Path, FileTime> now = modificationTimes();
            if (now.equals(seen)) {
                return;
            }
            seen.clear();
            seen.putAll(now);
            try {
                reload();
                log.info("TLS certificates reloaded after a file change");
            } catch (TlsConfigException e) {
                log.error("TLS certificate reload refused, the previous certificates stay in use: {}", e.getMessage());
            } catch (RuntimeException e) {
                log.error("TLS certificate reload failed, the previous certificates stay in use", e);
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return () -> task.cancel(false);
    }

    private Map<Path, FileTime> modificationTimes() {
        Map<Path, FileTime> out = new HashMap<>();
        for (TlsCertificate c : current.all) {
            c.chainFile().ifPresent(f -> out.put(f, mtime(f)));
            c.keyFile().ifPresent(f -> out.put(f, mtime(f)));
            c.chainFile().map(TlsCertificate::ocspFile).ifPresent(f -> out.put(f, mtime(f))); // 0 while there is none
        }
        return out;
    }

    private static FileTime mtime(Path f) {
        try {
            return Files.getLastModifiedTime(f);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    /** Builds a {@link CertificateStore}. */
    public static final class Builder {
        private final List<TlsCertificate> certificates = new ArrayList<>();

        private Builder() {
        }

        /** Loads and adds a certificate from PEM files; see {@link TlsCertificate#load}. */
        public Builder add(Path chainPem, Path keyPem) {
            return add(TlsCertificate.load(chainPem, keyPem));
        }

        /** Adds a certificate. */
        public Builder add(TlsCertificate certificate) {
            certificates.add(Objects.requireNonNull(certificate, "certificate"));
            return this;
        }

        /** @throws TlsConfigException if no certificate was added */
        public CertificateStore build() {
            return new CertificateStore(certificates);
        }
    }
}

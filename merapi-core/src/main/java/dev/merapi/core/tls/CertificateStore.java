package dev.merapi.core.tls;

import dev.merapi.core.files.FileStamp;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
 * {@link #reloadIfChanged()} does it when a file's modification time or size changed; a background service of the
 * server calls it periodically.
 *
 * <pre>{@code
 * CertificateStore certs = CertificateStore.builder()
 *         .add(Path.of("example.com.pem"), Path.of("example.com.key"))   // the default
 *         .add(Path.of("wild.example.net.pem"), Path.of("wild.example.net.key"))
 *         .build();
 * server.addService(BackgroundService.every("tls-certificate-watch", Duration.ofSeconds(30), certs::reloadIfChanged));
 * }</pre>
 *
 * <p>Thread-safe: {@link #select} is a lock-free read for the event loops; reloads run on the caller's thread (they
 * read files: never call them on an event loop).
 */
public final class CertificateStore {
    private static final Logger log = LoggerFactory.getLogger(CertificateStore.class);
    private static final int MAX_NAME = 253;

    private volatile Snapshot current;
    /** The files' stamps at the last {@link #reloadIfChanged()} (at creation before the first); guarded by this. */
    private Map<Path, FileStamp> seen;

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
        this.seen = stamps(current.all);
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
     * Reloads the certificates if one of their files (chain, key, OCSP response) changed since the last call, or since
     * the store was made. A refused reload is logged as an error (the old certificates stay) and tried again at the
     * next change, not at every call. Blocks on file I/O: never call it on an event loop.
     *
     * @return whether the certificates were replaced
     */
    public synchronized boolean reloadIfChanged() {
        Map<Path, FileStamp> now = stamps(current.all);
        if (now.equals(seen)) {
            return false;
        }
        seen = now;
        try {
            reload();
            log.info("TLS certificates reloaded after a file change");
            return true;
        } catch (TlsConfigException e) {
            log.error("TLS certificate reload refused, the previous certificates stay in use: {}", e.getMessage());
        } catch (RuntimeException e) {
            log.error("TLS certificate reload failed, the previous certificates stay in use", e);
        }
        return false;
    }

    private static Map<Path, FileStamp> stamps(List<TlsCertificate> certificates) {
        Map<Path, FileStamp> out = new HashMap<>();
        for (TlsCertificate c : certificates) {
            c.chainFile().ifPresent(f -> out.put(f, FileStamp.of(f)));
            c.keyFile().ifPresent(f -> out.put(f, FileStamp.of(f)));
            c.chainFile().map(TlsCertificate::ocspFile).ifPresent(f -> out.put(f, FileStamp.of(f))); // MISSING while there is none
        }
        return out;
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

package dev.merapi.gateway.remote;

import dev.merapi.gateway.config.ConfigError;
import dev.merapi.gateway.config.ConfigException;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.Ed25519Pem;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.GatewayConfig.Remote;
import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remote configuration: fetches the bundle of a {@code remote} section over verified HTTPS every interval (with 10%
 * jitter; after errors the wait doubles up to {@code max-backoff}) and applies it when, in this order, its Ed25519
 * signature verifies with the configured public key, it is a valid configuration (the same validation as a local
 * file, errors as {@code URL:LINE:COL}), it has no {@code remote} section of its own, and its version is higher than
 * the running one. It then goes through the gateway's reload path ({@link ConfigTarget#apply}), and is kept in
 * {@code cache-dir}. Anything else is refused and the running configuration stays; the problem shows in
 * {@link #status()} and the fetch counts, and is logged once each time the state changes, not at every fetch.
 *
 * <p>At start ({@link #initial}), the bundle is fetched once and the cached one read; the higher valid version of the
 * two is run, else the local file.
 *
 * <p>Threading: fetches run on a scheduler thread of its own (never an event loop), one at a time with
 * {@link #poll()} and {@link #apply(Bundle, boolean)}, which may be called from any thread and block while they
 * fetch or apply. {@link #close()} stops the thread and the HTTP client.
 */
public final class RemoteConfig implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RemoteConfig.class);
    private static final double JITTER = 0.1;

    /** How a fetch or an apply ended; {@link #label()} labels the metric. */
    public enum Result {
        /** A new bundle is in force. */
        APPLIED(true),
        /** The source answered 304 Not Modified. */
        NOT_MODIFIED(true),
        /** The source served the bundle that runs already. */
        UNCHANGED(true),
        /** The source could not be reached, or did not answer in time. */
        UNREACHABLE(false),
        /** The TLS handshake with the source failed: its certificate or host name did not verify. */
        TLS_ERROR(false),
        /** The source answered with an HTTP status other than 200 (or 304). */
        HTTP_ERROR(false),
        /** The bundle is larger than {@code max-size}. */
        TOO_LARGE(false),
        /** The signature is missing, malformed, or does not verify with the public key. */
        BAD_SIGNATURE(false),
        /** The bundle is signed but not a valid configuration. */
        INVALID(false),
        /** The bundle's version is not higher than the running one. */
        ROLLBACK(false),
        /**
         * A rollback was asked for ({@link #rollback()}) but the source serves a version higher than the running one,
         * or the bundle that runs already: nothing was applied.
         */
        NOT_A_ROLLBACK(true),
        /** The bundle is valid but the gateway could not switch to it (a listener address taken, for one). */
        APPLY_FAILED(false);

        private final boolean ok;

        Result(boolean ok) {
            this.ok = ok;
        }

        /** Whether this is not a problem. */
        public boolean ok() {
            return ok;
        }

        /** The metric label: {@code applied}, {@code not-modified}, {@code bad-signature}, ... */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * How a fetch or an apply ended.
     *
     * @param result what happened
     * @param message what, in words, for the log and the status
     */
    public record Outcome(Result result, String message) {
    }

    private final Remote spec;
    private final ConfigLoader loader;
    private final Path baseDir;
    private final PublicKey publicKey;
    private final HttpsSource source;
    private final BundleCache cache;
    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Result, LongAdder> counts = new ConcurrentHashMap<>();
    private final SecureRandom jitter = new SecureRandom();
    private volatile @Nullable ScheduledExecutorService scheduler;
    private volatile @Nullable ConfigTarget target;
    /** Validators of the bundle in force, sent with the next fetch; changed under {@link #lock}. */
    private @Nullable String etag;
    private @Nullable String lastModified;
    /** The bundle in force, if the running configuration came from one; changed under {@link #lock}. */
    private @Nullable Bundle running;
    private volatile RemoteStatus status;
    /** The last outcome logged, so that the same state is logged once. */
    private @Nullable Outcome logged;

    private RemoteConfig(Remote spec, ConfigLoader loader, Path baseDir, Clock clock) {
        this.spec = spec;
        this.loader = loader;
        this.baseDir = baseDir;
        this.clock = clock;
        try {
            this.publicKey = Ed25519Pem.publicKey(Files.readString(spec.publicKey(), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new IllegalArgumentException("remote: cannot read the public key " + spec.publicKey() + " (" + e.getClass().getSimpleName()
                    + ")", e);
        }
        this.source = new HttpsSource(spec);
        this.cache = new BundleCache(spec.cacheDir());
        this.status = new RemoteStatus(spec.url(), "local", 0, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), 0);
    }

    /**
     * Remote configuration for {@code spec}, not fetching yet. Relative {@code ${file:...}} references in bundles
     * start at {@code baseDir} (the local file's directory).
     *
     * @throws IllegalArgumentException if the public key, the CA bundle or the client certificate is no longer usable
     */
    public static RemoteConfig of(Remote spec, ConfigLoader loader, Path baseDir) {
        return new RemoteConfig(spec, loader, baseDir, Clock.systemUTC());
    }

    /** The {@code remote} section this runs. */
    public Remote spec() {
        return spec;
    }

    /**
     * The configuration to start with: of the bundle fetched now and the one in {@code cache-dir}, the valid one with
     * the higher version (the fetched one if they are equal), else {@code local}. Blocks for up to the fetch timeout.
     * A cached bundle whose signature no longer verifies is refused with an error in the log.
     */
    public GatewayConfig initial(GatewayConfig local) {
        lock.lock();
        try {
            @Nullable Candidate cached = null;
            try {
                Optional<Bundle> c = cache.read();
                if (c.isPresent()) {
                    Checked checked = check(c.get(), cache.dir().resolve(BundleCache.CONFIG).toString());
                    if (checked.config() != null) {
                        cached = new Candidate(c.get(), checked.config(), null, null);
                    } else {
                        log.error("remote: the cached bundle in {} is refused: {}", cache.dir(), checked.outcome().message());
                    }
                }
            } catch (IOException e) {
                log.error("remote: cannot read the cached bundle in {}: {}", cache.dir(), e.toString());
            }
            Outcome fetched;
            @Nullable Candidate remote = null;
            try {
                HttpsSource.Fetched f = source.fetch(null, null);
                if (f instanceof HttpsSource.Fetched.Got got) {
                    Checked checked = check(got.bundle(), spec.url().toString());
                    fetched = checked.outcome();
                    if (checked.config() != null) {
                        remote = new Candidate(got.bundle(), checked.config(), got.etag().orElse(null), got.lastModified().orElse(null));
                    }
                } else {
                    HttpsSource.Fetched.Refused r = (HttpsSource.Fetched.Refused) f;
                    fetched = new Outcome(result(r.result()), r.reason());
                }
            } catch (IOException e) {
                fetched = unreachable(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fetched = new Outcome(Result.UNREACHABLE, "interrupted");
            }
            Instant now = clock.instant();
            if (remote != null && (cached == null || remote.config().version() >= cached.config().version())) {
                fetched = new Outcome(Result.APPLIED, "version " + remote.config().version() + " from " + spec.url());
                take(remote, "remote");
                saveQuietly(remote.bundle());
                record(fetched, now);
                return remote.config();
            }
            if (remote != null && cached != null) {
                fetched = new Outcome(Result.ROLLBACK, "the source serves version " + remote.config().version() + ", lower than the cached "
                        + cached.config().version() + "; the cached bundle runs");
            }
            record(fetched, now);
            if (cached != null) {
                log.warn("remote: starting from the cached bundle (version {}) in {}", cached.config().version(), cache.dir());
                take(cached, "cache");
                return cached.config();
            }
            log.warn("remote: no bundle from {} nor in {}; starting from the local file {}", spec.url(), cache.dir(), local.source());
            status = withRunning(status, "local", local.version(), null);
            return local;
        } finally {
            lock.unlock();
        }
    }

    /** The bundle in force, if the running configuration came from one (not the local file). */
    public Optional<Bundle> runningBundle() {
        lock.lock();
        try {
            return Optional.ofNullable(running);
        } finally {
            lock.unlock();
        }
    }

    /** A bundle that passed every check at start, with the validators it came with. */
    private record Candidate(Bundle bundle, GatewayConfig config, @Nullable String etag, @Nullable String lastModified) {
    }

    /** The signature and validation of a bundle: its configuration, or why not. */
    private record Checked(@Nullable GatewayConfig config, Outcome outcome) {
    }

    private void take(Candidate c, String from) {
        running = c.bundle();
        etag = c.etag();
        lastModified = c.lastModified();
        status = withRunning(status, from, c.config().version(), c.bundle().sha256());
    }

    /**
     * Starts fetching every interval, applying to {@code target}; the first fetch is one interval from now.
     *
     * @throws IllegalStateException if it was started already
     */
    public void start(ConfigTarget target) {
        lock.lock();
        try {
            if (scheduler != null) {
                throw new IllegalStateException("remote configuration is started already");
            }
            this.target = target;
            ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                    .name("merapi-remote-config").unstarted(r));
            scheduler = s;
            s.schedule(this::scheduled, delay(spec.interval()).toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            lock.unlock();
        }
    }

    private void scheduled() {
        Outcome o;
        try {
            o = poll();
        } catch (RuntimeException e) { // a bug; fetching goes on
            log.error("remote: a fetch failed unexpectedly", e);
            o = new Outcome(Result.APPLY_FAILED, e.toString());
        }
        ScheduledExecutorService s = scheduler;
        if (s != null && !s.isShutdown()) {
            int failures = status.consecutiveFailures();
            Duration wait = o.result().ok() ? spec.interval() : backoff(failures);
            try {
                s.schedule(this::scheduled, delay(wait).toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closed meanwhile
            }
        }
    }

    /** The wait after {@code failures} failed fetches in a row: the interval doubled each time, capped. */
    private Duration backoff(int failures) {
        Duration d = spec.interval();
        for (int i = 0; i < failures && d.compareTo(spec.maxBackoff()) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(spec.maxBackoff()) > 0 ? spec.maxBackoff() : d;
    }

    /** {@code d} within plus or minus 10%. */
    private Duration delay(Duration d) {
        double factor = 1 + (jitter.nextDouble() * 2 - 1) * JITTER;
        return Duration.ofMillis(Math.max(1, (long) (d.toMillis() * factor)));
    }

    /**
     * Fetches the bundle now and applies it if it passes every check. Blocks for up to the fetch timeout and the
     * reload. Before {@link #start} a bundle that passes is not applied ({@code apply-failed}).
     */
    public Outcome poll() {
        return fetchAndApply(Direction.FORWARD);
    }

    /**
     * Fetches the bundle now, ignoring the validators of the one in force (a full fetch), and applies it only if its
     * version is lower than or equal to the running one: an administrator's forced rollback, after the source was
     * made to serve an older bundle. Every other check still applies: the signature must verify, the bundle must be
     * no larger than {@code max-size} and a valid configuration without a {@code remote} section. A bundle with a
     * higher version, or the one in force, is not applied ({@code not-a-rollback}): the schedule and {@link #poll()}
     * take higher versions. The caller records who asked. Blocks for up to the fetch timeout and the reload.
     */
    public Outcome rollback() {
        return fetchAndApply(Direction.ROLLBACK_ONLY);
    }

    /** Fetches (with the validators in force only when going forward) and applies what passes for {@code direction}. */
    private Outcome fetchAndApply(Direction direction) {
        lock.lock();
        try {
            Instant now = clock.instant();
            boolean forward = direction == Direction.FORWARD;
            Outcome o;
            try {
                HttpsSource.Fetched f = forward ? source.fetch(etag, lastModified) : source.fetch(null, null);
                o = switch (f) {
                    case HttpsSource.Fetched.NotModified n -> forward
                            ? new Outcome(Result.NOT_MODIFIED, "not modified since version " + status.runningVersion())
                            : new Outcome(Result.NOT_A_ROLLBACK, "the source answered 304 Not Modified; nothing to roll back to");
                    case HttpsSource.Fetched.Refused r -> new Outcome(result(r.result()), r.reason());
                    case HttpsSource.Fetched.Got got -> {
                        Outcome applied = applyLocked(got.bundle(), direction);
                        if (applied.result() == Result.APPLIED || applied.result() == Result.UNCHANGED) {
                            etag = got.etag().orElse(null);
                            lastModified = got.lastModified().orElse(null);
                        }
                        yield applied;
                    }
                };
            } catch (IOException e) {
                o = unreachable(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                o = new Outcome(Result.UNREACHABLE, "interrupted");
            }
            record(o, now);
            return o;
        } finally {
            lock.unlock();
        }
    }

    /** Which versions an apply takes, relative to the running one. */
    private enum Direction {
        /** Only a higher version. */
        FORWARD,
        /** Any version. */
        ANY,
        /** Only a lower or equal version (a bundle other than the one in force). */
        ROLLBACK_ONLY
    }

    /**
     * Applies {@code bundle} as if it had been fetched: its signature must verify and it must be a valid
     * configuration; its version must be higher than the running one unless {@code allowRollback} (an administrator's
     * explicit choice: the caller records who asked). Blocks for the reload. Before {@link #start} nothing is
     * applied ({@code apply-failed}).
     */
    public Outcome apply(Bundle bundle, boolean allowRollback) {
        lock.lock();
        try {
            Outcome o = applyLocked(bundle, allowRollback ? Direction.ANY : Direction.FORWARD);
            record(o, clock.instant());
            return o;
        } finally {
            lock.unlock();
        }
    }

    private Outcome applyLocked(Bundle bundle, Direction direction) {
        ConfigTarget t = target;
        if (t == null) {
            return new Outcome(Result.APPLY_FAILED, "the gateway has not started yet");
        }
        Checked checked = check(bundle, spec.url().toString());
        GatewayConfig next = checked.config();
        if (next == null) {
            return checked.outcome();
        }
        long runningVersion = t.running().version();
        if (running != null && running.equals(bundle)) {
            return direction == Direction.ROLLBACK_ONLY
                    ? new Outcome(Result.NOT_A_ROLLBACK, "the source serves version " + runningVersion + ", the bundle in force; nothing to"
                            + " roll back to")
                    : new Outcome(Result.UNCHANGED, "version " + runningVersion + " runs already");
        }
        if (next.version() > runningVersion && direction == Direction.ROLLBACK_ONLY) {
            return new Outcome(Result.NOT_A_ROLLBACK, "the source serves version " + next.version() + ", higher than the running version "
                    + runningVersion + "; not a rollback, nothing applied (a fetch takes it)");
        }
        if (next.version() <= runningVersion && direction == Direction.FORWARD) {
            return new Outcome(Result.ROLLBACK, "version " + next.version() + " is not higher than the running version " + runningVersion
                    + "; refused (no rollback; an administrator can force one with POST /api/v1/remote/rollback)");
        }
        if (!t.apply(next, new String(bundle.config(), java.nio.charset.StandardCharsets.UTF_8), spec.url() + " (version " + next.version() + ")")) {
            return new Outcome(Result.APPLY_FAILED, "version " + next.version() + " is valid but could not be applied; see the log");
        }
        running = bundle;
        status = withRunning(status, "remote", next.version(), bundle.sha256());
        saveQuietly(bundle);
        return new Outcome(Result.APPLIED, "version " + next.version() + (next.version() <= runningVersion ? " (a rollback, forced)" : "")
                + " from " + spec.url());
    }

    /** Signature, then encoding, then validation, then no {@code remote} section. */
    private Checked check(Bundle bundle, String name) {
        if (!bundle.verifies(publicKey)) {
            return new Checked(null, new Outcome(Result.BAD_SIGNATURE, "the signature of " + name
                    + " does not verify with the public key " + spec.publicKey()));
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bundle.config())).toString();
        } catch (CharacterCodingException e) {
            return new Checked(null, new Outcome(Result.INVALID, name + " is not UTF-8 text"));
        }
        GatewayConfig next;
        try {
            next = loader.parse(text, name, baseDir);
        } catch (ConfigException e) {
            StringBuilder m = new StringBuilder(name + " is not a valid configuration:");
            e.errors().stream().limit(10).map(ConfigError::toString).forEach(x -> m.append("\n  ").append(x));
            if (e.errors().size() > 10) {
                m.append("\n  (").append(e.errors().size() - 10).append(" more)");
            }
            return new Checked(null, new Outcome(Result.INVALID, m.toString()));
        }
        if (next.remote().isPresent()) {
            return new Checked(null, new Outcome(Result.INVALID, name + " has a remote section; where bundles come from is set in the local"
                    + " file only"));
        }
        return new Checked(next, new Outcome(Result.APPLIED, "version " + next.version()));
    }

    private void saveQuietly(Bundle bundle) {
        try {
            cache.write(bundle);
        } catch (IOException e) {
            log.error("remote: cannot keep the bundle in {}: {}; a start without the source will not find it", cache.dir(), e.toString());
        }
    }

    private static Outcome unreachable(IOException e) {
        if (e instanceof SSLException) {
            return new Outcome(Result.TLS_ERROR, "TLS with the source failed: " + e.getMessage());
        }
        if (e instanceof HttpTimeoutException) {
            return new Outcome(Result.UNREACHABLE, "the source did not answer in time");
        }
        Throwable cause = e.getCause();
        if (cause instanceof SSLException ssl) {
            return new Outcome(Result.TLS_ERROR, "TLS with the source failed: " + ssl.getMessage());
        }
        return new Outcome(Result.UNREACHABLE, "cannot reach the source: " + e);
    }

    private static Result result(String label) {
        for (Result r : Result.values()) {
            if (r.label().equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException(label);
    }

    /** Counts the outcome, updates the status, and logs it if the state changed. */
    private void record(Outcome o, Instant at) {
        counts.computeIfAbsent(o.result(), r -> new LongAdder()).increment();
        RemoteStatus s = status;
        boolean ok = o.result().ok();
        status = new RemoteStatus(s.url(), s.runningFrom(), s.runningVersion(), s.runningSha256(), Optional.of(at),
                ok ? Optional.of(at) : s.lastSuccess(), Optional.of(o.result().label()), ok ? Optional.empty() : Optional.of(o.message()),
                ok ? 0 : s.consecutiveFailures() + 1);
        Outcome before = logged;
        boolean sameState = before != null && (ok ? before.result().ok() : before.equals(o));
        if (o.result() == Result.APPLIED) {
            log.info("remote: applied {}", o.message());
        } else if (!sameState) {
            if (ok) {
                log.info("remote: {}: {}", spec.url(), o.message());
            } else if (target == null) {
                log.error("remote: {} ({})", o.message(), o.result().label());
            } else {
                log.error("remote: {} ({}); the running configuration (version {}) stays", o.message(), o.result().label(),
                        s.runningVersion());
            }
        }
        logged = o;
    }

    private static RemoteStatus withRunning(RemoteStatus s, String from, long version, @Nullable String sha256) {
        return new RemoteStatus(s.url(), from, version, Optional.ofNullable(sha256), s.lastAttempt(), s.lastSuccess(), s.lastResult(),
                s.lastError(), s.consecutiveFailures());
    }

    /** What it is doing now. */
    public RemoteStatus status() {
        return status;
    }

    /** Fetches and applies so far, by result label. */
    public Map<String, Long> fetchCounts() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Result r : Result.values()) {
            LongAdder a = counts.get(r);
            if (a != null) {
                out.put(r.label(), a.sum());
            }
        }
        return out;
    }

    /** Stops fetching (a fetch in flight fails) and closes the HTTP client. */
    @Override
    public void close() {
        ScheduledExecutorService s = scheduler;
        if (s != null) {
            s.shutdownNow();
        }
        source.close();
    }
}

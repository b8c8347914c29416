package dev.merapi.loadbalancing;

import dev.merapi.core.services.BackgroundService;
import dev.merapi.loadbalancing.discovery.ServiceDiscovery;
import dev.merapi.loadbalancing.health.HealthCheck;
import dev.merapi.loadbalancing.health.HealthEvent;
import dev.merapi.loadbalancing.health.HealthListener;
import dev.merapi.loadbalancing.health.OutlierDetection;
import dev.merapi.loadbalancing.internal.BackendState;
import dev.merapi.error.Bounds;
import dev.merapi.loadbalancing.selection.BackendLoad;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.loadbalancing.selection.Selector;
import dev.merapi.loadbalancing.selection.Selector.Candidates;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses a backend for each request, from a set that can change while traffic flows. Call it from
 * {@code upstreamPeer}; the proxy engine itself knows nothing of it.
 *
 * <pre>{@code
 * LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.ketama())
 *         .backends(List.of(Backend.of("10.0.0.1:8080"), Backend.of("10.0.0.2:8080", 2)))
 *         .healthCheck(HealthCheck.http("/healthz"))
 *         .build();
 * server.addService(lb.backgroundService());           // health checks and discovery
 * Optional<Backend> b = lb.select(session.requestHeader().path()); // in upstreamPeer
 * }</pre>
 *
 * <p><b>Selection</b> takes the algorithm's candidates in order and returns the first that is available
 * (enabled, not draining, healthy by active checks, not ejected by outlier detection) and that the caller's
 * accept function takes, trying at most {@link Builder#maxIterations} candidates. To avoid the backend a failed
 * attempt used, pass an accept function that refuses it.
 *
 * <p><b>Threading.</b> {@link #select} runs on event loops and takes no lock: the backend set and its selector
 * are one immutable snapshot behind an atomic reference, replaced whole by {@link #setBackends} or
 * {@link #update}, so no request sees a half-built set. Per-backend state (in-flight counts, latency, health) is
 * kept by backend name across swaps and read through volatile fields. {@link #update} and
 * {@link #runHealthChecks} may block and run on the {@link #backgroundService()}'s virtual thread, or a caller's.
 */
public final class LoadBalancer {
    private static final Logger log = LoggerFactory.getLogger(LoadBalancer.class);
    private static final Predicate<Backend> ANY = b -> true;

    private final String name;
    private final SelectionAlgorithm algorithm;
    private final Optional<ServiceDiscovery> discovery;
    private final Optional<HealthCheck> healthCheck;
    private final Optional<OutlierDetection> outliers;
    private final int maxIterations;
    private final HealthListener listener;
    private final LongSupplier clock;
    private final Duration refreshInterval;
    private final Duration minRefreshInterval;
    private final ConcurrentHashMap<String, BackendState> states = new ConcurrentHashMap<>();
    private final AtomicReference<Snapshot> current = new AtomicReference<>();
    private final Set<String> probing = ConcurrentHashMap.newKeySet();
    private final Object ejectionLock = new Object();
    private final AtomicLong discoveryFailures = new AtomicLong();
    private final AtomicLong setChanges = new AtomicLong();
    private final AtomicLong healthEvents = new AtomicLong();
    private volatile long nextUpdate;
    private volatile long nextHealthCheck;

    private LoadBalancer(Builder b) {
        this.name = b.name;
        this.algorithm = b.algorithm;
        this.discovery = Optional.ofNullable(b.discovery);
        this.healthCheck = Optional.ofNullable(b.healthCheck);
        this.outliers = Optional.ofNullable(b.outliers);
        this.maxIterations = b.maxIterations;
        this.listener = b.listener;
        this.clock = b.clock;
        this.refreshInterval = b.refreshInterval;
        this.minRefreshInterval = b.minRefreshInterval;
        long now = clock.getAsLong();
        this.nextUpdate = now;
        this.nextHealthCheck = now;
        if (b.backends != null) {
            setBackends(b.backends);
        }
    }

    /** A balancer over a fixed set, with the default settings and no active checks. */
    public static LoadBalancer of(SelectionAlgorithm algorithm, Collection<Backend> backends) {
        return builder(algorithm).backends(backends).build();
    }

    /** Starts a balancer that chooses with {@code algorithm}. */
    public static Builder builder(SelectionAlgorithm algorithm) {
        return new Builder(algorithm);
    }

    /** Its name, for logs. */
    public String name() {
        return name;
    }

    /** The algorithm. */
    public SelectionAlgorithm algorithm() {
        return algorithm;
    }

    // ---- selection (event loops; no lock)

    /** A backend for this key (UTF-8 bytes of it), or empty if none is available; see {@link #select(byte[], int, Predicate)}. */
    public Optional<Backend> select(String key) {
        return select(key.getBytes(StandardCharsets.UTF_8), maxIterations, ANY);
    }

    /** A backend for this key, or empty if none is available; see {@link #select(byte[], int, Predicate)}. */
    public Optional<Backend> select(byte[] key) {
        return select(key, maxIterations, ANY);
    }

    /** A backend for this key that {@code accept} takes, or empty; see {@link #select(byte[], int, Predicate)}. */
    public Optional<Backend> select(byte[] key, Predicate<Backend> accept) {
        return select(key, maxIterations, accept);
    }

    /**
     * Chooses a backend. Runs on the caller's thread, takes no lock and does no I/O.
     *
     * @param key the request's hash key (the URI, a client address, a header); ignored by the algorithms that
     *     do not hash
     * @param maxIterations the most candidates to look at, at least 1
     * @param accept called for each available candidate; false skips it (for example, the backend a failed
     *     attempt used)
     * @return the first available candidate {@code accept} takes, or empty when there is none within the bound
     *     or the set is empty
     */
    public Optional<Backend> select(byte[] key, int maxIterations, Predicate<Backend> accept) {
        Snapshot s = current.get();
        if (s == null) {
            return Optional.empty();
        }
        Candidates candidates = s.selector.candidates(key, s);
        for (int tries = 0; tries < maxIterations; tries++) {
            int i = candidates.next();
            if (i == Candidates.NONE) {
                break;
            }
            if (s.available(i) && accept.test(s.backends[i])) {
                return Optional.of(s.backends[i]);
            }
        }
        return Optional.empty();
    }

    /**
     * Starts a request on {@code backend}: counts it in flight until the lease is closed. Call it once the
     * backend is chosen; close the lease when the request is done with it (in {@code logging}, or before
     * choosing again on a retry).
     */
    public Lease begin(Backend backend) {
        BackendState state = states.get(backend.name());
        if (state == null) {
            state = new BackendState(); // removed from the set meanwhile: count on a state nobody selects by
        }
        state.started();
        return new Lease(this, backend, state, clock.getAsLong());
    }

    // ---- the set

    /** The current backends, in order; empty before the first set. */
    public List<Backend> backends() {
        Snapshot s = current.get();
        return s == null ? List.of() : List.of(s.backends);
    }

    /**
     * Replaces the set at once: requests that already chose keep their backend, the next ones choose from the
     * new set. Health state carries over for backends of the same name. Builds the new selector on the calling
     * thread.
     *
     * @return whether the set changed
     * @throws IllegalArgumentException if two backends have the same name, or the set is empty
     */
    public boolean setBackends(Collection<Backend> backends) {
        List<Backend> list = List.copyOf(backends);
        if (list.isEmpty()) {
            throw new IllegalArgumentException("a load balancer needs at least one backend");
        }
        Set<String> names = new HashSet<>();
        for (Backend b : list) {
            if (!names.add(b.name())) {
                throw new IllegalArgumentException("backend " + b.name() + " is listed twice");
            }
        }
        synchronized (current) {
            Snapshot old = current.get();
            if (old != null && List.of(old.backends).equals(list)) {
                return false;
            }
            BackendState[] st = new BackendState[list.size()];
            for (int i = 0; i < st.length; i++) {
                st[i] = states.computeIfAbsent(list.get(i).name(), n -> new BackendState());
            }
            current.set(new Snapshot(list.toArray(Backend[]::new), st, algorithm.build(list), clock));
            states.keySet().retainAll(names);
            setChanges.incrementAndGet();
            log.info("{}: {} backend(s): {}", name, list.size(), list);
            return true;
        }
    }

    /**
     * Runs discovery once, now, on this thread, and swaps in what it found. When discovery fails or finds no
     * backend, the last good set stays and the failure is logged and counted. Does nothing without discovery.
     *
     * @return whether the set changed
     */
    public boolean update() {
        if (discovery.isEmpty()) {
            return false;
        }
        long now = clock.getAsLong();
        ServiceDiscovery.Discovered found;
        try {
            found = discovery.get().discover();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return discoveryFailed(now, e.toString());
        }
        if (found.backends().isEmpty()) {
            return discoveryFailed(now, "no backend found");
        }
        Duration next = found.validFor().orElse(refreshInterval);
        if (next.compareTo(minRefreshInterval) < 0) {
            next = minRefreshInterval;
        } else if (next.compareTo(refreshInterval) > 0) {
            next = refreshInterval;
        }
        nextUpdate = now + next.toNanos();
        return setBackends(found.backends());
    }

    private boolean discoveryFailed(long now, String why) {
        discoveryFailures.incrementAndGet();
        Duration retry = minRefreshInterval.multipliedBy(5).compareTo(refreshInterval) < 0
                ? minRefreshInterval.multipliedBy(5) : refreshInterval;
        nextUpdate = now + retry.toNanos();
        log.warn("{}: discovery failed ({}); keeping the last good set of {} backend(s), retrying in {}", name, why,
                backends().size(), retry);
        return false;
    }

    /** How many discoveries failed (the last good set was kept). */
    public long discoveryFailures() {
        return discoveryFailures.get();
    }

    /** How many times the set was replaced. */
    public long setChanges() {
        return setChanges.get();
    }

    // ---- health

    /**
     * Runs one round of active checks now, every backend in parallel on virtual threads, and waits for it (at
     * most the check's timeout and one second more). A backend whose previous probe still runs is skipped.
     * Does nothing without active checks.
     */
    public void runHealthChecks() throws InterruptedException {
        Snapshot s = current.get();
        if (healthCheck.isEmpty() || s == null) {
            return;
        }
        HealthCheck check = healthCheck.get();
        nextHealthCheck = clock.getAsLong() + check.interval().toNanos();
        List<Thread> running = new ArrayList<>(s.backends.length);
        for (int i = 0; i < s.backends.length; i++) {
            Backend b = s.backends[i];
            BackendState st = s.states[i];
            if (!probing.add(b.name())) {
                continue;
            }
            running.add(Thread.ofVirtual().name("merapi-health-" + b.name()).start(() -> {
                try {
                    probe(check, b, st);
                } finally {
                    probing.remove(b.name());
                }
            }));
        }
        long deadline = System.nanoTime() + check.timeout().toNanos() + Duration.ofSeconds(1).toNanos();
        for (Thread t : running) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                t.join(Duration.ofNanos(left));
            }
        }
    }

    private void probe(HealthCheck check, Backend b, BackendState st) {
        boolean ok;
        String reason;
        try {
            check.probe().check(b, check.timeout());
            ok = true;
            reason = "passed";
        } catch (Exception e) {
            ok = false;
            reason = e.getMessage() != null ? e.getClass().getSimpleName() + ": " + e.getMessage() : e.toString();
        }
        if (st.probed(ok, check.rise(), check.fall(), reason)) {
            emit(new HealthEvent(b, ok ? HealthEvent.Kind.HEALTHY : HealthEvent.Kind.UNHEALTHY, reason));
        }
    }

    void failed(Backend backend, BackendState state, String why) {
        if (outliers.isEmpty()) {
            return;
        }
        OutlierDetection od = outliers.get();
        int streak = state.failed();
        if (streak < od.consecutiveFailures()) {
            return;
        }
        long now = clock.getAsLong();
        long time;
        synchronized (ejectionLock) {
            Snapshot s = current.get();
            if (s == null || state.ejected(now)) {
                return;
            }
            int ejected = 0;
            for (BackendState st : s.states) {
                if (st.ejected(now)) {
                    ejected++;
                }
            }
            if (ejected >= od.maxEjected(s.states.length)) {
                log.warn("{}: {} has failed {} times in a row but is not ejected: {} of {} backends are out already",
                        name, backend, streak, ejected, s.states.length);
                return;
            }
            time = state.eject(now, od.baseEjectionTime().toNanos(), od.maxEjectionTime().toNanos());
        }
        emit(new HealthEvent(backend, HealthEvent.Kind.EJECTED, streak + " failures in a row, the last " + why
                + "; out for " + Duration.ofNanos(time)));
    }

    /** Returns ejected backends whose time ran out, with an event each; the background service calls it. */
    public void returnEjected() {
        Snapshot s = current.get();
        if (s == null) {
            return;
        }
        long now = clock.getAsLong();
        for (int i = 0; i < s.states.length; i++) {
            if (s.states[i].expireEjection(now)) {
                emit(new HealthEvent(s.backends[i], HealthEvent.Kind.RETURNED, "ejection time over"));
            }
        }
    }

    // ---- administration

    /** Lets the backend of this name take requests again (undoing {@link #disable} and {@link #drain}). */
    public void enable(String backendName) {
        withState(backendName).enable();
        emitFor(backendName, HealthEvent.Kind.ENABLED, "enabled");
    }

    /** Stops sending requests to the backend of this name at once; requests in flight go on. */
    public void disable(String backendName) {
        withState(backendName).disable();
        emitFor(backendName, HealthEvent.Kind.DISABLED, "disabled");
    }

    /**
     * Stops sending new requests to the backend of this name and lets those in flight finish.
     *
     * @return completes once it has no request in flight (or when it is enabled again)
     */
    public CompletionStage<Void> drain(String backendName) {
        CompletableFuture<Void> done = withState(backendName).drain();
        emitFor(backendName, HealthEvent.Kind.DRAINING, "draining");
        return done.minimalCompletionStage();
    }

    private BackendState withState(String backendName) {
        BackendState st = states.get(backendName);
        if (st == null) {
            throw new IllegalArgumentException("no backend named '" + backendName + "' in " + name);
        }
        return st;
    }

    private void emitFor(String backendName, HealthEvent.Kind kind, String reason) {
        for (Backend b : backends()) {
            if (b.name().equals(backendName)) {
                emit(new HealthEvent(b, kind, reason));
            }
        }
    }

    private void emit(HealthEvent e) {
        healthEvents.incrementAndGet();
        switch (e.kind()) {
            case UNHEALTHY, EJECTED -> log.warn("{}: backend {} is {}: {}", name, e.backend(), e.kind(), e.reason());
            default -> log.info("{}: backend {} is {}: {}", name, e.backend(), e.kind(), e.reason());
        }
        try {
            listener.changed(e);
        } catch (RuntimeException ex) {
            log.warn("{}: health listener failed on {}", name, e, ex);
        }
    }

    /** How many state changes (health, ejection, administration) there were. */
    public long healthEvents() {
        return healthEvents.get();
    }

    /** A snapshot of every backend's state, in set order. */
    public List<BackendStatus> status() {
        Snapshot s = current.get();
        if (s == null) {
            return List.of();
        }
        long now = clock.getAsLong();
        List<BackendStatus> out = new ArrayList<>(s.backends.length);
        for (int i = 0; i < s.backends.length; i++) {
            BackendState st = s.states[i];
            out.add(new BackendStatus(s.backends[i], st.available(now), st.healthy(), st.enabled(), st.draining(),
                    st.ejected(now), st.inflight(), Duration.ofNanos(st.latencyNanos(now)), st.healthChanges(),
                    st.totalEjections(), st.lastReason()));
        }
        return out;
    }

    /** The status of the backend of this name, if it is in the set. */
    public Optional<BackendStatus> status(String backendName) {
        return status().stream().filter(s -> s.backend().name().equals(backendName)).findFirst();
    }

    // ---- background

    /**
     * The service that keeps this balancer current: discovery when due (at once, then as the TTL or the refresh
     * interval says), active checks every interval, and the return of ejected backends. Add it to the server.
     */
    public BackgroundService backgroundService() {
        return new BackgroundService() {
            @Override
            public String name() {
                return name + "-background";
            }

            @Override
            public Duration period() {
                long now = clock.getAsLong();
                long next = now + Duration.ofSeconds(1).toNanos(); // ejections are returned within a second
                if (discovery.isPresent() && nextUpdate - next < 0) {
                    next = nextUpdate;
                }
                if (healthCheck.isPresent() && nextHealthCheck - next < 0) {
                    next = nextHealthCheck;
                }
                return Duration.ofNanos(Math.max(Duration.ofMillis(5).toNanos(), next - now));
            }

            @Override
            public void runOnce() throws InterruptedException {
                long now = clock.getAsLong();
                if (discovery.isPresent() && now - nextUpdate >= 0) {
                    update();
                }
                if (healthCheck.isPresent() && clock.getAsLong() - nextHealthCheck >= 0) {
                    runHealthChecks();
                }
                returnEjected();
            }
        };
    }

    long nanoTime() {
        return clock.getAsLong();
    }

    @Override
    public String toString() {
        return name + "[" + algorithm.name() + ", " + backends().size() + " backend(s)]";
    }

    /** One backend set with its selector: immutable once published. */
    private static final class Snapshot implements BackendLoad {
        final Backend[] backends;
        final BackendState[] states;
        final Selector selector;
        final LongSupplier clock;

        Snapshot(Backend[] backends, BackendState[] states, Selector selector, LongSupplier clock) {
            this.backends = backends;
            this.states = states;
            this.selector = selector;
            this.clock = clock;
        }

        @Override
        public int size() {
            return backends.length;
        }

        @Override
        public int weight(int i) {
            return backends[i].weight();
        }

        @Override
        public int inflight(int i) {
            return states[i].inflight();
        }

        @Override
        public long latencyNanos(int i) {
            return states[i].latencyNanos(clock.getAsLong());
        }

        @Override
        public boolean available(int i) {
            return states[i].available(clock);
        }
    }

    /** Settings of a {@link LoadBalancer}; not thread-safe. */
    public static final class Builder {
        private final SelectionAlgorithm algorithm;
        private String name = "load-balancer";
        private @Nullable Collection<Backend> backends;
        private @Nullable ServiceDiscovery discovery;
        private @Nullable HealthCheck healthCheck;
        private @Nullable OutlierDetection outliers = OutlierDetection.DEFAULT;
        private int maxIterations = 32;
        private HealthListener listener = e -> { };
        private LongSupplier clock = System::nanoTime;
        private Duration refreshInterval = Duration.ofSeconds(30);
        private Duration minRefreshInterval = Duration.ofSeconds(1);

        private Builder(SelectionAlgorithm algorithm) {
            this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
        }

        /** A name for logs; default {@code load-balancer}. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** A fixed set to start with (discovery, if any, replaces it at its first run). */
        public Builder backends(Collection<Backend> backends) {
            this.backends = List.copyOf(backends);
            return this;
        }

        /** Where the set comes from; {@link LoadBalancer#update()} or the background service asks it. */
        public Builder discovery(ServiceDiscovery discovery) {
            this.discovery = Objects.requireNonNull(discovery, "discovery");
            return this;
        }

        /**
         * The longest time between two discoveries, and the time used when discovery gives no TTL, 1 s to
         * 1 day; default 30 s.
         */
        public Builder refreshInterval(Duration interval) {
            this.refreshInterval = Bounds.duration("refreshInterval", interval, Duration.ofSeconds(1), Duration.ofDays(1));
            return this;
        }

        /** The shortest time between two discoveries, whatever the TTL says, 10 ms to 1 h; default 1 s. */
        public Builder minRefreshInterval(Duration interval) {
            this.minRefreshInterval = Bounds.duration("minRefreshInterval", interval, Duration.ofMillis(10), Duration.ofHours(1));
            return this;
        }

        /** Active checks; default none (every backend counts as healthy). */
        public Builder healthCheck(HealthCheck check) {
            this.healthCheck = Objects.requireNonNull(check, "check");
            return this;
        }

        /** Passive outlier ejection; default {@link OutlierDetection#DEFAULT}. */
        public Builder outlierDetection(OutlierDetection detection) {
            this.outliers = Objects.requireNonNull(detection, "detection");
            return this;
        }

        /** Turns passive outlier ejection off. */
        public Builder noOutlierDetection() {
            this.outliers = null;
            return this;
        }

        /** The most candidates one selection looks at, 1 to 1024; default 32. */
        public Builder maxIterations(int n) {
            this.maxIterations = Bounds.count("maxIterations", n, 1, 1024);
            return this;
        }

        /** Told of every change of a backend's state; default none. */
        public Builder listener(HealthListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** The clock, in nanoseconds as {@link System#nanoTime()}; tests pass a fake one. */
        public Builder clock(LongSupplier nanoTime) {
            this.clock = Objects.requireNonNull(nanoTime, "nanoTime");
            return this;
        }

        /**
         * The balancer.
         *
         * @throws IllegalArgumentException when it has neither backends nor discovery, or the minimum refresh
         *     interval exceeds the refresh interval
         */
        public LoadBalancer build() {
            if (backends == null && discovery == null) {
                throw new IllegalArgumentException("a load balancer needs backends or a discovery");
            }
            if (minRefreshInterval.compareTo(refreshInterval) > 0) {
                throw new IllegalArgumentException("minRefreshInterval " + minRefreshInterval
                        + " exceeds refreshInterval " + refreshInterval);
            }
            return new LoadBalancer(this);
        }
    }
}

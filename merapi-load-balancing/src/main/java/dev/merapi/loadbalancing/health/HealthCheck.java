package dev.merapi.loadbalancing.health;

import dev.merapi.error.Bounds;
import java.time.Duration;
import java.util.Objects;

/**
 * Active health checking of a load balancer's backends: a {@link Probe} run against every backend every
 * {@link #interval()}, all backends in parallel, in the background and never on the request path. A healthy
 * backend turns unhealthy after {@link #fall()} failed probes in a row; an unhealthy one turns healthy after
 * {@link #rise()} passed probes in a row (HAProxy's rise and fall). Backends start healthy. Immutable.
 *
 * <pre>{@code
 * HealthCheck.builder(HttpProbe.builder("/healthz").expectStatus(200, 299).build())
 *         .interval(Duration.ofSeconds(2)).timeout(Duration.ofSeconds(1)).rise(2).fall(3).build();
 * }</pre>
 */
public final class HealthCheck {
    private final Probe probe;
    private final Duration interval;
    private final Duration timeout;
    private final int rise;
    private final int fall;

    private HealthCheck(Builder b) {
        this.probe = b.probe;
        this.interval = b.interval;
        this.timeout = b.timeout;
        this.rise = b.rise;
        this.fall = b.fall;
    }

    /** TCP connect checks with the default timing. */
    public static HealthCheck tcp() {
        return builder(Probe.tcp()).build();
    }

    /** HTTP {@code GET path} checks (status 200 to 399) with the default timing. */
    public static HealthCheck http(String path) {
        return builder(HttpProbe.of(path)).build();
    }

    /** Starts a check with this probe: every 5 s, timeout 2 s, rise 2, fall 3. */
    public static Builder builder(Probe probe) {
        return new Builder(probe);
    }

    /** What is checked. */
    public Probe probe() {
        return probe;
    }

    /** The time from the start of one round of checks to the start of the next. */
    public Duration interval() {
        return interval;
    }

    /** How long one probe may take. */
    public Duration timeout() {
        return timeout;
    }

    /** Passed probes in a row that make an unhealthy backend healthy. */
    public int rise() {
        return rise;
    }

    /** Failed probes in a row that make a healthy backend unhealthy. */
    public int fall() {
        return fall;
    }

    @Override
    public String toString() {
        return probe + " every " + interval + " (timeout " + timeout + ", rise " + rise + ", fall " + fall + ")";
    }

    /** Settings of a {@link HealthCheck}; not thread-safe. */
    public static final class Builder {
        private final Probe probe;
        private Duration interval = Duration.ofSeconds(5);
        private Duration timeout = Duration.ofSeconds(2);
        private int rise = 2;
        private int fall = 3;

        private Builder(Probe probe) {
            this.probe = Objects.requireNonNull(probe, "probe");
        }

        /** Time between rounds, 10 ms to 1 h; default 5 s. */
        public Builder interval(Duration interval) {
            this.interval = Bounds.duration("interval", interval, Duration.ofMillis(10), Duration.ofHours(1));
            return this;
        }

        /** Time one probe may take, 1 ms to 1 min; default 2 s. */
        public Builder timeout(Duration timeout) {
            this.timeout = Bounds.duration("timeout", timeout, Duration.ofMillis(1), Duration.ofMinutes(1));
            return this;
        }

        /** Passed probes in a row to turn healthy, 1 to 100; default 2. */
        public Builder rise(int rise) {
            this.rise = Bounds.count("rise", rise, 1, 100);
            return this;
        }

        /** Failed probes in a row to turn unhealthy, 1 to 100; default 3. */
        public Builder fall(int fall) {
            this.fall = Bounds.count("fall", fall, 1, 100);
            return this;
        }

        /** The check. */
        public HealthCheck build() {
            return new HealthCheck(this);
        }
    }
}

package dev.merapi.loadbalancing.health;

import dev.merapi.error.Bounds;
import java.time.Duration;

/**
 * Passive outlier ejection, after Envoy's: a backend with {@code consecutiveFailures} failures in a row seen on
 * real traffic (no response: a connect failure, a reset, a timeout; or responses with a 5xx status) is ejected for {@code baseEjectionTime × the
 * times it was ejected recently}, at most {@code maxEjectionTime}; no more than {@code maxEjectionPercent} of the
 * backends are ejected at once, but always at least one may be. Immutable.
 *
 * @param consecutiveFailures failures in a row that eject, 1 to 1000 (default 5)
 * @param baseEjectionTime the first ejection's length (default 30 s)
 * @param maxEjectionTime the longest ejection (default 300 s)
 * @param maxEjectionPercent the most backends ejected at once, in percent (default 10)
 */
public record OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime,
        int maxEjectionPercent) {
    /** Envoy's defaults: 5 failures, 30 s, at most 300 s, at most 10 % of the backends. */
    public static final OutlierDetection DEFAULT = new OutlierDetection(5, Duration.ofSeconds(30), Duration.ofSeconds(300), 10);

    /** Checks the bounds. */
    public OutlierDetection {
        Bounds.count("consecutiveFailures", consecutiveFailures, 1, 1000);
        Bounds.duration("baseEjectionTime", baseEjectionTime, Duration.ofMillis(1), Duration.ofHours(1));
        Bounds.duration("maxEjectionTime", maxEjectionTime, baseEjectionTime, Duration.ofHours(24));
        Bounds.count("maxEjectionPercent", maxEjectionPercent, 0, 100);
    }

    /** The most backends of {@code total} that may be ejected at once: the percentage, but at least one. */
    public int maxEjected(int total) {
        return Math.max(1, total * maxEjectionPercent / 100);
    }
}

package dev.merapi.gateway.remote;

import java.net.URI;
import java.time.Instant;
import java.util.Optional;

/**
 * What remote configuration is doing, for the status endpoint: immutable, a snapshot.
 *
 * @param url where bundles are fetched
 * @param runningFrom where the running configuration came from: {@code remote} (fetched), {@code cache} (the last
 *     bundle taken, read at start) or {@code local} (the local file, no bundle having been taken)
 * @param runningVersion the version of the running configuration
 * @param runningSha256 the SHA-256 of the running bundle, if it came from one
 * @param lastAttempt when the source was last asked
 * @param lastSuccess when a fetch last ended well (a bundle applied, or nothing new)
 * @param lastResult how the last fetch ended, as the metrics label it ({@code applied}, {@code not-modified}, ...)
 * @param lastError the last problem, while it lasts: empty once a fetch ends well again
 * @param consecutiveFailures fetches that failed since the last one that ended well
 */
public record RemoteStatus(URI url, String runningFrom, long runningVersion, Optional<String> runningSha256, Optional<Instant> lastAttempt,
        Optional<Instant> lastSuccess, Optional<String> lastResult, Optional<String> lastError, int consecutiveFailures) {
}

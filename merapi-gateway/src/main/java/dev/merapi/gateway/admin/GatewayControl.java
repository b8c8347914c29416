package dev.merapi.gateway.admin;

import dev.merapi.gateway.config.ConfigError;
import dev.merapi.gateway.remote.RemoteConfig;
import dev.merapi.gateway.remote.RemoteStatus;
import dev.merapi.loadbalancing.LoadBalancer;
import java.net.SocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the admin API reads and changes in a running gateway. The gateway implements it.
 *
 * <p>Threading: the reading methods are cheap and may run on an event loop; {@link #validate}, {@link #apply},
 * {@link #reload}, {@link #fetchRemote} and {@link #rollbackRemote} fetch, parse, resolve, health-check and bind, so
 * they block and must run off the event loops. Changes run one at a time.
 */
public interface GatewayControl {

    /** The Merapi version. */
    String version();

    /** When the gateway started. */
    Instant startedAt();

    /** The configuration in force. */
    ConfigVersion configVersion();

    /** The text of the configuration in force, as it was read or posted (token hashes are still in it). */
    String configText();

    /** Each listener's name and bound addresses, in file order. */
    Map<String, List<SocketAddress>> listeners();

    /** The load balancer of each upstream group in force, by group name. */
    Map<String, LoadBalancer> balancers();

    /** Every problem of a configuration text, without applying it; empty if it is valid. Blocks. */
    List<ConfigError> validate(String text, String name);

    /** Validates, builds, warms and swaps in a configuration text, as a reload does; the running one stays on any error. Blocks. */
    ReloadRecord apply(String text, String name, String trigger);

    /** Reads the configuration file again and applies it. Blocks. */
    ReloadRecord reload(String trigger);

    /** The recent reloads and applies, the newest last. */
    List<ReloadRecord> reloads();

    /** What remote configuration is doing (last fetch, last error, running version), if a remote source is configured. */
    Optional<RemoteStatus> remoteStatus();

    /**
     * Fetches the remote bundle now and applies it under the usual rules (signature, validity, a higher version), as
     * the schedule does; empty if no remote source is configured. Blocks.
     */
    Optional<RemoteConfig.Outcome> fetchRemote();

    /**
     * Fetches the remote bundle now and applies it only if its version is lower than or equal to the running one (a
     * forced rollback, {@link RemoteConfig#rollback()}); empty if no remote source is configured. Blocks.
     */
    Optional<RemoteConfig.Outcome> rollbackRemote();

    /**
     * One configuration version of this process.
     *
     * @param version 1 for the configuration the gateway started with, one more for each one applied since
     * @param hash the SHA-256 (hex) of its text
     * @param source the file it was read from, or what posted it
     */
    record ConfigVersion(long version, String hash, String source) {
    }

    /**
     * One reload or apply, applied or refused.
     *
     * @param at when it ended
     * @param trigger what asked for it: {@code reload} (a signal or code), {@code file-change}, or {@code admin:NAME}
     * @param source the file or the name the posted text was given
     * @param applied whether the configuration is now in force
     * @param before the configuration in force before
     * @param after the configuration in force after (the same as {@code before} when refused)
     * @param errors why it was refused, each at its position in the text; empty when applied
     */
    record ReloadRecord(Instant at, String trigger, String source, boolean applied, ConfigVersion before, ConfigVersion after,
            List<ConfigError> errors) {
        public ReloadRecord {
            errors = List.copyOf(errors);
        }
    }
}

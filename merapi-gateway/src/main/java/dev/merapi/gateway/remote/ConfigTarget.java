package dev.merapi.gateway.remote;

import dev.merapi.gateway.config.GatewayConfig;

/**
 * What remote configuration applies bundles to: the gateway's running configuration and its reload path (validate,
 * build, warm, swap). Implementations are thread-safe; {@link #apply} blocks until the swap is done or refused.
 */
public interface ConfigTarget {
    /** The configuration in force now. */
    GatewayConfig running();

    /**
     * Builds, warms and swaps in {@code next}, a validated configuration; logs why if it cannot.
     *
     * @param text the text {@code next} was read from (the bundle's), for its version and the admin API
     * @param what what the configuration is, for messages
     * @return whether {@code next} is in force
     */
    boolean apply(GatewayConfig next, String text, String what);
}

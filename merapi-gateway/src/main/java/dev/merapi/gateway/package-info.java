/**
 * The Merapi binary: the `merapi` command line (`proxy`, `run`, `check`, `config example`) and the gateway that turns a
 * validated configuration into a running proxy, reloaded when the file changes.
 *
 * <p>Starting points: {@link dev.merapi.gateway.Main}, {@link dev.merapi.gateway.Gateway}, {@link dev.merapi.gateway.GatewayProxy}.
 */
@NullMarked
package dev.merapi.gateway;

import org.jspecify.annotations.NullMarked;

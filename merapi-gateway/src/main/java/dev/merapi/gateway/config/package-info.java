/**
 * The gateway's configuration: YAML loaded, bound and validated into an immutable {@link dev.merapi.gateway.config.GatewayConfig},
 * with every error reported against its path in the file.
 *
 * <p>Starting points: {@link dev.merapi.gateway.config.ConfigLoader}, {@link dev.merapi.gateway.config.GatewayConfig}.
 */
@NullMarked
package dev.merapi.gateway.config;

import org.jspecify.annotations.NullMarked;

/**
 * Byte tunnels: what an HTTP/1.1 connection becomes after a {@code 101 Switching Protocols} (WebSocket and any other
 * Upgrade) or a {@code 2xx} to CONNECT, relayed between the client's connection and the upstream one with
 * backpressure and an idle timeout.
 *
 * <p>Starting points: {@link dev.merapi.core.tunnels.Tunnel}, {@link dev.merapi.core.tunnels.TunnelEnd}.
 */
@NullMarked
package dev.merapi.core.tunnels;

import org.jspecify.annotations.NullMarked;

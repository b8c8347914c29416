/**
 * Example: a WebSocket proxy that passes upgrades through after the origin's 101, only as WebSocket and only for
 * allowed browser origins.
 *
 * <p>Starting point: {@link dev.merapi.examples.websocket.WebSocketProxy}.
 */
@NullMarked
package dev.merapi.examples.websocket;

import org.jspecify.annotations.NullMarked;

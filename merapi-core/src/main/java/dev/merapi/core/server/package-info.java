/**
 * The server runtime: services on shared event loops, signals, graceful shutdown.
 *
 * <p>Starting points: {@link dev.merapi.core.server.Server}, {@link dev.merapi.core.server.ServerConfig}.
 */
@NullMarked
package dev.merapi.core.server;

import org.jspecify.annotations.NullMarked;

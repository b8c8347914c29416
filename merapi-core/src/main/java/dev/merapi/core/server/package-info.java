/**
 * The server runtime: services on shared event loops, signals, graceful shutdown.
 *
 * <p>Starting points: {@link dev.merapi.core.server.Server}, {@link dev.merapi.core.server.ServerConfig}.
 */
package dev.merapi.core.server;

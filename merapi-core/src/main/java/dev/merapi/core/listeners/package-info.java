/**
 * Listening sockets, transports and the connection filter.
 *
 * <p>Starting points: {@link dev.merapi.core.listeners.ListenerConfig}, {@link dev.merapi.core.listeners.ConnectionFilter},
 * {@link dev.merapi.core.listeners.Transport}.
 */
package dev.merapi.core.listeners;

/**
 * Listening sockets, transports, and the stages an accepted connection passes through before its protocol serves
 * it (the connection filter first).
 *
 * <p>Starting points: {@link dev.merapi.core.listeners.ListenerConfig}, {@link dev.merapi.core.listeners.ConnectionStage},
 * {@link dev.merapi.core.listeners.ConnectionFilter},
 * {@link dev.merapi.core.listeners.Transport}.
 */
@NullMarked
package dev.merapi.core.listeners;

import org.jspecify.annotations.NullMarked;

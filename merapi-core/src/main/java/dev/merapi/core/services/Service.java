package dev.merapi.core.services;

/**
 * Something a {@link dev.merapi.core.server.Server} runs: a {@link ListeningService} that serves connections,
 * or a {@link BackgroundService} that does periodic work.
 */
public sealed interface Service permits ListeningService, BackgroundService {
    /** A short name for logs. */
    String name();
}

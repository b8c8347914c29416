/**
 * Services a server runs: listening services with their HTTP application, and background tasks.
 *
 * <p>Starting points: {@link dev.merapi.core.services.ListeningService}, {@link dev.merapi.core.apps.HttpServerApp},
 * {@link dev.merapi.core.services.BackgroundService}.
 */
@NullMarked
package dev.merapi.core.services;

import org.jspecify.annotations.NullMarked;

/**
 * Connection bookkeeping of the server, not public API: the tracker of open connections that graceful shutdown
 * drains, the per-listener connection limits, and the re-armable per-connection timer.
 *
 * <p>Starting points: {@link dev.merapi.core.internal.ConnectionTracker}, {@link dev.merapi.core.internal.ConnectionLimits}.
 */
@NullMarked
package dev.merapi.core.internal;

import org.jspecify.annotations.NullMarked;

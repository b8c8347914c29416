/**
 * Upstream connection pooling: one {@link dev.merapi.pool.ConnectionPool} per event loop, a hot LIFO per key in front of an LRU cap.
 *
 * <p>Starting point: {@link dev.merapi.pool.ConnectionPool}.
 */
@NullMarked
package dev.merapi.pool;

import org.jspecify.annotations.NullMarked;

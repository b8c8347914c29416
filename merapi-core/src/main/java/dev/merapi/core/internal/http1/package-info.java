/**
 * The parts of an HTTP/1 connection that the downstream and the upstream side share: reading a body out of
 * received bytes, framing a body as chunks, and the keep-alive rule. Internal: neither side's public type
 * depends on it.
 *
 * <p>Starting points: {@link dev.merapi.core.internal.http1.BodyReader},
 * {@link dev.merapi.core.internal.http1.ChunkWriter}, {@link dev.merapi.core.internal.http1.KeepAlive}.
 */
@NullMarked
package dev.merapi.core.internal.http1;

import org.jspecify.annotations.NullMarked;

/**
 * HTTP/1.1 on the server side: the downstream connection with its strict parser, keep-alive and pipelining,
 * and its limits and timeouts.
 *
 * <p>Starting points: {@link dev.merapi.core.protocols.http1.Http1Options}, {@link dev.merapi.core.protocols.http1.Http1ServerConnection}.
 */
@NullMarked
package dev.merapi.core.protocols.http1;

import org.jspecify.annotations.NullMarked;

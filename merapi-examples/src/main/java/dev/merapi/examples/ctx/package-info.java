/**
 * Example: a proxy that keeps per-request state in its context type and counts requests per client.
 *
 * <p>Starting point: {@link dev.merapi.examples.ctx.RequestCounter}.
 */
@NullMarked
package dev.merapi.examples.ctx;

import org.jspecify.annotations.NullMarked;

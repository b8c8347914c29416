/**
 * The programmable proxy: a {@link dev.merapi.proxy.ProxyHttp} names what to do at each phase of a request, and
 * {@link dev.merapi.proxy.HttpProxy} runs those phases for every request a listener accepts, connects upstream
 * through a per-loop pool, streams both bodies with backpressure and retries what is safe to retry.
 *
 * <p>Starting points: {@link dev.merapi.proxy.ProxyHttp} (the phases; docs/phases.md has the chart),
 * {@link dev.merapi.proxy.HttpProxy} (the engine and its service), {@link dev.merapi.proxy.Session} (one request as
 * the phases see it), {@link dev.merapi.proxy.BodyChunk} (a borrowed body piece), {@link dev.merapi.proxy.ProxyOptions}.
 *
 * <p>Threading: every phase of a request runs on its downstream connection's event loop and must not block; use
 * {@link dev.merapi.proxy.Session#offload} for blocking work.
 */
@NullMarked
package dev.merapi.proxy;

import org.jspecify.annotations.NullMarked;

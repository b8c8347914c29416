/**
 * HTTP/2 on the server side: h2c with prior knowledge on an HTTP/1.1 port, each stream served as a
 * {@link dev.merapi.core.protocols.ServerSession}, with flow control, graceful GOAWAY and flood defences.
 *
 * <p>Starting points: {@link dev.merapi.core.protocols.http2.Http2Options}, {@link dev.merapi.core.protocols.http2.Http2Protocol}.
 */
@NullMarked
package dev.merapi.core.protocols.http2;

import org.jspecify.annotations.NullMarked;

package dev.merapi.proxy;

import dev.merapi.core.connectors.Connector;
import dev.merapi.core.listeners.Transport;

/**
 * Settings of an {@link HttpProxy}.
 *
 * @param maxRetries how many times a retryable failure may be retried (default 3, at most 16)
 * @param replayBufferBytes the largest request body kept for replay on retry (default 64 KiB); a larger body is not retried
 * @param maxIdleUpstreamPerLoop the most idle upstream connections each event loop keeps (default 128)
 * @param transport the transport of the server's event loops (default {@link Transport#auto()})
 * @param splice whether large response bodies go from the upstream socket to the client's with the kernel's
 *     {@code splice}, never copied through the JVM (default on; the {@code merapi.splice} system property
 *     sets the default). It applies on epoll, over plain HTTP/1.1, to Content-Length bodies of at least
 *     {@link #SPLICE_MIN_BYTES} bytes, when the {@link ProxyHttp} filters no response body.
 * @param maxSplicePipesPerLoop the most client connections of each event loop that may hold a splice pipe (default
 *     {@value dev.merapi.core.connectors.Connector#DEFAULT_SPLICE_PIPES_PER_LOOP}). The kernel splices through a pipe
 *     of two file descriptors that a client connection keeps, and reuses, until it closes; above the cap a body is
 *     copied through the JVM instead, so splicing never costs more than twice this many descriptors per loop.
 *     0 turns splicing off.
 */
public record ProxyOptions(int maxRetries, int replayBufferBytes, int maxIdleUpstreamPerLoop, Transport transport,
        boolean splice, int maxSplicePipesPerLoop) {
    /** The most retries allowed. */
    public static final int MAX_RETRIES = 16;

    /** The smallest body remainder worth splicing: below it, a copy costs less than setting up the splice. */
    public static final int SPLICE_MIN_BYTES = 16 * 1024;

    public ProxyOptions {
        if (maxRetries < 0 || maxRetries > MAX_RETRIES) {
            throw new IllegalArgumentException("maxRetries must be 0 to " + MAX_RETRIES + ": " + maxRetries);
        }
        if (replayBufferBytes < 0) {
            throw new IllegalArgumentException("replayBufferBytes must not be negative: " + replayBufferBytes);
        }
        if (maxIdleUpstreamPerLoop < 0) {
            throw new IllegalArgumentException("maxIdleUpstreamPerLoop must not be negative: " + maxIdleUpstreamPerLoop);
        }
        java.util.Objects.requireNonNull(transport, "transport");
        if (maxSplicePipesPerLoop < 0) {
            throw new IllegalArgumentException("maxSplicePipesPerLoop must not be negative: " + maxSplicePipesPerLoop);
        }
    }

    /** The defaults. */
    public static ProxyOptions defaults() {
        return new ProxyOptions(3, 64 * 1024, 128, Transport.auto(),
                Boolean.parseBoolean(System.getProperty("merapi.splice", "true")), Connector.DEFAULT_SPLICE_PIPES_PER_LOOP);
    }

    /** A copy with another retry bound. */
    public ProxyOptions withMaxRetries(int value) {
        return new ProxyOptions(value, replayBufferBytes, maxIdleUpstreamPerLoop, transport, splice, maxSplicePipesPerLoop);
    }

    /** A copy with another replay buffer size. */
    public ProxyOptions withReplayBufferBytes(int value) {
        return new ProxyOptions(maxRetries, value, maxIdleUpstreamPerLoop, transport, splice, maxSplicePipesPerLoop);
    }

    /** A copy with another idle-connection cap. */
    public ProxyOptions withMaxIdleUpstreamPerLoop(int value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, value, transport, splice, maxSplicePipesPerLoop);
    }

    /** A copy for another transport. */
    public ProxyOptions withTransport(Transport value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, value, splice, maxSplicePipesPerLoop);
    }

    /** A copy with splicing of response bodies on or off. */
    public ProxyOptions withSplice(boolean value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, transport, value, maxSplicePipesPerLoop);
    }

    /** A copy with another cap on the splice pipes of each event loop. */
    public ProxyOptions withMaxSplicePipesPerLoop(int value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, transport, splice, value);
    }
}

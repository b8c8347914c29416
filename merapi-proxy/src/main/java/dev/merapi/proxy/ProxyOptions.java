package dev.merapi.proxy;

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
 */
public record ProxyOptions(int maxRetries, int replayBufferBytes, int maxIdleUpstreamPerLoop, Transport transport,
        boolean splice) {
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
    }

    /** The defaults. */
    public static ProxyOptions defaults() {
        return new ProxyOptions(3, 64 * 1024, 128, Transport.auto(),
                Boolean.parseBoolean(System.getProperty("merapi.splice", "true")));
    }

    /** A copy with another retry bound. */
    public ProxyOptions withMaxRetries(int value) {
        return new ProxyOptions(value, replayBufferBytes, maxIdleUpstreamPerLoop, transport, splice);
    }

    /** A copy with another replay buffer size. */
    public ProxyOptions withReplayBufferBytes(int value) {
        return new ProxyOptions(maxRetries, value, maxIdleUpstreamPerLoop, transport, splice);
    }

    /** A copy with another idle-connection cap. */
    public ProxyOptions withMaxIdleUpstreamPerLoop(int value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, value, transport, splice);
    }

    /** A copy for another transport. */
    public ProxyOptions withTransport(Transport value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, value, splice);
    }

    /** A copy with splicing of response bodies on or off. */
    public ProxyOptions withSplice(boolean value) {
        return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, transport, value);
    }
}

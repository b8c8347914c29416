package dev.merapi.proxy;

import dev.merapi.core.connectors.Connector;
import dev.merapi.core.listeners.Transport;
import dev.merapi.http.Tokens;
import java.util.Objects;

/**
 * Settings of an {@link HttpProxy}. Start from {@link #defaults()} or {@link #builder()}.
 *
 * @param maxRetries how many times a retryable failure may be retried (default 3, at most 16)
 * @param replayBufferBytes the largest request body kept for replay on retry (default 64 KiB); a larger body is not retried
 * @param maxIdleUpstreamPerLoop the most idle upstream connections each event loop keeps (default 128)
 * @param transport the transport of the server's event loops (default {@link Transport#auto()})
 * @param splice whether large response bodies go from the upstream socket to the client's with the kernel's
 *     {@code splice}, never copied through the JVM (default on; the {@code merapi.splice} system property
 *     sets the default). It applies on epoll, over plain HTTP/1.1, to Content-Length bodies of at least
 *     {@link #SPLICE_MIN_BYTES} bytes, when the {@link ProxyHttp} filters no response body.
 * @param via the pseudonym this proxy writes in {@code Via} (RFC 9110 §7.6.3) on every request it forwards and every
 *     response it relays, as {@code Via: 1.1 merapi}; a request whose {@code Via} already names it has come round
 *     a loop and is answered 508 Loop Detected. Default {@value #DEFAULT_VIA}; give each proxy of a chain its own.
 *     Empty: no Via and no loop detection.
 * @param forwardedHeaders what the origin is told about the client (default {@link ForwardedHeaders#defaults()}:
 *     X-Forwarded-For and its kin set afresh, none trusted from the client)
 * @param maxSplicePipesPerLoop the most client connections of each event loop that may hold a splice pipe (default
 *     {@value dev.merapi.core.connectors.Connector#DEFAULT_SPLICE_PIPES_PER_LOOP}). The kernel splices through a pipe
 *     of two file descriptors that a client connection keeps, and reuses, until it closes; above the cap a body is
 *     copied through the JVM instead, so splicing never costs more than twice this many descriptors per loop.
 *     0 turns splicing off.
 */
public record ProxyOptions(int maxRetries, int replayBufferBytes, int maxIdleUpstreamPerLoop, Transport transport,
        boolean splice, String via, ForwardedHeaders forwardedHeaders, int maxSplicePipesPerLoop) {
    /** The most retries allowed. */
    public static final int MAX_RETRIES = 16;

    /** The smallest body remainder worth splicing: below it, a copy costs less than setting up the splice. */
    public static final int SPLICE_MIN_BYTES = 16 * 1024;

    /** The default pseudonym in {@code Via}. */
    public static final String DEFAULT_VIA = "merapi";

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
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(via, "via");
        if (!via.isEmpty() && (via.length() > 64 || !Tokens.isToken(via))) {
            throw new IllegalArgumentException("the Via pseudonym must be a token of at most 64 characters"
                    + " (letters, digits and !#$%&'*+-.^_`|~): '" + via + "'");
        }
        Objects.requireNonNull(forwardedHeaders, "forwardedHeaders");
        if (maxSplicePipesPerLoop < 0) {
            throw new IllegalArgumentException("maxSplicePipesPerLoop must not be negative: " + maxSplicePipesPerLoop);
        }
    }

    /** The defaults. */
    public static ProxyOptions defaults() {
        return new ProxyOptions(3, 64 * 1024, 128, Transport.auto(),
                Boolean.parseBoolean(System.getProperty("merapi.splice", "true")), DEFAULT_VIA, ForwardedHeaders.defaults(),
                Connector.DEFAULT_SPLICE_PIPES_PER_LOOP);
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder(defaults());
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A copy with another retry bound. */
    public ProxyOptions withMaxRetries(int value) {
        return toBuilder().maxRetries(value).build();
    }

    /** A copy with another replay buffer size. */
    public ProxyOptions withReplayBufferBytes(int value) {
        return toBuilder().replayBufferBytes(value).build();
    }

    /** A copy with another idle-connection cap. */
    public ProxyOptions withMaxIdleUpstreamPerLoop(int value) {
        return toBuilder().maxIdleUpstreamPerLoop(value).build();
    }

    /** A copy for another transport. */
    public ProxyOptions withTransport(Transport value) {
        return toBuilder().transport(value).build();
    }

    /** A copy with splicing of response bodies on or off. */
    public ProxyOptions withSplice(boolean value) {
        return toBuilder().splice(value).build();
    }

    /** A copy with another cap on the splice pipes of each event loop. */
    public ProxyOptions withMaxSplicePipesPerLoop(int value) {
        return toBuilder().maxSplicePipesPerLoop(value).build();
    }

    /** Builds {@link ProxyOptions}; each setter documents nothing new, see the record's components. */
    public static final class Builder {
        private int maxRetries;
        private int replayBufferBytes;
        private int maxIdleUpstreamPerLoop;
        private Transport transport;
        private boolean splice;
        private String via;
        private ForwardedHeaders forwardedHeaders;
        private int maxSplicePipesPerLoop;

        private Builder(ProxyOptions from) {
            maxRetries = from.maxRetries;
            replayBufferBytes = from.replayBufferBytes;
            maxIdleUpstreamPerLoop = from.maxIdleUpstreamPerLoop;
            transport = from.transport;
            splice = from.splice;
            via = from.via;
            forwardedHeaders = from.forwardedHeaders;
            maxSplicePipesPerLoop = from.maxSplicePipesPerLoop;
        }

        public Builder maxRetries(int value) {
            maxRetries = value;
            return this;
        }

        public Builder replayBufferBytes(int value) {
            replayBufferBytes = value;
            return this;
        }

        public Builder maxIdleUpstreamPerLoop(int value) {
            maxIdleUpstreamPerLoop = value;
            return this;
        }

        public Builder transport(Transport value) {
            transport = value;
            return this;
        }

        public Builder splice(boolean value) {
            splice = value;
            return this;
        }

        /** The Via pseudonym; empty for no Via and no loop detection. */
        public Builder via(String pseudonym) {
            via = pseudonym;
            return this;
        }

        public Builder forwardedHeaders(ForwardedHeaders value) {
            forwardedHeaders = value;
            return this;
        }

        public Builder maxSplicePipesPerLoop(int value) {
            maxSplicePipesPerLoop = value;
            return this;
        }

        public ProxyOptions build() {
            return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, transport, splice, via,
                    forwardedHeaders, maxSplicePipesPerLoop);
        }
    }
}

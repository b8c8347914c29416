package dev.merapi.core.protocols.http2;

import dev.merapi.error.Bounds;
import java.time.Duration;
import java.util.Objects;

/**
 * How a listener speaks HTTP/2 to clients: stream and window limits, and the bounds that defend it against floods.
 * Timeouts and the header-list limit are the listener's HTTP/1 ones ({@code Http1Options}), so a request is held to
 * the same limits whichever protocol the client speaks. Immutable; start from {@link #DEFAULT}, {@link #builder()} or
 * {@link #toBuilder()}.
 *
 * <pre>{@code
 * Http2Options options = Http2Options.builder().maxConcurrentStreams(50).build();
 * }</pre>
 *
 * <p>Every bound here is checked by the connection as frames arrive; a client over one gets GOAWAY with
 * {@code ENHANCE_YOUR_CALM} (or the error code RFC 9113 names) and the event is recorded in
 * {@link dev.merapi.core.security.SecurityEvents} under the rule given with each setting.
 *
 * @param maxConcurrentStreams most streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; default
 *        100, 1 to 10000); one more is refused with RST_STREAM {@code REFUSED_STREAM}
 * @param initialStreamWindow the receive window of each stream, in bytes (SETTINGS_INITIAL_WINDOW_SIZE; default 65535,
 *        at least 16384): how much request body a stream may hold before the application reads it
 * @param connectionWindow the receive window of the whole connection, in bytes (default 1 MiB, at least 65535): the
 *        most request body a connection holds at once however many streams wait, so memory stays bounded while one
 *        slow stream cannot stall the others until it holds this much
 * @param maxRstFramesPerWindow RST_STREAM frames a client may send (rapid reset, CVE-2023-44487) or provoke
 *        (MadeYouReset, CVE-2025-55163) within {@code rstFramesWindow} before the connection gets GOAWAY (default 200,
 *        at least 1); rule {@code h2-rapid-reset}
 * @param rstFramesWindow the window over which {@code maxRstFramesPerWindow} is counted (default 30 s, 1 s to 1 h)
 * @param maxQueuedControlFrames control frames (SETTINGS and PING acknowledgements, RST_STREAM) that may wait to be
 *        written to a client that does not read them (default 1000, at least 16); rule {@code h2-control-flood}
 * @param maxConsecutiveEmptyDataFrames DATA frames without payload or END_STREAM in a row (default 2, at least 1);
 *        rule {@code h2-empty-data-flood}
 * @param maxSmallContinuationFrames CONTINUATION frames of a small size in one header block (default 16, at least
 *        1); a CONTINUATION flood is also bounded by the header-list limit; rule {@code h2-continuation-flood}
 * @param keepAliveInterval how long a connection may go without reading anything from the client before Merapi sends
 *        it a PING (default 60 s, 1 s to 1 h, or {@link Duration#ZERO} for never): a client that vanished without a
 *        FIN (a mobile that lost its network, a crashed host behind NAT) is found while it still holds streams open,
 *        such as a long gRPC or server-sent-events stream, instead of when TCP gives up hours later. One 17-byte
 *        frame per idle minute costs nothing, and every HTTP/2 client acknowledges PING by itself
 * @param keepAliveTimeout how long the PING's acknowledgement may take before the connection is closed (default
 *        20 s, 1 s to 1 h)
 */
public record Http2Options(int maxConcurrentStreams, int initialStreamWindow, int connectionWindow,
        int maxRstFramesPerWindow, Duration rstFramesWindow, int maxQueuedControlFrames, int maxConsecutiveEmptyDataFrames,
        int maxSmallContinuationFrames, Duration keepAliveInterval, Duration keepAliveTimeout) {

    /** The defaults. */
    public static final Http2Options DEFAULT = new Http2Options(100, 65_535, 1024 * 1024, 200, Duration.ofSeconds(30),
            1000, 2, 16, Duration.ofSeconds(60), Duration.ofSeconds(20));

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the first setting out of its range
     */
    public Http2Options {
        checkMaxConcurrentStreams(maxConcurrentStreams);
        checkInitialStreamWindow(initialStreamWindow);
        checkConnectionWindow(connectionWindow);
        checkMaxRstFrames(maxRstFramesPerWindow);
        checkRstWindow(rstFramesWindow);
        checkMaxQueuedControlFrames(maxQueuedControlFrames);
        checkMaxEmptyData(maxConsecutiveEmptyDataFrames);
        checkMaxSmallContinuation(maxSmallContinuationFrames);
        checkKeepAliveInterval(keepAliveInterval);
        checkKeepAliveTimeout(keepAliveTimeout);
    }

    /** Whether idle connections are sent PING ({@link #keepAliveInterval} is not zero). */
    public boolean keepAlive() {
        return !keepAliveInterval.isZero();
    }

    private static Duration checkKeepAliveInterval(Duration v) {
        Objects.requireNonNull(v, "keepAliveInterval");
        return v.isZero() ? v : Bounds.duration("keepAliveInterval", v, Duration.ofSeconds(1), Duration.ofHours(1));
    }

    private static Duration checkKeepAliveTimeout(Duration v) {
        return Bounds.duration("keepAliveTimeout", Objects.requireNonNull(v, "keepAliveTimeout"), Duration.ofSeconds(1),
                Duration.ofHours(1));
    }

    private static int checkMaxConcurrentStreams(int v) {
        return Bounds.count("maxConcurrentStreams", v, 1, 10_000);
    }

    private static int checkInitialStreamWindow(int v) {
        return Bounds.atLeast("initialStreamWindow", v, 16_384);
    }

    private static int checkConnectionWindow(int v) {
        return Bounds.atLeast("connectionWindow", v, 65_535);
    }

    private static int checkMaxRstFrames(int v) {
        return Bounds.atLeast("maxRstFramesPerWindow", v, 1);
    }

    private static Duration checkRstWindow(Duration v) {
        return Bounds.duration("rstFramesWindow", v, Duration.ofSeconds(1), Duration.ofHours(1));
    }

    private static int checkMaxQueuedControlFrames(int v) {
        return Bounds.atLeast("maxQueuedControlFrames", v, 16);
    }

    private static int checkMaxEmptyData(int v) {
        return Bounds.atLeast("maxConsecutiveEmptyDataFrames", v, 1);
    }

    private static int checkMaxSmallContinuation(int v) {
        return Bounds.atLeast("maxSmallContinuationFrames", v, 1);
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Builds {@link Http2Options}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the setting and its range; the record's components document each setting. Not thread-safe.
     */
    public static final class Builder {
        private int maxConcurrentStreams;
        private int initialStreamWindow;
        private int connectionWindow;
        private int maxRstFramesPerWindow;
        private Duration rstFramesWindow;
        private int maxQueuedControlFrames;
        private int maxConsecutiveEmptyDataFrames;
        private int maxSmallContinuationFrames;
        private Duration keepAliveInterval;
        private Duration keepAliveTimeout;

        private Builder(Http2Options o) {
            maxConcurrentStreams = o.maxConcurrentStreams;
            initialStreamWindow = o.initialStreamWindow;
            connectionWindow = o.connectionWindow;
            maxRstFramesPerWindow = o.maxRstFramesPerWindow;
            rstFramesWindow = o.rstFramesWindow;
            maxQueuedControlFrames = o.maxQueuedControlFrames;
            maxConsecutiveEmptyDataFrames = o.maxConsecutiveEmptyDataFrames;
            maxSmallContinuationFrames = o.maxSmallContinuationFrames;
            keepAliveInterval = o.keepAliveInterval;
            keepAliveTimeout = o.keepAliveTimeout;
        }

        public Builder maxConcurrentStreams(int v) {
            maxConcurrentStreams = checkMaxConcurrentStreams(v);
            return this;
        }

        public Builder initialStreamWindow(int v) {
            initialStreamWindow = checkInitialStreamWindow(v);
            return this;
        }

        public Builder connectionWindow(int v) {
            connectionWindow = checkConnectionWindow(v);
            return this;
        }

        public Builder maxRstFramesPerWindow(int v) {
            maxRstFramesPerWindow = checkMaxRstFrames(v);
            return this;
        }

        public Builder rstFramesWindow(Duration v) {
            rstFramesWindow = checkRstWindow(Objects.requireNonNull(v, "rstFramesWindow"));
            return this;
        }

        public Builder maxQueuedControlFrames(int v) {
            maxQueuedControlFrames = checkMaxQueuedControlFrames(v);
            return this;
        }

        public Builder maxConsecutiveEmptyDataFrames(int v) {
            maxConsecutiveEmptyDataFrames = checkMaxEmptyData(v);
            return this;
        }

        public Builder maxSmallContinuationFrames(int v) {
            maxSmallContinuationFrames = checkMaxSmallContinuation(v);
            return this;
        }

        /** {@link Duration#ZERO} turns the PING keepalive off. */
        public Builder keepAliveInterval(Duration v) {
            keepAliveInterval = checkKeepAliveInterval(v);
            return this;
        }

        public Builder keepAliveTimeout(Duration v) {
            keepAliveTimeout = checkKeepAliveTimeout(v);
            return this;
        }

        public Http2Options build() {
            return new Http2Options(maxConcurrentStreams, initialStreamWindow, connectionWindow, maxRstFramesPerWindow,
                    rstFramesWindow, maxQueuedControlFrames, maxConsecutiveEmptyDataFrames, maxSmallContinuationFrames,
                    keepAliveInterval, keepAliveTimeout);
        }
    }
}

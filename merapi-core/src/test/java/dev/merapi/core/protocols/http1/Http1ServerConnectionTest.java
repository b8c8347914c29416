package dev.merapi.core.protocols.http1;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.internal.http1.Wire;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The downstream connection's timers on an {@link EmbeddedChannel} whose clock the test moves: each timeout is
 * checked just before and just after it passes, and no test sleeps.
 */
class Http1ServerConnectionTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final MockTicker ticker = Ticker.newMockTicker();
    private final List<ServerSession> sessions = new ArrayList<>();
    private EmbeddedChannel channel;

    @AfterEach
    void releaseEverything() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    private EmbeddedChannel connect(Http1Options options) {
        Http1ServerConnection connection = new Http1ServerConnection(sessions::add, options, new ConnectionTracker());
        channel = EmbeddedChannel.builder().ticker(ticker).handlers(connection).build();
        return channel;
    }

    private void send(String raw) {
        channel.writeInbound(Wire.text(raw));
    }

    /** Moves the clock on and runs whatever timer that made due. */
    private void advance(Duration d) {
        ticker.advance(d.toNanos(), TimeUnit.NANOSECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    private String written() {
        return Wire.written(channel);
    }

    @Test
    void aHeadThatStopsHalfWayIsAnswered408WhenTheHeaderReadTimeoutPasses() {
        connect(Http1Options.builder().headerReadTimeout(TIMEOUT).build());
        send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow");
        advance(TIMEOUT.minusSeconds(1));
        assertThat(written()).as("nothing before the timeout").isEmpty();
        assertThat(channel.isOpen()).isTrue();
        advance(Duration.ofSeconds(2));
        assertThat(written()).startsWith("HTTP/1.1 408 ").contains("Connection: close");
        assertThat(channel.isOpen()).isFalse();
        assertThat(sessions).as("the application never saw it").isEmpty();
    }

    @Test
    void aConnectionThatSendsNothingClosesWhenTheFirstByteTimeoutPasses() {
        connect(Http1Options.builder().firstByteTimeout(TIMEOUT).build());
        advance(TIMEOUT.minusSeconds(1));
        assertThat(channel.isOpen()).isTrue();
        advance(Duration.ofSeconds(2));
        assertThat(channel.isOpen()).isFalse();
        assertThat(written()).as("closed without a response").isEmpty();
    }

    @Test
    void anIdleKeptAliveConnectionClosesWhenTheKeepAliveTimeoutPasses() {
        connect(Http1Options.builder().keepAliveTimeout(TIMEOUT).build());
        send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(sessions).hasSize(1);
        sessions.getFirst().writeResponseHeader(ResponseHeader.of(204), true);
        channel.flush();
        assertThat(written()).startsWith("HTTP/1.1 204 ");
        advance(TIMEOUT.minusSeconds(1));
        assertThat(channel.isOpen()).as("kept alive before the timeout").isTrue();
        advance(Duration.ofSeconds(2));
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aRequestBodyThatStallsFailsWithABodyReadTimeoutFromDownstream() {
        connect(Http1Options.builder().bodyReadTimeout(TIMEOUT).build());
        send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
        ServerSession session = sessions.getFirst();
        List<String> pieces = new ArrayList<>();
        List<ProxyError> errors = new ArrayList<>();
        session.setHandler(new ServerSession.Handler() {
            @Override
            public void onBody(ByteBuf data, boolean endOfStream) {
                pieces.add(data.toString(StandardCharsets.ISO_8859_1));
                data.release();
                session.readBody();
            }

            @Override
            public void onWritable() {
            }

            @Override
            public void onError(ProxyError error) {
                errors.add(error);
            }
        });
        session.readBody();
        assertThat(pieces).containsExactly("hello");
        advance(TIMEOUT.minusSeconds(1));
        assertThat(errors).isEmpty();
        advance(Duration.ofSeconds(2));
        assertThat(errors).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(ErrorType.Kind.READ_TIMEOUT);
            assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
        });
        session.abort();
    }
}

package dev.merapi.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.listeners.Transport;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TransportTest {

    static Stream<Transport> availableTransports() {
        return Arrays.stream(Transport.values()).filter(Transport::isAvailable);
    }

    @ParameterizedTest
    @MethodSource("availableTransports")
    void anEventLoopTellsTheTransportItRuns(Transport transport) {
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        try {
            assertThat(Transport.of(group.next())).isEqualTo(transport);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void anEventLoopWithoutIoIsRefusedByName() {
        DefaultEventLoop loop = new DefaultEventLoop();
        try {
            assertThatThrownBy(() -> Transport.of(loop)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("runs none of the transports epoll, io_uring or nio");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void autoIsTheBestTransportOfThisMachine() {
        assertThat(Transport.auto()).isEqualTo(Transport.EPOLL.isAvailable() ? Transport.EPOLL : Transport.NIO);
    }
}

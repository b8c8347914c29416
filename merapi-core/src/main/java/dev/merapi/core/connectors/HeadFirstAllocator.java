package dev.merapi.core.connectors;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Netty's adaptive read sizing, except that a read for a response head takes at most
 * {@link Connector#HEAD_READ_BYTES}, so that the body mostly stays in the socket where
 * {@link ClientSession#spliceBody} can move it without copying it into the JVM, and that a splice round
 * takes all the kernel's pipe holds.
 */
final class HeadFirstAllocator implements RecvByteBufAllocator {
    private final Http1ClientConnection connection;

    HeadFirstAllocator(Http1ClientConnection connection) {
        this.connection = connection;
    }

    @Override
    public Handle newHandle() {
        return new CappedHandle((ExtendedHandle) AdaptiveRecvByteBufAllocator.DEFAULT.newHandle(), connection);
    }

    private static final class CappedHandle extends DelegatingHandle implements ExtendedHandle {
        private final Http1ClientConnection connection;

        CappedHandle(ExtendedHandle delegate, Http1ClientConnection connection) {
            super(delegate);
            this.connection = connection;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return alloc.ioBuffer(guess());
        }

        @Override
        public int guess() {
            return connection.readSize(delegate().guess());
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return ((ExtendedHandle) delegate()).continueReading(maybeMoreDataSupplier);
        }
    }
}

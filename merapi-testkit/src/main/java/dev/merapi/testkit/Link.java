package dev.merapi.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * The byte streams of one accepted connection, over TCP or a Unix domain socket, with a read timeout on both.
 *
 * <p>Reads and writes happen on the connection's own virtual thread; {@link #close()} may be called from any
 * thread and unblocks them.
 */
sealed interface Link {

    /** Longest wait for the peer's close in {@link #closeGracefully()}. */
    int LINGER_MILLIS = 1000;

    /** The stream the request bytes arrive on; a read blocks at most the read timeout while timeouts are on. */
    InputStream input();

    /** The stream the response bytes leave on; unbuffered. */
    OutputStream output();

    /** Blocks, discarding what the peer sends, until the peer closes or {@link #close()} is called. */
    void awaitClosed();

    /**
     * Half-closes and, over TCP, waits up to {@value #LINGER_MILLIS} ms for the peer to close too while
     * discarding what it sends, then closes. Lingering keeps unread bytes from turning the close into a reset
     * that could destroy a response the peer has not read yet (RFC 9112 §9.6). Never throws.
     */
    void closeGracefully();

    /** Closes abortively: a TCP RST where the transport has one, a plain close otherwise. Never throws. */
    void reset();

    /** Closes the connection and unblocks any read or write on it; idempotent and never throws. */
    void close();

    /** A TCP connection; timeouts use {@code SO_TIMEOUT}. */
    record Tcp(Socket socket, InputStream input, OutputStream output) implements Link {

        /** Wraps an accepted socket, switching off Nagle so that each write leaves at once. */
        static Tcp of(Socket socket, Duration readTimeout) throws IOException {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(Math.clamp(readTimeout.toMillis(), 1, Integer.MAX_VALUE));
            return new Tcp(socket, socket.getInputStream(), socket.getOutputStream());
        }

        @Override
        public void awaitClosed() {
            try {
                socket.setSoTimeout(0);
                discardUntilEndOfStream(input);
            } catch (IOException closed) {
                // Either side closed the connection, which is what we were waiting for.
            }
        }

        @Override
        public void closeGracefully() {
            try {
                socket.shutdownOutput();
                socket.setSoTimeout(LINGER_MILLIS);
                long deadline = System.nanoTime() + Duration.ofMillis(LINGER_MILLIS).toNanos();
                byte[] sink = new byte[8192];
                while (System.nanoTime() < deadline && input.read(sink) >= 0) {
                    // Discard until the peer closes or the linger time is over.
                }
            } catch (IOException closedOrTimedOut) {
                // Either way the connection is done.
            } finally {
                close();
            }
        }

        @Override
        public void reset() {
            try {
                socket.setSoLinger(true, 0);
            } catch (IOException alreadyClosed) {
                // Nothing left to reset.
            }
            close();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Closing is best effort; the descriptor is released either way.
            }
        }
    }

    /**
     * A Unix domain socket connection. Channels have no read timeout, so a watchdog virtual thread closes the
     * channel when one read has blocked longer than the timeout.
     */
    final class Unix implements Link {
        private static final long NOT_READING = Long.MIN_VALUE;

        private final SocketChannel channel;
        private final long timeoutNanos;
        private final InputStream input;
        private final OutputStream output;
        private final Thread watchdog;
        private volatile long readingSince = NOT_READING;
        private volatile boolean timeoutsOn = true;

        Unix(SocketChannel channel, Duration readTimeout, String name) {
            this.channel = channel;
            this.timeoutNanos = readTimeout.toNanos();
            InputStream raw = Channels.newInputStream(channel);
            this.input = new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
                }

                @Override
                public int read(byte[] buffer, int offset, int length) throws IOException {
                    readingSince = System.nanoTime();
                    try {
                        return raw.read(buffer, offset, length);
                    } finally {
                        readingSince = NOT_READING;
                    }
                }
            };
            this.output = Channels.newOutputStream(channel);
            long tickMillis = Math.clamp(readTimeout.toMillis() / 10, 10, 1000);
            this.watchdog = Thread.ofVirtual().name(name + "-watchdog").start(() -> watch(tickMillis));
        }

        private void watch(long tickMillis) {
            try {
                while (channel.isOpen()) {
                    Thread.sleep(tickMillis);
                    long since = readingSince;
                    if (timeoutsOn && since != NOT_READING && System.nanoTime() - since > timeoutNanos) {
                        closeChannel();
                    }
                }
            } catch (InterruptedException closing) {
                // close() interrupts the watchdog so that it ends with the connection.
            }
        }

        @Override
        public InputStream input() {
            return input;
        }

        @Override
        public OutputStream output() {
            return output;
        }

        @Override
        public void awaitClosed() {
            timeoutsOn = false;
            try {
                discardUntilEndOfStream(input);
            } catch (IOException closed) {
                // Either side closed the connection, which is what we were waiting for.
            }
        }

        @Override
        public void closeGracefully() {
            try {
                channel.shutdownOutput();
            } catch (IOException alreadyClosed) {
                // Nothing left to half-close.
            }
            close();
        }

        @Override
        public void reset() {
            close();
        }

        @Override
        public void close() {
            closeChannel();
            watchdog.interrupt();
            boolean interrupted = Thread.interrupted();
            try {
                watchdog.join(Duration.ofSeconds(1));
            } catch (InterruptedException e) {
                interrupted = true;
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private void closeChannel() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing is best effort; the descriptor is released either way.
            }
        }
    }

    private static void discardUntilEndOfStream(InputStream input) throws IOException {
        byte[] sink = new byte[8192];
        while (input.read(sink) >= 0) {
            // Keep reading so that the peer's close is noticed; its bytes are not needed.
        }
    }
}

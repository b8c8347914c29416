package dev.merapi.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * A real HTTP/1.1 origin server for tests, built on blocking {@code java.net} sockets and virtual threads only, so
 * that it is an independent, byte-exact peer for a proxy under test.
 *
 * <p>It records every request ({@link #takeRequest()}) and answers with the responses {@link #enqueue enqueued},
 * in order, then with its {@link #setDispatcher dispatcher}. Faults are data: a {@link MockResponse} can carry an
 * {@link OriginFault} that closes, resets or stalls the connection at a chosen point.
 *
 * <pre>{@code
 * try (MockOrigin origin = MockOrigin.start()) {
 *     origin.enqueue(MockResponse.ok("hi"));
 *     origin.enqueue(MockResponse.builder().fault(new OriginFault.ResetMidBody(10)).body("0123456789abcdef").build());
 *     // ... send two requests through the proxy to origin.address() ...
 *     assertThat(origin.takeRequest().header("Host")).contains("example.test");
 * }
 * }</pre>
 *
 * <p>Each accepted connection is served by its own virtual thread: requests on it are read one after the other,
 * with keep-alive by default. Nothing blocks forever: each read waits at most the {@link Builder#readTimeout read
 * timeout} (so an idle keep-alive connection is closed after it), and {@link #close()} closes every connection and
 * waits for its thread. All methods are thread-safe.
 */
public final class MockOrigin implements AutoCloseable {

    private static final Duration TAKE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration FINISHING_TIMEOUT = Duration.ofSeconds(2);
    private static final Function<RecordedRequest, MockResponse> DEFAULT_DISPATCHER = request ->
            MockResponse.builder().header("Content-Type", "text/plain").body("hello from mock origin\n").build();

    private final Listener listener;
    private final Builder settings;
    private final String name;
    private final Thread acceptThread;
    private final Map<OriginConnection, Thread> connections = new ConcurrentHashMap<>();
    private final AtomicInteger connectionCount = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final BlockingQueue<RecordedRequest> untaken = new LinkedBlockingQueue<>();
    private final List<RecordedRequest> recorded = new ArrayList<>();
    private final List<UnservedRequest> unserved = new ArrayList<>();
    private final Deque<MockResponse> queue = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private volatile Function<RecordedRequest, MockResponse> dispatcher = DEFAULT_DISPATCHER;
    private int open;

    private MockOrigin(Listener listener, Builder settings) {
        this.listener = listener;
        this.settings = settings.copy();
        this.name = "mock-origin-" + listener.label();
        this.acceptThread = Thread.ofVirtual().name(name + "-accept").start(this::acceptLoop);
    }

    /** Starts an origin on {@code 127.0.0.1} and an ephemeral port with default settings; never blocks. */
    public static MockOrigin start() {
        return builder().start();
    }

    /**
     * Starts an origin on a Unix domain socket at {@code path} with default settings; the socket file must not
     * exist yet and is deleted by {@link #close()}.
     */
    public static MockOrigin startUnix(Path path) {
        return builder().startUnix(path);
    }

    /** Starts configuring an origin: read timeout 30 s, head limit 64 KiB, bodies retained up to 1 MiB. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The TCP port the origin listens on.
     *
     * @throws IllegalStateException if the origin listens on a Unix domain socket
     */
    public int port() {
        return address().getPort();
    }

    /**
     * The TCP address the origin listens on, always on {@code 127.0.0.1}.
     *
     * @throws IllegalStateException if the origin listens on a Unix domain socket
     */
    public InetSocketAddress address() {
        if (listener.address() instanceof InetSocketAddress inet) {
            return inet;
        }
        throw new IllegalStateException("this origin listens on a Unix domain socket: " + listener.address());
    }

    /** The address the origin listens on: an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress}. */
    public SocketAddress socketAddress() {
        return listener.address();
    }

    /**
     * An {@code http://127.0.0.1:port} URI with this path and query.
     *
     * @param pathAndQuery a string starting with {@code /}
     * @throws IllegalStateException if the origin listens on a Unix domain socket
     */
    public URI uri(String pathAndQuery) {
        if (!pathAndQuery.startsWith("/")) {
            throw new IllegalArgumentException("path must start with '/': " + pathAndQuery);
        }
        return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
    }

    /** Adds a response to answer the next request that finds no earlier response waiting; FIFO. */
    public void enqueue(MockResponse response) {
        Objects.requireNonNull(response, "response");
        lock.lock();
        try {
            queue.addLast(response);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sets how requests are answered once the queue is empty. The function runs on the connection's virtual
     * thread and may block; if it throws, the request is answered with {@code 500} and the exception's text.
     *
     * @implSpec the default answers {@code 200} with {@code Content-Type: text/plain} and the body
     *           {@code "hello from mock origin\n"}
     */
    public void setDispatcher(Function<RecordedRequest, MockResponse> dispatcher) {
        this.dispatcher = Objects.requireNonNull(dispatcher, "dispatcher");
    }

    /**
     * Returns the oldest request not taken yet, waiting up to 10 s for one to arrive.
     *
     * @throws AssertionError if no request arrives in time
     */
    public RecordedRequest takeRequest() {
        return takeRequest(TAKE_TIMEOUT);
    }

    /**
     * Returns the oldest request not taken yet, waiting up to {@code timeout} for one to arrive.
     *
     * @throws AssertionError if no request arrives in time
     */
    public RecordedRequest takeRequest(Duration timeout) {
        try {
            RecordedRequest request = untaken.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (request == null) {
                throw new AssertionError("no request reached " + name + " within " + timeout + " ("
                        + requestCount() + " recorded in all)");
            }
            return request;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for a request", e);
        }
    }

    /** A snapshot of every request recorded so far, taken or not, in arrival order. */
    public List<RecordedRequest> requests() {
        lock.lock();
        try {
            return List.copyOf(recorded);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A snapshot of every request this origin started to read but did not serve, because it was malformed or cut
     * short, in the order they ended.
     */
    public List<UnservedRequest> unservedRequests() {
        lock.lock();
        try {
            return List.copyOf(unserved);
        } finally {
            lock.unlock();
        }
    }

    /** How many requests were recorded so far; a request counts once its body has been read. */
    public int requestCount() {
        lock.lock();
        try {
            return recorded.size();
        } finally {
            lock.unlock();
        }
    }

    /** How many connections were accepted so far, including those closed at once by a fault. */
    public int connectionCount() {
        return connectionCount.get();
    }

    /** How many accepted connections are open right now. */
    public int openConnections() {
        lock.lock();
        try {
            return open;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes every connection that waits for its next request, as an origin does when it drops idle keep-alive
     * connections. Blocks up to 2 s for connections that are writing the last bytes of a reusable response, so
     * that a client which has just read a whole response reliably sees its connection closed, and up to 2 s more
     * for the closed connections' threads to end, so that {@link #openConnections()} no longer counts them.
     *
     * @return how many connections were closed
     */
    public int closeIdleConnections() {
        lock.lock();
        try {
            long remaining = FINISHING_TIMEOUT.toNanos();
            while (remaining > 0 && connections.keySet().stream()
                    .anyMatch(c -> c.state() == OriginConnection.State.FINISHING)) {
                remaining = changed.awaitNanos(remaining);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
        List<Thread> closedThreads = new ArrayList<>();
        connections.forEach((connection, thread) -> {
            if (connection.closeIfIdle()) {
                closedThreads.add(thread);
            }
        });
        long deadline = System.nanoTime() + FINISHING_TIMEOUT.toNanos();
        closedThreads.forEach(thread -> join(thread, deadline));
        return closedThreads.size();
    }

    /**
     * Blocks until no connection is open or {@code timeout} passes.
     *
     * @return {@code true} if no connection is open, {@code false} on timeout
     */
    public boolean awaitNoOpenConnections(Duration timeout) {
        lock.lock();
        try {
            long remaining = timeout.toNanos();
            while (open > 0) {
                if (remaining <= 0) {
                    return false;
                }
                remaining = changed.awaitNanos(remaining);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return open == 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops listening, closes every connection and waits up to 5 s for all of the origin's threads to end.
     * Idempotent.
     *
     * @throws IllegalStateException if a thread is still running after the wait, which is a bug in the origin
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long deadline = System.nanoTime() + CLOSE_TIMEOUT.toNanos();
        listener.close();
        List<Thread> threads = new ArrayList<>();
        threads.add(acceptThread);
        join(acceptThread, deadline);
        connections.forEach((connection, thread) -> {
            connection.abort();
            thread.interrupt();
            threads.add(thread);
        });
        threads.forEach(thread -> join(thread, deadline));
        long running = threads.stream().filter(Thread::isAlive).count();
        if (running > 0) {
            throw new IllegalStateException(running + " thread(s) of " + name + " still running after " + CLOSE_TIMEOUT);
        }
    }

    @Override
    public String toString() {
        return name + "[" + listener.address() + ", " + connectionCount() + " connections, " + requestCount()
                + " requests]";
    }

    void record(RecordedRequest request) {
        lock.lock();
        try {
            recorded.add(request);
        } finally {
            lock.unlock();
        }
        untaken.add(request);
    }

    void recordUnserved(UnservedRequest request) {
        lock.lock();
        try {
            unserved.add(request);
        } finally {
            lock.unlock();
        }
    }

    /** The next queued response, or the dispatcher's answer; never throws. */
    MockResponse responseFor(RecordedRequest request) {
        lock.lock();
        try {
            MockResponse queued = queue.pollFirst();
            if (queued != null) {
                return queued;
            }
        } finally {
            lock.unlock();
        }
        try {
            return Objects.requireNonNull(dispatcher.apply(request), "dispatcher returned null");
        } catch (RuntimeException | AssertionError e) {
            return MockResponse.builder().status(500).header("Content-Type", "text/plain; charset=utf-8")
                    .body("dispatcher failed: " + e + "\n").build();
        }
    }

    /** Wakes threads waiting for a connection to change state. */
    void connectionChanged() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Called once by each connection's thread as its last action. */
    void connectionEnded() {
        lock.lock();
        try {
            open--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void acceptLoop() {
        while (!closed.get()) {
            Link link;
            try {
                link = listener.accept(settings.readTimeout, name);
            } catch (IOException e) {
                if (closed.get() || !pauseAfterAcceptFailure()) {
                    return;
                }
                continue;
            }
            int index = connectionCount.incrementAndGet();
            if (takeCloseImmediately()) {
                link.close();
                continue;
            }
            connections.entrySet().removeIf(entry -> !entry.getValue().isAlive());
            OriginConnection connection = new OriginConnection(this, link, index, settings.maxHeadSize,
                    settings.maxRetainedBodySize);
            Thread thread = Thread.ofVirtual().name(name + "-connection-" + index).unstarted(connection);
            lock.lock();
            try {
                open++;
                connections.put(connection, thread);
            } finally {
                lock.unlock();
            }
            thread.start();
        }
    }

    /** Backs off briefly so that a persistent accept failure does not spin; false if interrupted. */
    private static boolean pauseAfterAcceptFailure() {
        try {
            Thread.sleep(10);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Consumes the queued response if it is {@link OriginFault.CloseImmediately}, which acts at accept time. */
    private boolean takeCloseImmediately() {
        lock.lock();
        try {
            MockResponse next = queue.peekFirst();
            if (next != null && next.fault().orElse(null) instanceof OriginFault.CloseImmediately) {
                queue.pollFirst();
                return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    private static void join(Thread thread, long deadlineNanos) {
        long remaining = deadlineNanos - System.nanoTime();
        try {
            if (remaining > 0) {
                thread.join(Duration.ofNanos(remaining));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Settings for a {@link MockOrigin}; not thread-safe. */
    public static final class Builder {
        private Duration readTimeout = Duration.ofSeconds(30);
        private int maxHeadSize = 64 * 1024;
        private int maxRetainedBodySize = 1024 * 1024;
        private int port;

        private Builder() {}

        /**
         * The TCP port to listen on, for an origin that comes back where an earlier one was; default 0, an
         * ephemeral port.
         */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * How long one read may wait for bytes before the connection is closed; this also bounds how long an
         * idle keep-alive connection stays open. Default 30 s.
         */
        public Builder readTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (!timeout.isPositive()) {
                throw new IllegalArgumentException("readTimeout must be positive: " + timeout);
            }
            this.readTimeout = timeout;
            return this;
        }

        /**
         * Largest request head, and largest trailer section, accepted; larger ones get {@code 431} and a close.
         * Default 64 KiB.
         */
        public Builder maxHeadSize(int bytes) {
            if (bytes < 16) {
                throw new IllegalArgumentException("maxHeadSize must be at least 16: " + bytes);
            }
            this.maxHeadSize = bytes;
            return this;
        }

        /**
         * Largest request body kept in {@link RecordedRequest#body()}; larger bodies are only measured and
         * checksummed. Default 1 MiB.
         */
        public Builder maxRetainedBodySize(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("maxRetainedBodySize must be at least 0: " + bytes);
            }
            this.maxRetainedBodySize = bytes;
            return this;
        }

        /**
         * Binds {@code 127.0.0.1} on an ephemeral port and starts accepting; never blocks.
         *
         * @throws UncheckedIOException if the port cannot be bound
         */
        public MockOrigin start() {
            try {
                ServerSocket server = new ServerSocket();
                server.setReuseAddress(true);
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
                return new MockOrigin(new Listener.Tcp(server), this);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot bind 127.0.0.1", e);
            }
        }

        /**
         * Binds a Unix domain socket at {@code path} and starts accepting; never blocks. The file must not exist
         * yet; {@link MockOrigin#close()} deletes it.
         *
         * @throws UncheckedIOException if the socket cannot be bound
         */
        public MockOrigin startUnix(Path path) {
            Objects.requireNonNull(path, "path");
            try {
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    server.bind(UnixDomainSocketAddress.of(path), 128);
                } catch (IOException e) {
                    server.close();
                    throw e;
                }
                return new MockOrigin(new Listener.Unix(server, path), this);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot bind Unix domain socket " + path, e);
            }
        }

        private Builder copy() {
            Builder copy = new Builder();
            copy.readTimeout = readTimeout;
            copy.maxHeadSize = maxHeadSize;
            copy.maxRetainedBodySize = maxRetainedBodySize;
            return copy;
        }
    }

    /** The listening socket, TCP or Unix domain. */
    private sealed interface Listener {

        /** Blocks until a connection arrives; throws once the listener is closed. */
        Link accept(Duration readTimeout, String name) throws IOException;

        SocketAddress address();

        /** A short name for threads and messages. */
        String label();

        /** Stops listening; never throws. */
        void close();

        record Tcp(ServerSocket server) implements Listener {
            @Override
            public Link accept(Duration readTimeout, String name) throws IOException {
                Socket socket = server.accept();
                try {
                    return Link.Tcp.of(socket, readTimeout);
                } catch (IOException e) {
                    socket.close();
                    throw e;
                }
            }

            @Override
            public SocketAddress address() {
                return server.getLocalSocketAddress();
            }

            @Override
            public String label() {
                return Integer.toString(server.getLocalPort());
            }

            @Override
            public void close() {
                try {
                    server.close();
                } catch (IOException ignored) {
                    // Closing is best effort; the port is released either way.
                }
            }
        }

        record Unix(ServerSocketChannel server, Path path) implements Listener {
            @Override
            public Link accept(Duration readTimeout, String name) throws IOException {
                SocketChannel channel = server.accept();
                return new Link.Unix(channel, readTimeout, name + "-unix");
            }

            @Override
            public SocketAddress address() {
                return UnixDomainSocketAddress.of(path);
            }

            @Override
            public String label() {
                return "unix-" + path.getFileName();
            }

            @Override
            public void close() {
                try {
                    server.close();
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // Closing is best effort; a stale socket file only blocks reusing the same path.
                }
            }
        }
    }
}

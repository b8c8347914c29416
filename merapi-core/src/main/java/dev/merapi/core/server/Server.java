package dev.merapi.core.server;

import dev.merapi.core.SystemSettings;
import dev.merapi.core.internal.ConnectionLimits;
import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.services.Service;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.BindException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link Service}s: binds the listeners of each {@link ListeningService} on shared event loops,
 * schedules each {@link BackgroundService}, and shuts everything down gracefully or fast.
 *
 * <p>The server knows no protocol: it caps, configures and registers each accepted connection and passes it
 * through its service's {@link ConnectionStage}s (filter, TLS, protocol choice, the protocol's connection).
 *
 * <pre>{@code
 * Server server = new Server(ServerConfig.builder().threads(4).build());
 * server.addService(ListeningService.http("proxy", app).addTcp("0.0.0.0:8080"));
 * server.run(); // blocks; SIGTERM shuts down gracefully, SIGINT fast
 * }</pre>
 *
 * <p>Every listener is bound before any of them accepts a connection, so a server whose second port is taken
 * fails to start without having served anything on the first. Each listener caps its open connections
 * ({@link ListenerConfig#maxConnections()}, {@link ListenerConfig#maxConnectionsPerIp()}) at accept.
 *
 * <p>Graceful shutdown stops accepting, closes idle keep-alive connections at once, lets active ones
 * finish their current response within the grace period, then closes what is left.
 */
public final class Server {
    private static final Logger log = LoggerFactory.getLogger(Server.class);

    private final ServerConfig config;
    private final List<Service> services = new CopyOnWriteArrayList<>(); // a stopped listening service leaves it from another thread
    private final List<Channel> listenChannels = new ArrayList<>();
    private final Map<ListeningService, List<Channel>> listenChannelsOf = new HashMap<>(); // guarded by this
    private final CountDownLatch stopped = new CountDownLatch(1);
    private @Nullable EventLoopGroup group;
    private @Nullable ExecutorService background;
    private volatile boolean started;
    private volatile boolean stopping;

    /** A server with these settings. */
    public Server(ServerConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** A server with the default settings. */
    public Server() {
        this(ServerConfig.DEFAULT);
    }

    /** The settings. */
    public ServerConfig config() {
        return config;
    }

    /** Adds a service; only before {@link #start()}. */
    public Server addService(Service service) {
        if (started) {
            throw new IllegalStateException("the server has already started");
        }
        services.add(Objects.requireNonNull(service, "service"));
        return this;
    }

    /**
     * Binds every listener, then starts accepting on all of them and starts every background service, then returns.
     *
     * @throws IllegalStateException if a listener cannot be bound (everything started is stopped again); its message
     *     names the address, such as {@code 127.0.0.1:8080 is already in use}
     * @throws IllegalArgumentException if a Merapi system property has a bad value ({@link SystemSettings}); its
     *     message names the property
     */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("already started");
        }
        SystemSettings.current(); // every system property is checked before anything is bound
        started = true;
        Transport transport = config.transport();
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(config.threads(),
                new DefaultThreadFactory(config.name() + "-loop", false), transport.ioHandlerFactory());
        group = loops;
        background = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(config.name() + "-bg-", 0).factory());
        try {
            for (Service s : services) {
                if (s instanceof ListeningService ls) {
                    bind(ls, transport, loops);
                }
            }
            for (Channel ch : listenChannels) {
                ch.config().setAutoRead(true); // accept from now on: every port is known to be ours
            }
            for (Service s : services) {
                if (s instanceof BackgroundService bs) {
                    background.execute(() -> runBackground(bs));
                }
            }
        } catch (RuntimeException e) {
            stopNow();
            throw e;
        }
        log.info("{} started: {} event loop(s), transport {}", config.name(), config.threads(), transport);
    }

    /**
     * Adds a listening service to a running server: binds each of its listeners, then accepts on them. A gateway
     * calls it when a reload adds a listener. Services running already are not touched.
     *
     * @throws IllegalStateException if the server is not running, or if a listener cannot be bound (whatever of the
     *     service was bound is closed again); the message names the address, as {@link #start()}'s does
     */
    public synchronized void startListening(ListeningService service) {
        if (!started || stopping) {
            throw new IllegalStateException("the server is not running");
        }
        if (services.contains(service)) {
            throw new IllegalStateException(service.name() + " runs already");
        }
        try {
            bind(service, config.transport(), Objects.requireNonNull(group, "group"));
        } catch (RuntimeException e) {
            List<Channel> bound = listenChannelsOf.remove(service);
            if (bound != null) {
                listenChannels.removeAll(bound);
                bound.forEach(ch -> ch.close().syncUninterruptibly());
            }
            throw e;
        }
        services.add(service);
        for (Channel ch : listenChannelsOf.getOrDefault(service, List.of())) {
            ch.config().setAutoRead(true);
        }
    }

    /**
     * Stops one listening service of a running server, as a graceful shutdown stops them all, and leaves the others
     * running: its listeners are closed before this returns (new connections are refused); then its idle
     * connections close at once, and active ones finish their current response within {@code grace}, after which
     * whatever is left is closed. A gateway calls it when a reload removes a listener.
     *
     * @return completes once every connection of the service is closed; at once if it does not run here
     */
    public CompletableFuture<Void> stopListening(ListeningService service, Duration grace) {
        List<Channel> channels;
        synchronized (this) {
            channels = listenChannelsOf.remove(service);
            if (channels == null || stopping) {
                return CompletableFuture.completedFuture(null);
            }
            listenChannels.removeAll(channels);
        }
        channels.forEach(ch -> ch.close().syncUninterruptibly());
        if (!grace.isZero()) {
            service.connectionTracker().startShutdown();
        }
        return CompletableFuture.runAsync(() -> {
            awaitDrained(List.of(service), grace);
            service.connectionTracker().closeAll();
            services.remove(service);
            log.info("{}: stopped", service.name());
        }, Objects.requireNonNull(background, "background"));
    }

    /** Waits until none of {@code services} has an open connection, for at most {@code grace}. */
    private static void awaitDrained(List<ListeningService> services, Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        while (!grace.isZero() && System.nanoTime() - deadline < 0 && services.stream().anyMatch(l -> l.openConnections() > 0)) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    private void bind(ListeningService service, Transport transport, EventLoopGroup loops) {
        for (ListenerConfig l : service.listeners()) {
            List<ConnectionStage> stageList = service.connectionStages(l);
            ConnectionStage.Next stages = ConnectionStage.chain(stageList); // per listener: its TLS
            boolean domain = l.isUnix();
            if (domain && l.address() instanceof UnixDomainSocketAddress uds) {
                try {
                    Files.deleteIfExists(uds.getPath());
                } catch (java.io.IOException e) {
                    throw new IllegalStateException("cannot remove stale socket " + uds.getPath(), e);
                }
            }
            ServerBootstrap b = new ServerBootstrap()
                    .group(loops)
                    .channel(transport.serverChannel(domain))
                    .option(ChannelOption.SO_BACKLOG, l.backlog())
                    .option(ChannelOption.AUTO_READ, false) // no accept until every listener is bound
                    .handler(new Acceptor(stages, loops, l, domain, transport == Transport.EPOLL))
                    .childHandler(NotAccepted.INSTANCE);
            if (!domain) {
                b.option(ChannelOption.SO_REUSEADDR, true);
                if (l.reusePort() && transport.isNative()) {
                    b.option(UnixChannelOption.SO_REUSEPORT, true);
                }
                if (l.fastOpenQueue() > 0 && transport.isNative()) {
                    b.option(ChannelOption.TCP_FASTOPEN, l.fastOpenQueue());
                }
            }
            SocketAddress address = transport.nativeAddress(l.address());
            Channel ch;
            try {
                ch = b.bind(address).syncUninterruptibly().channel();
            } catch (Exception e) {
                closeStages(stageList);
                throw new IllegalStateException(bindFailure(l.address(), e), e);
            }
            ch.closeFuture().addListener(f -> closeStages(stageList)); // a TLS stage stops its ticket-key rotation
            listenChannels.add(ch);
            listenChannelsOf.computeIfAbsent(service, k -> new ArrayList<>()).add(ch);
            SocketAddress local = domain ? l.address() : ch.localAddress();
            service.bound(local);
            log.info("{}: listening on {}", service.name(), ListenerConfig.describe(local));
        }
    }

    /** Closes the stages of a listener that hold something beyond its connections (a TLS stage's key rotation). */
    private static void closeStages(List<ConnectionStage> stages) {
        for (ConnectionStage s : stages) {
            if (s instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    log.warn("closing connection stage {} failed", s, e);
                }
            }
        }
    }

    /**
     * Says why {@code address} cannot be listened on, in the user's words rather than the transport's:
     * {@code 127.0.0.1:8080 is already in use}, or {@code cannot listen on 127.0.0.1:80: permission denied}.
     */
    static String bindFailure(SocketAddress address, Throwable e) {
        String where = ListenerConfig.describe(address);
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            // errno on Linux, where the native transports run (EADDRINUSE 98, EACCES 13, EADDRNOTAVAIL 99); the
            // message for NIO's BindException
            int errno = t instanceof Errors.NativeIoException n ? -n.expectedErr() : 0;
            if (errno == 98 || t instanceof BindException && m.contains("in use")) {
                return where + " is already in use";
            }
            if (errno == 13 || t instanceof BindException && m.contains("Permission denied")) {
                return "cannot listen on " + where + ": permission denied (ports below 1024 need privileges)";
            }
            if (errno == 99 || t instanceof BindException && m.contains("Cannot assign requested address")) {
                return "cannot listen on " + where + ": not an address of this machine";
            }
        }
        String m = String.valueOf(e.getMessage());
        int colon = m.lastIndexOf("): "); // Netty's "bind(..) failed with error(-N): Text" reads "Text"
        return "cannot listen on " + where + ": " + (colon >= 0 ? m.substring(colon + 3) : m);
    }

    private void runBackground(BackgroundService bs) {
        try {
            while (!stopping) {
                try {
                    bs.runOnce();
                } catch (InterruptedException e) {
                    break;
                } catch (Exception e) {
                    log.warn("background service {} failed; it runs again in {}", bs.name(), bs.period(), e);
                }
                Thread.sleep(bs.period());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                bs.stop();
            } catch (RuntimeException e) {
                log.warn("background service {} failed to stop", bs.name(), e);
            }
        }
    }

    /**
     * Starts the server (unless {@link #start()} was called already), shuts it down on SIGTERM (graceful) or SIGINT (fast), and blocks until it has stopped.
     */
    public void run() {
        if (!started) {
            start();
        }
        installSignalHandlers();
        awaitTermination();
    }

    /**
     * Maps SIGTERM to {@link #shutdownGracefully()} and SIGINT to {@link #shutdownFast()}, as {@link #run()} does.
     * A program that calls {@link #start()} itself and then announces that it is ready calls this first, so that a
     * SIGTERM sent right after the announcement still shuts down gracefully instead of killing the JVM.
     */
    public void installSignalHandlers() {
        Signals.install(this::shutdownGracefully, this::shutdownFast);
    }

    /** Blocks until the server has stopped. */
    public void awaitTermination() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Graceful shutdown: stops accepting, lets in-flight requests finish within the grace period, closes
     * idle connections at once, then stops the event loops. Blocks until done; safe to call more than once.
     */
    public void shutdownGracefully() {
        shutdown(config.gracePeriod());
    }

    /** Fast shutdown: stops accepting and closes every connection now. Blocks until done. */
    public void shutdownFast() {
        shutdown(Duration.ZERO);
    }

    private synchronized void shutdown(Duration grace) {
        if (stopping || !started) {
            if (!started) {
                stopped.countDown();
            }
            return;
        }
        stopping = true;
        log.info("{} shutting down ({})", config.name(), grace.isZero() ? "fast" : "graceful, up to " + grace.toSeconds() + " s");
        for (Channel ch : listenChannels) {
            ch.close().syncUninterruptibly();
        }
        List<ListeningService> listening = new ArrayList<>();
        for (Service s : services) {
            if (s instanceof ListeningService ls) {
                listening.add(ls);
                if (!grace.isZero()) {
                    ls.connectionTracker().startShutdown();
                }
            }
        }
        awaitDrained(listening, grace);
        int left = listening.stream().mapToInt(ListeningService::openConnections).sum();
        if (left > 0) {
            log.info("closing {} connection(s) still open", left);
        }
        listening.forEach(l -> l.connectionTracker().closeAll());
        stopNow();
        log.info("{} stopped", config.name());
    }

    private void stopNow() {
        stopping = true;
        for (Channel ch : listenChannels) {
            ch.close();
        }
        if (background != null) {
            background.shutdownNow();
            try {
                background.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (group != null) {
            // a quiet period, however short: with 0, a loop that is running tasks when the shutdown starts can
            // stop without closing its channels (Netty 4.2 closes them only in a later loop turn), which
            // leaves idle pooled upstream connections open
            group.shutdownGracefully(50, 2000, TimeUnit.MILLISECONDS).syncUninterruptibly();
        }
        for (Service s : services) {
            if (s instanceof ListeningService ls) {
                for (ListenerConfig l : ls.listeners()) {
                    if (l.address() instanceof UnixDomainSocketAddress uds) {
                        try {
                            Files.deleteIfExists(uds.getPath());
                        } catch (java.io.IOException ignored) {
                            // best effort: the path is reused at the next start anyway
                        }
                    }
                }
            }
        }
        stopped.countDown();
    }

    /**
     * Sets up each accepted connection on the listening channel, ahead of {@code ServerBootstrap}'s own acceptor,
     * which then sees no connection (it still handles accept errors): the listener's caps are taken, the options
     * are set without a map walk, and the service's {@link ConnectionStage}s put their handlers into the pipeline
     * directly, where a child handler would add one handler and replace it by another. Runs once per connection,
     * so it stays small.
     */
    private static final class Acceptor extends ChannelInboundHandlerAdapter {
        private final ChannelFutureListener closeIfUnregistered = f -> {
            if (!f.isSuccess()) {
                closeForcibly(f.channel(), f.cause());
            }
        };

        private final ConnectionStage.Next stages;
        private final ConnectionLimits limits;
        private final EventLoopGroup childGroup;
        private final boolean tcpNoDelayOff;
        private final boolean keepAlive;
        private final boolean readOnRegister;

        Acceptor(ConnectionStage.Next stages, EventLoopGroup childGroup, ListenerConfig listener, boolean domain, boolean epoll) {
            this.stages = stages;
            this.limits = new ConnectionLimits(listener);
            this.childGroup = childGroup;
            // Netty turns TCP_NODELAY on for every accepted socket; each option set is one more system call per
            // connection, so only what differs from that is set
            this.tcpNoDelayOff = !domain && !listener.tcpNoDelay();
            this.keepAlive = !domain && listener.keepAlive();
            this.readOnRegister = epoll;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel child = (Channel) msg;
            String refused = limits.tryAcquire(child);
            if (refused != null) {
                // over a cap: closed before it is registered, so not a byte is read from it
                SecurityEvents.record(refused, child.remoteAddress(), child.localAddress(), 0);
                child.unsafe().closeForcibly();
                return;
            }
            try {
                ChannelConfig config = child.config();
                config.setAutoRead(false);
                config.setAllocator(PooledByteBufAllocator.DEFAULT);
                if (tcpNoDelayOff) {
                    config.setOption(ChannelOption.TCP_NODELAY, false);
                }
                if (keepAlive) {
                    config.setOption(ChannelOption.SO_KEEPALIVE, true);
                }
                if (!stages.install(child)) {
                    // refused by a stage (the connection filter): closed before it is registered, as over a cap
                    child.unsafe().closeForcibly();
                    limits.release(child);
                    return;
                }
                if (readOnRegister) {
                    // the first stage's handler reads as soon as the connection is active anyway (a protocol's
                    // connection does, and so does a TLS handshake): asked for before registration, the epoll
                    // interest goes in with the registration itself,
                    // which saves an epoll_ctl(MOD) per connection. An epoll channel only records the interest
                    // while it is unregistered.
                    child.unsafe().beginRead();
                }
                child.closeFuture().addListener(limits); // gives the slot back; once registered, every close completes it
                ChannelFuture registered = childGroup.register(child);
                if (!registered.isDone()) {
                    registered.addListener(closeIfUnregistered);
                } else if (!registered.isSuccess()) {
                    closeForcibly(child, registered.cause()); // on the listener's own loop, registration is done at once
                }
            } catch (Throwable t) {
                closeForcibly(child, t);
            }
        }

        /** Closes a connection that was never registered, whose close future therefore never completes. */
        private void closeForcibly(Channel child, Throwable cause) {
            child.unsafe().closeForcibly();
            limits.release(child);
            log.warn("failed to register an accepted connection: {}", child, cause);
        }
    }

    /** The child handler {@code ServerBootstrap} requires; never used, as the {@link Acceptor} takes every connection. */
    @ChannelHandler.Sharable
    private static final class NotAccepted extends ChannelHandlerAdapter {
        static final NotAccepted INSTANCE = new NotAccepted();

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.close();
        }
    }
}

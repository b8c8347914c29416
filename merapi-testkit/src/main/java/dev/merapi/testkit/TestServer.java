package dev.merapi.testkit;

import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.services.Service;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Runs one {@link ListeningService} on 127.0.0.1, port 0, for a test, and checks on {@link #close()} that it
 * left no connection open.
 *
 * <pre>{@code
 * try (TestServer server = TestServer.start(HttpProxy.service("proxy", myProxy))) {
 *     ... connect to server.port() ...
 * }
 * }</pre>
 */
public final class TestServer implements AutoCloseable {
    private final Server server;
    private final ListeningService service;
    private final List<IntSupplier> openProbes = new ArrayList<>();

    private TestServer(Server server, ListeningService service) {
        this.server = server;
        this.service = service;
    }

    /** Starts {@code service} on 127.0.0.1:0 with one event loop, unless it has listeners of its own. */
    public static TestServer start(ListeningService service) {
        return start(service, List.of());
    }

    /** Starts {@code service} with these server settings. */
    public static TestServer start(ListeningService service, ServerConfig config) {
        return start(service, config, List.of());
    }

    /** Starts {@code service} as {@link #start(ListeningService)} does, with {@code alongside} in the same server. */
    public static TestServer start(ListeningService service, List<? extends Service> alongside) {
        return start(service, ServerConfig.builder().threads(1).gracePeriod(Duration.ofSeconds(5)).name("test").build(), alongside);
    }

    private static TestServer start(ListeningService service, ServerConfig config, List<? extends Service> alongside) {
        if (service.listeners().isEmpty()) {
            service.addTcp("127.0.0.1:0");
        }
        Server server = new Server(config);
        server.addService(service);
        alongside.forEach(server::addService);
        server.start();
        return new TestServer(server, service);
    }

    /**
     * Adds a count of open connections (for example, a connector's upstream connections) that must be zero
     * once the server has stopped.
     */
    public TestServer checkClosedOnStop(IntSupplier openConnections) {
        openProbes.add(openConnections);
        return this;
    }

    /** The server. */
    public Server server() {
        return server;
    }

    /** The service. */
    public ListeningService service() {
        return service;
    }

    /** The first bound TCP address. */
    public InetSocketAddress address() {
        return (InetSocketAddress) service.boundAddresses().getFirst();
    }

    /** The first bound port. */
    public int port() {
        return address().getPort();
    }

    /** An {@code http://127.0.0.1:port} URI for a path. */
    public URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
    }

    /** How many downstream connections are open. */
    public int openConnections() {
        return service.openConnections();
    }

    /**
     * Waits until the server has no open downstream connection.
     *
     * @return whether it got there within {@code timeout}
     */
    public boolean awaitNoOpenConnections(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (service.openConnections() > 0) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            sleep();
        }
        return true;
    }

    /** Stops the server fast, then fails if any connection it made or accepted is still open. */
    @Override
    public void close() {
        server.shutdownFast();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (true) {
            int open = service.openConnections();
            for (IntSupplier p : openProbes) {
                open += p.getAsInt();
            }
            if (open == 0) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(open + " connection(s) still open after the server stopped");
            }
            sleep();
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}

package dev.merapi.gateway;

import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.testkit.RawClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** Helpers for tests that run a {@link Gateway} in-process from YAML text. */
final class TestGateways {
    private TestGateways() {
    }

    /** Writes {@code yaml} to {@code dir/gw.yaml} and starts a gateway from it; the caller stops it. */
    static Gateway start(Path dir, String yaml) throws IOException {
        Path file = dir.resolve("gw.yaml");
        Files.writeString(file, yaml);
        Gateway gateway = Gateway.of(file, ConfigLoader.of());
        gateway.start();
        return gateway;
    }

    /** The port of the gateway's {@code i}-th listener, in file order. */
    static int port(Gateway gateway, int i) {
        return ((InetSocketAddress) gateway.boundAddresses().get(i)).getPort();
    }

    /** Reads the next response on a virtual thread, so the test can act while it streams. */
    static CompletableFuture<RawClient.Response> readAsync(RawClient client) {
        CompletableFuture<RawClient.Response> f = new CompletableFuture<>();
        Thread.ofVirtual().name("test-reader").start(() -> {
            try {
                f.complete(client.readResponse());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }
}

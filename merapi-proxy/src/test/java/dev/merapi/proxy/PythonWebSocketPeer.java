package dev.merapi.proxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real WebSocket peer: Debian's python3-websockets running {@code websocket/ws_peer.py}, as an echo server on
 * 127.0.0.1:0 or as a client that runs a fixed exchange. Its output lines are collected as they come. It stops by
 * itself (the server when its stdin closes or after a time limit, the client within 60 s), and {@link #close()} ends
 * it for sure. Used from the test's thread.
 */
final class PythonWebSocketPeer implements AutoCloseable {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();

    private PythonWebSocketPeer(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", script().toString()));
        command.addAll(args);
        process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("io-error " + e);
            }
        });
    }

    /** An echo server that runs for at most two minutes. */
    static PythonWebSocketPeer server() throws IOException {
        return new PythonWebSocketPeer(List.of("server", "120"));
    }

    /** A client that connects to {@code url} and runs its exchange. */
    static PythonWebSocketPeer client(String url) throws IOException {
        return new PythonWebSocketPeer(List.of("client", url));
    }

    /** The server's port. */
    int port() throws InterruptedException {
        return Integer.parseInt(awaitLine("port ").substring(5));
    }

    /** The next output line starting with {@code prefix}, skipping others; fails after a minute. */
    String awaitLine(String prefix) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        for (String s : seen) {
            if (s.startsWith(prefix)) {
                seen.remove(s);
                return s;
            }
        }
        while (true) {
            long left = end - System.nanoTime();
            String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("no line '" + prefix + "...' from ws_peer.py within " + WAIT + "; saw " + seen);
            }
            if (line.startsWith(prefix)) {
                return line;
            }
            seen.add(line);
        }
    }

    /** Waits for the process to exit by itself; its exit code. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
            throw new AssertionError("ws_peer.py did not exit within " + WAIT);
        }
        return process.exitValue();
    }

    @Override
    public void close() throws Exception {
        process.getOutputStream().close(); // the server stops when its stdin closes
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static Path script() {
        try {
            return Path.of(PythonWebSocketPeer.class.getResource("/websocket/ws_peer.py").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.merapi.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The gateway ({@link Main}) running in a child JVM on the test classpath, with its stdout and stderr collected
 * line by line. {@link #close()} kills it if it is still running, so a test can never leave it behind.
 */
final class GatewayProcess implements AutoCloseable {
    private static final List<String> JVM_FLAGS = List.of("--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC", "-Xmx256m", "-XX:TieredStopAtLevel=1");

    private final Process process;
    private final Thread reader;
    private final BlockingQueue<String> unread = new LinkedBlockingQueue<>();
    private final List<String> output = new ArrayList<>();

    private GatewayProcess(Process process) {
        this.process = process;
        this.reader = Thread.ofVirtual().name("gateway-" + process.pid() + "-output").start(this::readOutput);
    }

    /** Starts {@code merapi ARGS...} in a new JVM. */
    static GatewayProcess start(String... args) throws IOException {
        return startWith(List.of(), args);
    }

    /** Starts {@code merapi ARGS...} in a new JVM with these JVM flags too, such as {@code -Dname=value}. */
    static GatewayProcess startWith(List<String> jvmFlags, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        // a background job's shell may have left SIGINT ignored, which a child inherits and the JVM then honours
        if (ENV_RESETS_SIGNALS) {
            command.addAll(List.of("/usr/bin/env", "--default-signal=INT,TERM,HUP"));
        }
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(JVM_FLAGS);
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close(); // nothing on stdin
        return new GatewayProcess(p);
    }

    /** The process ID. */
    long pid() {
        return process.pid();
    }

    /**
     * Waits for an output line containing {@code text} and returns it.
     *
     * @throws AssertionError if the process ends first or the line does not come within {@code timeout}
     */
    String awaitLine(String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = unread.poll(50, TimeUnit.MILLISECONDS);
            if (line != null) {
                if (line.contains(text)) {
                    return line;
                }
                continue;
            }
            if (!process.isAlive() && !reader.isAlive() && unread.isEmpty()) {
                throw new AssertionError("the gateway exited with " + process.exitValue() + " before printing '" + text
                        + "'; its output:\n" + output());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("the gateway did not print '" + text + "' within " + timeout + "; its output:\n"
                        + output());
            }
        }
    }

    /** Sends a signal by name ({@code TERM}, {@code INT}) with kill(1). */
    void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).redirectErrorStream(true).start();
        try {
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new AssertionError("kill -" + name + " " + pid() + " failed");
            }
        } finally {
            kill.destroyForcibly();
        }
    }

    /** SIGTERM, through {@link Process#destroy()}. */
    void terminate() {
        process.destroy();
    }

    /**
     * Waits for the process to exit and returns its exit code.
     *
     * @throws AssertionError if it is still running after {@code timeout}
     */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the gateway still runs " + timeout + " later; its output:\n" + output());
        }
        reader.join(Duration.ofSeconds(5));
        return process.exitValue();
    }

    /** Its resident set size now, in KiB ({@code VmRSS} in {@code /proc/PID/status}). */
    long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no VmRSS for " + pid());
    }

    /** Everything it printed so far. */
    String output() {
        synchronized (output) {
            return String.join("\n", output);
        }
    }

    /** Kills the process if it still runs and waits for it. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        reader.join(Duration.ofSeconds(5));
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                synchronized (output) {
                    output.add(line);
                }
                unread.add(line);
            }
        } catch (IOException e) {
            // the stream closes when the process dies
        }
    }

    /** A TCP port on 127.0.0.1 that was free a moment ago, for a child process to listen on. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final boolean ENV_RESETS_SIGNALS = envResetsSignals();

    /** Whether env(1) has {@code --default-signal} (coreutils 8.31 and later). */
    private static boolean envResetsSignals() {
        if (!Files.isExecutable(Path.of("/usr/bin/env"))) {
            return false;
        }
        try {
            Process p = new ProcessBuilder("/usr/bin/env", "--default-signal=INT", "true").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
            } finally {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

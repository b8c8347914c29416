package dev.merapi.gateway;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.gateway.config.ConfigException;
import dev.merapi.gateway.config.ConfigLoader;
import java.io.PrintWriter;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** {@code merapi run --config FILE}: runs the gateway a configuration file describes; SIGHUP reloads it. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs the gateway described by a YAML configuration file (see: merapi config example).",
            "SIGHUP or a change of the file reloads it; a file with errors is refused and the running configuration stays."})
final class RunCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The YAML configuration.")
    Path config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Gateway gateway;
        try {
            gateway = Gateway.of(config, ConfigLoader.of());
        } catch (ConfigException e) {
            CheckCommand.print(err, e);
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("merapi run: " + e.getMessage());
            return 2;
        }
        return serve(gateway, spec, "merapi run", out -> {
            out.println("Merapi " + Main.VERSION + " is running " + config + ":");
            for (SocketAddress a : gateway.boundAddresses()) {
                out.println("  listening on http://" + ListenerConfig.describe(a));
            }
            gateway.adminAddress().ifPresent(a -> out.println("  admin on " + (gateway.config().admin().tls().isPresent() ? "https://" : "http://")
                    + ListenerConfig.describe(a) + " (/livez, /readyz, /metrics, /api/v1/)"));
            gateway.remoteStatus().ifPresent(r -> out.println("  configuration version " + r.runningVersion() + " (from " + r.runningFrom()
                    + "); signed bundles fetched from " + r.url()));
            out.println("Reload with SIGHUP; stop with Ctrl-C, or SIGTERM for a graceful stop.");
        });
    }

    /**
     * Starts {@code gateway}, maps SIGTERM (graceful), SIGINT (fast) and SIGHUP (reload) to it, prints {@code announce},
     * and blocks until it has stopped.
     *
     * @return the exit code: 0 after a stop, 1 if a listener could not be bound
     */
    static int serve(Gateway gateway, CommandSpec spec, String command, Consumer<PrintWriter> announce) {
        PrintWriter err = spec.commandLine().getErr();
        try {
            gateway.start();
        } catch (IllegalStateException e) {
            gateway.shutdownFast();
            err.println(command + ": " + e.getMessage());
            return 1;
        }
        // not Server.run(): SIGTERM and SIGINT first mark the gateway not ready, so /readyz turns 503 during shutdown
        Signal.handle(new Signal("TERM"), sig -> Thread.ofPlatform().name("merapi-shutdown").start(gateway::shutdownGracefully));
        Signal.handle(new Signal("INT"), sig -> Thread.ofPlatform().name("merapi-shutdown").start(gateway::shutdownFast));
        SignalHandler previous = Signal.handle(new Signal("HUP"), sig -> Thread.ofVirtual().name("merapi-reload").start(gateway::reload));
        if (previous == SignalHandler.SIG_IGN) {
            err.println(command + ": SIGHUP is ignored in this process (started under nohup?), so it cannot reload the file");
        }
        PrintWriter out = spec.commandLine().getOut();
        announce.accept(out);
        out.flush();
        gateway.server().awaitTermination();
        return 0;
    }
}

package dev.merapi.gateway;

import dev.merapi.gateway.config.ConfigError;
import dev.merapi.gateway.config.ConfigException;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.GatewayConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code merapi check --config FILE}: validates a configuration without running it. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Validates a configuration file and exits: 0 if it is valid, 1 with every error as FILE:LINE:COL: message."})
final class CheckCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The YAML configuration to check.")
    Path config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try {
            GatewayConfig c = ConfigLoader.of().load(config);
            spec.commandLine().getOut().println(config + ": valid (" + c.listeners().size() + " listener(s), " + c.upstreams().size()
                    + " upstream group(s), " + c.routes().size() + " route(s))");
            return 0;
        } catch (ConfigException e) {
            print(spec.commandLine().getErr(), e);
            return 1;
        }
    }

    /** Prints every error, one a line, in file order. */
    static void print(PrintWriter err, ConfigException e) {
        for (ConfigError error : e.errors()) {
            err.println(error);
        }
        err.flush();
    }
}

package dev.merapi.gateway;

import dev.merapi.gateway.config.ConfigLoader;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code merapi config example}: prints a commented configuration that {@code merapi check} accepts; {@code keygen},
 * {@code sign} and {@code verify}: the keys and signatures of remote configuration bundles ({@link BundleCommands}).
 */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Configuration helpers.",
        subcommands = {ConfigCommand.Example.class, BundleCommands.Keygen.class, BundleCommands.Sign.class, BundleCommands.Verify.class})
final class ConfigCommand extends CommandGroup {

    /** Prints the example. */
    @Command(name = "example", mixinStandardHelpOptions = true,
            description = "Prints a commented example configuration, to copy and change: merapi config example > merapi.yaml")
    static final class Example implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            spec.commandLine().getOut().print(ConfigLoader.exampleText());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}

package dev.merapi.gateway;

import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.config.TokenHash;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code merapi admin token}: makes a bearer token for the admin API and the line that goes in the configuration. */
@Command(name = "admin", mixinStandardHelpOptions = true, description = "Admin API helpers.", subcommands = AdminCommand.Token.class)
final class AdminCommand extends CommandGroup {

    /** Prints a new random token once, and its hash as a {@code tokens:} entry. */
    @Command(name = "token", mixinStandardHelpOptions = true,
            description = {"Makes a new random bearer token (32 bytes, base64url) for the admin API and prints it once,",
                "with the entry for admin.tokens in the configuration, which holds only its PBKDF2 hash.",
                "Keep the token secret; it cannot be shown again."})
    static final class Token implements Callable<Integer> {
        private static final SecureRandom RANDOM = new SecureRandom();

        @Option(names = "--role", required = true, paramLabel = "ROLE", description = "viewer, operator or admin.")
        String role;

        @Option(names = "--name", paramLabel = "NAME", description = "The identity the audit log names (default: the role).")
        String name;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            if (!GatewayConfig.Admin.ROLES.contains(role)) {
                spec.commandLine().getErr().println("merapi admin token: unknown role '" + role + "'; expected viewer, operator or admin");
                return 2;
            }
            String who = name == null ? role : name;
            if (!who.matches("[A-Za-z0-9._@-]{1,64}")) {
                spec.commandLine().getErr().println("merapi admin token: --name takes 1 to 64 letters, digits, '.', '_', '@' or '-'");
                return 2;
            }
            byte[] bytes = new byte[32];
            RANDOM.nextBytes(bytes);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            String hash = TokenHash.create(token).encoded();
            PrintWriter out = spec.commandLine().getOut();
            out.println("token: " + token);
            out.println("# add under admin.tokens in the configuration (the token itself is not stored anywhere):");
            out.println("- {name: " + who + ", role: " + role + ", hash: \"" + hash + "\"}");
            out.flush();
            return 0;
        }
    }
}

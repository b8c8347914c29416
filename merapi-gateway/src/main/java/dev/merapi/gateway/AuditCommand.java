package dev.merapi.gateway;

import dev.merapi.gateway.admin.AuditLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code merapi audit verify FILE}: checks the hash chain of an admin audit log. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Audit log helpers.", subcommands = AuditCommand.Verify.class)
final class AuditCommand extends CommandGroup {

    /** Checks the chain: exit 0 if it holds, 1 with the first bad line, 2 if the file cannot be read. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Checks that no line of an admin audit log was edited, removed or inserted:",
                "each record's \"prev\" must be the SHA-256 of the line before it.",
                "Exit 0 if the chain holds, 1 naming the first bad line, 2 if the file cannot be read.",
                "Lines removed at the end are seen only by comparing the last hash with one kept elsewhere",
                "(the status endpoint's auditLog.head)."})
    static final class Verify implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE", description = "The audit log (admin.audit-log).")
        Path file;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            AuditLog.Verification v;
            try {
                v = AuditLog.verify(file);
            } catch (IOException e) {
                spec.commandLine().getErr().println("merapi audit verify: cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
                return 2;
            }
            if (v.ok()) {
                spec.commandLine().getOut().println(file + ": " + v.message());
                spec.commandLine().getOut().flush();
                return 0;
            }
            spec.commandLine().getErr().println(file + ":" + v.badLine().orElseThrow() + ": " + v.message());
            return 1;
        }
    }
}

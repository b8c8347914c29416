package dev.merapi.gateway;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the {@code merapi} command line in-process with captured output, and curl as a real client. */
final class Cli {
    private Cli() {
    }

    /** What one run printed and returned. */
    record Run(int exitCode, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** curl with these arguments, trusting {@code caPem}; returns "status body", or "000 error" when no response came. */
    static String curl(Path caPem, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("/usr/bin/curl", "-sS", "--max-time", "60", "--cacert", caPem.toString(),
                "-w", "\n%{http_code}", "-o", "-"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(70, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "000 curl did not end";
        }
        int at = out.lastIndexOf('\n');
        return out.substring(at + 1).strip() + " " + out.substring(0, Math.max(0, at)).strip();
    }
}

package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One run of Debian's curl, as a client of a gateway under test: its exit code and its output, stderr included. */
record Curl(int exit, String output) {
    /** Runs {@code curl -sS --max-time 20} with {@code args}, waiting up to 30 s for it to end. */
    static Curl run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20"));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("curl ended").isTrue();
        return new Curl(p.exitValue(), out.toString(StandardCharsets.UTF_8));
    }
}

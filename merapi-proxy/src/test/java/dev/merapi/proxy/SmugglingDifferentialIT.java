package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.UnservedRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sends every case of the smuggling corpus to Merapi, nginx and HAProxy, each a reverse proxy in front of its own
 * recording {@link MockOrigin}, and compares what the client got and which requests the origin saw.
 *
 * <p>It fails if Merapi forwards a case that both nginx and HAProxy refuse to forward, or if the origin sees other
 * request boundaries through Merapi than through nginx or HAProxy without an {@code explain-nginx} or
 * {@code explain-haproxy} line in the case file saying why (and also if such a line is stale). The table is
 * written to {@code target/smuggling-differential.md}; docs/security.md holds a copy from a real run.
 *
 * <p>Skipped only when the nginx or haproxy binary is absent.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class SmugglingDifferentialIT {
    private static final List<String> PROXIES = List.of("merapi", "nginx", "haproxy");
    private static final Duration FIRST_RESPONSE = Duration.ofSeconds(3);
    private static final Duration IDLE = Duration.ofMillis(250);
    private static final int MAX_RESPONSES = 8;

    @TempDir
    Path dir;

    /**
     * What the client got from one proxy for one case, and which requests reached the origin.
     *
     * @param statuses the final statuses the client got, in order
     * @param end      how the exchange ended: {@code close}, {@code open}, {@code timeout} (no response at all),
     *                 {@code stalled} (a response cut off mid-way) or {@code reset}
     * @param origin   the complete requests the origin served, in arrival order, as their {@link #boundary}: the
     *                 request boundaries compared between proxies
     * @param cut      how many requests reached the origin cut short: a head forwarded before its body turned
     *                 out malformed, which the proxy then aborted
     * @param rejected how many requests reached the origin malformed, so that the origin rejected them
     */
    record Observation(List<Integer> statuses, String end, List<String> origin, int cut, int rejected) {
        /** Whether at least one complete request reached the origin. */
        boolean forwarded() {
            return !origin.isEmpty();
        }

        String answer() {
            StringBuilder sb = new StringBuilder();
            statuses.forEach(s -> sb.append(s).append(' '));
            return sb.append(end).toString();
        }

        String originText() {
            String text = origin.isEmpty() ? "-" : String.join("; ", origin);
            if (cut > 0) {
                text += " +" + cut + " cut short";
            }
            if (rejected > 0) {
                text += " +" + rejected + " malformed, origin 400";
            }
            return text;
        }
    }

    @Test
    void merapiForwardsNothingThatBothNginxAndHaproxyRefuseAndEveryBoundaryDifferenceIsExplained() throws Exception {
        assumeTrue(Files.isExecutable(ExternalProxy.NGINX), "nginx is not installed (apt-get install nginx-light)");
        assumeTrue(Files.isExecutable(ExternalProxy.HAPROXY), "haproxy is not installed (apt-get install haproxy)");
        List<SmugglingCase> cases = SmugglingCase.loadAll();

        Map<String, List<Observation>> results = new LinkedHashMap<>();
        try (MockOrigin nginxOrigin = MockOrigin.start();
                MockOrigin haproxyOrigin = MockOrigin.start();
                Http1StrictIT.Fixture merapi = Http1StrictIT.Fixture.start();
                ExternalServer nginx = ExternalProxy.nginx(dir.resolve("nginx"), nginxOrigin.port());
                ExternalServer haproxy = ExternalProxy.haproxy(dir.resolve("haproxy"), haproxyOrigin.port())) {
            for (MockOrigin o : List.of(merapi.origin, nginxOrigin, haproxyOrigin)) {
                o.setDispatcher(SmugglingCorpusIT::answer);
            }
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                Future<List<Observation>> m = pool.submit(() -> probeAll(cases, merapi.proxy.port(), merapi.origin));
                Future<List<Observation>> n = pool.submit(() -> probeAll(cases, nginx.port(), nginxOrigin));
                Future<List<Observation>> h = pool.submit(() -> probeAll(cases, haproxy.port(), haproxyOrigin));
                results.put("merapi", m.get(140, TimeUnit.SECONDS));
                results.put("nginx", n.get(140, TimeUnit.SECONDS));
                results.put("haproxy", h.get(140, TimeUnit.SECONDS));
            } finally {
                pool.shutdownNow();
            }
        }

        List<String> forwardedOnlyByMerapi = new ArrayList<>();
        List<String> unexplained = new ArrayList<>();
        List<String> stale = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        table.append("| case | Merapi | nginx | HAProxy | origin via Merapi | via nginx | via HAProxy |\n");
        table.append("|---|---|---|---|---|---|---|\n");
        StringBuilder notes = new StringBuilder();
        int[] differences = new int[2];
        for (int i = 0; i < cases.size(); i++) {
            SmugglingCase c = cases.get(i);
            Observation me = results.get("merapi").get(i);
            Observation ng = results.get("nginx").get(i);
            Observation ha = results.get("haproxy").get(i);
            if (me.forwarded() && !ng.forwarded() && !ha.forwarded()) {
                forwardedOnlyByMerapi.add(c.id() + ": " + me.originText());
            }
            String mark = "";
            for (int k = 0; k < 2; k++) {
                String other = PROXIES.get(k + 1);
                Observation o = k == 0 ? ng : ha;
                boolean differs = !me.origin().equals(o.origin());
                String explanation = c.explanations().get(other);
                if (differs) {
                    differences[k]++;
                    mark += " ≠" + (k == 0 ? "N" : "H");
                    if (explanation == null) {
                        unexplained.add(c.id() + " vs " + other + ": merapi " + me.originText() + " / " + other + " "
                                + o.originText());
                    } else {
                        notes.append("- `").append(c.id()).append("` vs ").append(other).append(": ")
                                .append(explanation).append('\n');
                    }
                } else if (explanation != null) {
                    stale.add(c.id() + " vs " + other);
                }
            }
            table.append("| `").append(c.id()).append('`').append(mark).append(" | ").append(me.answer()).append(" | ")
                    .append(ng.answer()).append(" | ").append(ha.answer()).append(" | ").append(cell(me.originText()))
                    .append(" | ").append(cell(ng.originText())).append(" | ").append(cell(ha.originText())).append(" |\n");
        }
        String summary = summary(cases, results, differences);
        Path out = Path.of("target", "smuggling-differential.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, summary + "\n" + table + "\n### Differences in request boundaries, explained\n\n" + notes,
                StandardCharsets.UTF_8);

        assertThat(forwardedOnlyByMerapi).as("cases Merapi forwards although nginx and HAProxy both refuse them").isEmpty();
        assertThat(unexplained).as("boundary differences without an explain-<proxy> line in the case file").isEmpty();
        assertThat(stale).as("explain-<proxy> lines for cases that no longer differ").isEmpty();
    }

    private static String cell(String text) {
        return text.replace("|", "\\|");
    }

    private static String summary(List<SmugglingCase> cases, Map<String, List<Observation>> results, int[] differences) {
        StringBuilder sb = new StringBuilder();
        sb.append(cases.size()).append(" cases. Requests forwarded to the origin for: ");
        for (String p : PROXIES) {
            long forwarded = results.get(p).stream().filter(Observation::forwarded).count();
            sb.append(p).append(' ').append(forwarded).append(" cases, ");
        }
        sb.append("refused (nothing forwarded) for the rest. Origin saw other request boundaries than through Merapi: ")
                .append("nginx in ").append(differences[0]).append(" cases, HAProxy in ").append(differences[1])
                .append(" (≠N, ≠H in the table).\n\n");
        sb.append("| family | cases | forwarded by Merapi | by nginx | by HAProxy | ≠N | ≠H |\n|---|---|---|---|---|---|---|\n");
        Map<String, int[]> byFamily = new TreeMap<>();
        for (int i = 0; i < cases.size(); i++) {
            int[] row = byFamily.computeIfAbsent(cases.get(i).family(), f -> new int[6]);
            Observation me = results.get("merapi").get(i);
            Observation ng = results.get("nginx").get(i);
            Observation ha = results.get("haproxy").get(i);
            row[0]++;
            row[1] += me.forwarded() ? 1 : 0;
            row[2] += ng.forwarded() ? 1 : 0;
            row[3] += ha.forwarded() ? 1 : 0;
            row[4] += me.origin().equals(ng.origin()) ? 0 : 1;
            row[5] += me.origin().equals(ha.origin()) ? 0 : 1;
        }
        byFamily.forEach((family, row) -> {
            sb.append("| ").append(family);
            for (int n : row) {
                sb.append(" | ").append(n);
            }
            sb.append(" |\n");
        });
        return sb.toString();
    }

    /** Sends every case, one after the other, each on its own connection. */
    private static List<Observation> probeAll(List<SmugglingCase> cases, int port, MockOrigin origin) throws Exception {
        List<Observation> observations = new ArrayList<>();
        for (SmugglingCase c : cases) {
            int served = origin.requestCount();
            int unserved = origin.unservedRequests().size();
            Probe probe = Probe.run(port, c.bytes(), () -> origin.requestCount() - served);
            RecordingProxy.sleep(20); // a request smuggled behind the last response would arrive by now
            List<RecordedRequest> requests = origin.requests();
            List<String> seen = requests.subList(served, requests.size()).stream().map(SmugglingDifferentialIT::boundary).toList();
            List<UnservedRequest> unservedNow = origin.unservedRequests();
            List<UnservedRequest> notServed = unservedNow.subList(unserved, unservedNow.size());
            int cut = (int) notServed.stream().filter(UnservedRequest::incomplete).count();
            observations.add(new Observation(probe.statuses, probe.end, seen, cut, notServed.size() - cut));
        }
        return observations;
    }

    /** A request as the origin saw it: method, path (an http or https absolute-form reduced to its path) and body length. */
    static String boundary(RecordedRequest r) {
        String target = r.target();
        int scheme = target.indexOf("://");
        if (scheme > 0 && target.substring(0, scheme).matches("(?i)https?")) {
            int slash = target.indexOf('/', scheme + 3);
            target = slash < 0 ? "/" : target.substring(slash);
        }
        if (target.length() > 24) {
            target = target.substring(0, 20) + "…(" + target.length() + ")";
        }
        return r.method() + " " + target + " " + r.bodySize() + "B";
    }

    /** One case sent on a fresh connection and every response read, until the connection closes or goes idle. */
    private static final class Probe {
        final List<Integer> statuses = new ArrayList<>();
        String end;
        private final InputStream in;
        private final Socket socket;

        private Probe(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
        }

        /**
         * @param served how many requests the origin has served for this case so far: while the client has fewer
         *               responses than that, a quiet connection is waited on longer, as a response is still due
         */
        static Probe run(int port, byte[] bytes, IntSupplier served) throws IOException {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
                Probe p = new Probe(socket);
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(bytes);
                    out.flush();
                } catch (IOException e) {
                    // the proxy may close (or reset) before it read everything; read what it answered
                }
                p.readAll(served);
                socket.setSoLinger(true, 0);
                return p;
            }
        }

        private void readAll(IntSupplier served) throws IOException {
            socket.setSoTimeout((int) FIRST_RESPONSE.toMillis());
            try {
                while (statuses.size() < MAX_RESPONSES) {
                    int first;
                    try {
                        first = in.read();
                    } catch (SocketTimeoutException e) {
                        if (!statuses.isEmpty() && served.getAsInt() > statuses.size()
                                && socket.getSoTimeout() < FIRST_RESPONSE.toMillis()) {
                            socket.setSoTimeout((int) FIRST_RESPONSE.toMillis()); // a response is still due
                            continue;
                        }
                        end = statuses.isEmpty() ? "timeout" : "open";
                        return;
                    }
                    if (first < 0) {
                        end = "close";
                        return;
                    }
                    socket.setSoTimeout((int) FIRST_RESPONSE.toMillis());
                    int status = readResponse(first);
                    if (status < 0) {
                        end = "close";
                        return;
                    }
                    if (status >= 200) {
                        statuses.add(status);
                    }
                    socket.setSoTimeout((int) IDLE.toMillis());
                }
                end = "open";
            } catch (ClosedAfterBody e) {
                // end is set
            } catch (SocketTimeoutException e) {
                end = "stalled";
            } catch (IOException e) {
                end = "reset";
            }
        }

        /** Reads one response whose first byte is {@code first}; returns its status, or -1 if it was cut short. */
        private int readResponse(int first) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            head.write(first);
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return -1;
                }
                head.write(b);
                if (head.size() > 65536) {
                    throw new IOException("response head too large");
                }
            }
            String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
            String[] statusLine = lines[0].split(" ", 3);
            int status = Integer.parseInt(statusLine[1]);
            long length = -1;
            boolean chunked = false;
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                String name = lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT);
                String value = lines[i].substring(colon + 1).strip();
                if (name.equals("content-length")) {
                    length = Long.parseLong(value);
                } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).endsWith("chunked")) {
                    chunked = true;
                }
            }
            if (status < 200 || status == 204 || status == 304) {
                return status;
            }
            if (chunked) {
                while (true) {
                    String line = readLine();
                    if (line == null) {
                        return -1;
                    }
                    int semi = line.indexOf(';');
                    long size = Long.parseLong((semi < 0 ? line : line.substring(0, semi)).strip(), 16);
                    if (size == 0) {
                        String trailer;
                        do {
                            trailer = readLine();
                        } while (trailer != null && !trailer.isEmpty());
                        return status;
                    }
                    if (!skip(size + 2)) {
                        return -1;
                    }
                }
            }
            if (length >= 0) {
                return skip(length) ? status : -1;
            }
            while (in.read() >= 0) {
                // a body delimited by the close
            }
            statuses.add(status);
            end = "close";
            throw new ClosedAfterBody();
        }

        private String readLine() throws IOException {
            StringBuilder sb = new StringBuilder();
            int b;
            while ((b = in.read()) >= 0) {
                if (b == '\n') {
                    return sb.toString().strip();
                }
                sb.append((char) b);
            }
            return null;
        }

        private boolean skip(long n) throws IOException {
            for (long i = 0; i < n; i++) {
                if (in.read() < 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A response whose body ended with the connection: everything was read. */
    private static final class ClosedAfterBody extends IOException {
        ClosedAfterBody() {
            super("closed after a close-delimited body", null);
        }
    }
}

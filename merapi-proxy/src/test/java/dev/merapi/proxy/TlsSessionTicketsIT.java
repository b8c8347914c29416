package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TicketKeys;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Session-ticket keys of a TLS listener seen by {@code openssl s_client}: the name of the key that sealed a ticket is
 * its first 16 bytes, which s_client prints, so each test watches the keys change rather than timing them. Rotation
 * keeps the previous key for one period; a key file shared by two listeners (standing for two instances) lets each
 * resume the other's sessions, and is read again when it changes.
 */
class TlsSessionTicketsIT {
    /** How long a test waits for a key change it expects: far beyond the 1 to 3 s periods used here. */
    private static final Duration KEY_CHANGE_LIMIT = Duration.ofSeconds(60);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern TICKET_NAME = Pattern.compile("TLS session ticket:\\s*\\n\\s*0000 - ([0-9a-f -]{47})");

    @TempDir
    Path dir;
    private TestPki pki;
    private CertificateStore certificates;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeEach
    void issue() {
        pki = TestPki.create(dir, "Merapi Test CA");
        TestPki.Issued localhost = pki.certificate("localhost").dns("localhost").ip("127.0.0.1").issue();
        certificates = CertificateStore.of(localhost.chainPem(), localhost.keyPem());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    private TestServer serve(TicketKeys keys) {
        ServerTls tls = ServerTls.builder(certificates).ticketKeys(keys).build();
        ListeningService service = ListeningService.http("tickets", HttpProxy.of(new TlsListenerIT.TlsEcho()))
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().tls(tls).build());
        TestServer server = TestServer.start(service);
        opened.add(server);
        return server;
    }

    /** A TLS 1.2 handshake with s_client (its session printed with the ticket), saving or offering a session. */
    private TlsListenerIT.Run sClient(TestServer server, String sessionFlag, Path session) throws Exception {
        return TlsListenerIT.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(), "-CAfile",
                pki.caPem().toString(), "-tls1_2", sessionFlag, session.toString()), "Q\n");
    }

    /** A new session saved to {@code file}; returns the name of the key its ticket was sealed with, as s_client prints it. */
    private String newSession(TestServer server, Path file) throws Exception {
        TlsListenerIT.Run r = sClient(server, "-sess_out", file);
        assertThat(r.output()).contains("New, TLSv1.2");
        Matcher m = TICKET_NAME.matcher(r.output());
        assertThat(m.find()).as(r.output()).isTrue();
        return m.group(1);
    }

    private boolean resumes(TestServer server, Path session) throws Exception {
        String out = sClient(server, "-sess_in", session).output();
        assertThat(out).containsAnyOf("Reused, TLSv1.2", "New, TLSv1.2");
        return out.contains("Reused, TLSv1.2");
    }

    /** Makes new sessions until one is sealed with a key other than {@code name}; returns that key's name. */
    private String awaitKeyOtherThan(TestServer server, String name) throws Exception {
        long deadline = System.nanoTime() + KEY_CHANGE_LIMIT.toNanos();
        Path probe = dir.resolve("probe.pem");
        while (System.nanoTime() - deadline < 0) {
            String now = newSession(server, probe);
            if (!now.equals(name)) {
                return now;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the ticket key stayed " + name + " for " + KEY_CHANGE_LIMIT);
    }

    /** How s_client prints a 16-byte name made of {@code b} repeated. */
    private static String printed(int b) {
        String h = HexFormat.of().toHexDigits((byte) b);
        return String.join(" ", java.util.Collections.nCopies(8, h)) + "-" + String.join(" ", java.util.Collections.nCopies(8, h));
    }

    /** A 48-byte key whose name is {@code nameByte} repeated, with random HMAC and AES keys. */
    private static byte[] key(int nameByte) {
        byte[] k = new byte[TicketKeys.KEY_LENGTH];
        RANDOM.nextBytes(k);
        java.util.Arrays.fill(k, 0, 16, (byte) nameByte);
        return k;
    }

    /** Replaces {@code file} at once with {@code keys} back to back, readable by its owner only. */
    private void writeKeys(Path file, byte[]... keys) throws IOException {
        ByteBuffer all = ByteBuffer.allocate(keys.length * TicketKeys.KEY_LENGTH);
        for (byte[] k : keys) {
            all.put(k);
        }
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        Files.write(tmp, all.array());
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void aSessionResumesAcrossOneKeyRotationAndNotAfterTwo() throws Exception {
        TestServer server = serve(TicketKeys.rotating(Duration.ofSeconds(3)));
        Path session = dir.resolve("session.pem");
        String first = newSession(server, session);
        assertThat(resumes(server, session)).isTrue();

        String second = awaitKeyOtherThan(server, first);
        assertThat(resumes(server, session)).as("the previous key still decrypts").isTrue();

        awaitKeyOtherThan(server, second);
        assertThat(resumes(server, session)).as("the key two rotations old is gone").isFalse();
    }

    @Test
    void twoListenersSharingAKeyFileResumeEachOthersSessions() throws Exception {
        Path file = dir.resolve("ticket.keys");
        writeKeys(file, key(0x11), key(0x12));
        TestServer one = serve(TicketKeys.fromFile(file));
        TestServer two = serve(TicketKeys.fromFile(file));

        Path fromOne = dir.resolve("one.pem");
        assertThat(newSession(one, fromOne)).as("the first key of the file seals").isEqualTo(printed(0x11));
        assertThat(resumes(two, fromOne)).isTrue();
        Path fromTwo = dir.resolve("two.pem");
        assertThat(newSession(two, fromTwo)).isEqualTo(printed(0x11));
        assertThat(resumes(one, fromTwo)).isTrue();

        TestServer own = serve(TicketKeys.DEFAULT);
        assertThat(resumes(own, fromOne)).as("an instance with keys of its own does not resume them").isFalse();
    }

    @Test
    void aRewrittenKeyFileIsReadAgainAndAKeyDecryptsAsLongAsTheFileListsIt() throws Exception {
        Path file = dir.resolve("ticket.keys");
        byte[] k1 = key(0x11);
        byte[] k2 = key(0x22);
        writeKeys(file, k1);
        TestServer server = serve(TicketKeys.fromFile(file, Duration.ofSeconds(1)));
        Path session = dir.resolve("session.pem");
        assertThat(newSession(server, session)).isEqualTo(printed(0x11));

        writeKeys(file, k2, k1);
        assertThat(awaitKeyOtherThan(server, printed(0x11))).isEqualTo(printed(0x22));
        assertThat(resumes(server, session)).as("the old key is still listed, so it decrypts").isTrue();

        writeKeys(file, key(0x33), k2);
        assertThat(awaitKeyOtherThan(server, printed(0x22))).isEqualTo(printed(0x33));
        assertThat(resumes(server, session)).as("the old key left the file").isFalse();
    }

    @Test
    void aBrokenKeyFileAtAReadLeavesTheKeysInUse() throws Exception {
        Path file = dir.resolve("ticket.keys");
        writeKeys(file, key(0x11));
        TestServer server = serve(TicketKeys.fromFile(file, Duration.ofSeconds(1)));
        Path session = dir.resolve("session.pem");
        newSession(server, session);
        try (LogCapture log = LogCapture.of("dev.merapi.core.internal.tls.TlsContexts")) {
            Files.write(file, new byte[47]);
            long deadline = System.nanoTime() + KEY_CHANGE_LIMIT.toNanos();
            while (log.lines().stream().noneMatch(l -> l.contains("previous keys stay in use") && l.contains("47 bytes"))
                    && System.nanoTime() - deadline < 0) {
                Thread.sleep(100);
            }
            assertThat(log.lines()).anyMatch(l -> l.contains("previous keys stay in use") && l.contains(file.toString())
                    && l.contains("47 bytes"));
        }
        assertThat(newSession(server, dir.resolve("after.pem"))).isEqualTo(printed(0x11));
        assertThat(resumes(server, session)).isTrue();
    }

    @Test
    void aKeyFileOfTheWrongLengthIsAStartupErrorNamingTheFile() throws Exception {
        Path file = dir.resolve("short.keys");
        Files.write(file, new byte[47]);
        assertThatThrownBy(() -> serve(TicketKeys.fromFile(file)))
                .hasStackTraceContaining("the session-ticket key file " + file + " holds 47 bytes");
        Path empty = dir.resolve("empty.keys");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> serve(TicketKeys.fromFile(empty))).hasStackTraceContaining(empty + " holds 0 bytes");
        assertThatThrownBy(() -> serve(TicketKeys.fromFile(dir.resolve("missing.keys"))))
                .hasStackTraceContaining("cannot read the session-ticket key file " + dir.resolve("missing.keys"));
    }

    @Test
    void aKeyFileReadableByOthersGivesAWarningAndTheKeysAreNeverLogged() throws Exception {
        Path file = dir.resolve("ticket.keys");
        byte[] k = key(0x44);
        writeKeys(file, k);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        try (LogCapture log = LogCapture.of("dev.merapi.core")) {
            serve(TicketKeys.fromFile(file));
            assertThat(log.lines()).anyMatch(l -> l.contains("session-ticket key file " + file)
                    && l.contains("can be read by its group or by others"));
            String all = String.join("\n", log.lines()).toLowerCase(java.util.Locale.ROOT);
            assertThat(all).doesNotContain(HexFormat.of().formatHex(k, 16, 48))
                    .doesNotContain(java.util.Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(k, 16, 48)).toLowerCase(java.util.Locale.ROOT));
        }
    }
}

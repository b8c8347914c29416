package dev.merapi.gateway.admin;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's audit log: an append-only file of JSON lines, one per call that changed something or was refused.
 * Each record ends with {@code "prev"}, the SHA-256 (hex) of the line before it ({@link #GENESIS}, the hash of the
 * empty string, for the first line), so that an edited, removed or inserted line breaks the chain at the line after
 * it; {@link #verify} checks it ({@code merapi audit verify FILE}). Opening an existing file continues its chain.
 * Removing lines at the end cannot be seen in the file alone: the status endpoint shows the hash of the last line
 * ({@link #head()}), which can be kept elsewhere.
 *
 * <p>Threading: one writer thread appends and syncs each record; callers never block. A change first
 * {@link #reserve()}s a place ({@value #CAPACITY} at most are waiting), so that a change is refused rather than left
 * unaudited when the writer cannot keep up. Callers pass only what may be logged: never a token, a hash or a key.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
    /** The {@code prev} of the first line: the SHA-256 of nothing. */
    public static final String GENESIS = sha256("");
    /** Records waiting to be written, at most. */
    static final int CAPACITY = 1024;
    private static final Pattern PREV = Pattern.compile(",\"prev\":\"([0-9a-f]{64})\"}$");
    private final Path file;
    private final FileChannel channel;
    private final Clock clock;
    private final Semaphore places = new Semaphore(CAPACITY);
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final AtomicLong dropped = new AtomicLong();
    private volatile String head;
    private volatile boolean closed;

    private record Pending(Map<String, Object> fields, CompletableFuture<Void> written) {
    }

    private AuditLog(Path file, FileChannel channel, String head, Clock clock) {
        this.file = file;
        this.channel = channel;
        this.head = head;
        this.clock = clock;
        this.writer = Thread.ofPlatform().daemon().name("merapi-audit-log").unstarted(this::run);
    }

    /**
     * Opens (creating it with owner-only permissions if it does not exist) and continues the chain of {@code file}.
     *
     * @throws IOException if it cannot be opened or its last line is not a record of this log
     */
    public static AuditLog open(Path file, Clock clock) throws IOException {
        String head = GENESIS;
        if (Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (!lines.isEmpty()) {
                String last = lines.getLast();
                if (!PREV.matcher(last).find()) {
                    throw new IOException("the last line of " + file + " is not an audit record; check it with merapi audit verify");
                }
                head = sha256(last);
            }
        } else {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Files.createFile(file);
            try {
                Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: its defaults apply
            }
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        AuditLog a = new AuditLog(file, channel, head, clock);
        a.writer.start();
        return a;
    }

    /** The file. */
    public Path file() {
        return file;
    }

    /** The SHA-256 of the last line written ({@link #GENESIS} while the file is empty). */
    public String head() {
        return head;
    }

    /** Records of refused calls that were not written because the queue was full. */
    public long dropped() {
        return dropped.get();
    }

    /** Takes a place in the queue for one record; false when it is full, and the change must then be refused. */
    public boolean reserve() {
        return !closed && places.tryAcquire();
    }

    /**
     * Writes a record in a place {@link #reserve()} took; {@code time} is added first and {@code prev} last.
     *
     * @return completes once the line is on disk, or exceptionally if it could not be written
     */
    public CompletableFuture<Void> write(Map<String, Object> fields) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (closed) {
            places.release();
            done.completeExceptionally(new IOException("the audit log is closed"));
            return done;
        }
        queue.add(new Pending(fields, done));
        return done;
    }

    /** Writes a record if a place is free, else counts it as dropped (for refused calls, which change nothing). */
    public void writeIfRoom(Map<String, Object> fields) {
        if (reserve()) {
            write(fields);
        } else {
            dropped.incrementAndGet();
        }
    }

    private void run() {
        while (true) {
            Pending p;
            try {
                p = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (p.fields.isEmpty()) { // the close marker, which took no place
                p.written.complete(null);
                return;
            }
            try {
                Map<String, Object> record = new LinkedHashMap<>();
                record.put("time", clock.instant());
                record.putAll(p.fields);
                record.put("prev", head);
                String line = Json.write(record);
                ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(false);
                head = sha256(line);
                p.written.complete(null);
            } catch (IOException | RuntimeException e) {
                log.error("cannot write the audit log {}: {}", file, e.toString());
                p.written.completeExceptionally(e);
            } finally {
                places.release();
            }
        }
    }

    /** Writes what is queued, then closes the file. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CompletableFuture<Void> marker = new CompletableFuture<>();
        queue.add(new Pending(Map.of(), marker));
        try {
            marker.get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("the audit log writer did not finish: {}", e.toString());
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.warn("cannot close the audit log {}: {}", file, e.toString());
        }
    }

    /**
     * The outcome of checking a file's chain.
     *
     * @param records how many lines were read
     * @param badLine the first line (from 1) whose {@code prev} is not the hash of the line before it, or empty
     * @param message what is wrong, or how many records are good
     * @param head the hash of the last line
     */
    public record Verification(int records, Optional<Integer> badLine, String message, String head) {
        /** Whether the whole chain holds. */
        public boolean ok() {
            return badLine.isEmpty();
        }
    }

    /**
     * Checks the chain of an audit log file.
     *
     * @throws IOException if it cannot be read
     */
    public static Verification verify(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String expected = GENESIS;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher m = PREV.matcher(line);
            int n = i + 1;
            if (!m.find()) {
                return new Verification(lines.size(), Optional.of(n), "line " + n + ": not an audit record (no \"prev\" at its end)", expected);
            }
            if (!m.group(1).equals(expected)) {
                return new Verification(lines.size(), Optional.of(n), "line " + n + ": \"prev\" is not the hash of "
                        + (n == 1 ? "an empty log: a line was removed before it" : "line " + (n - 1)
                        + ": that line was edited, or a line was removed or inserted before this one"), expected);
            }
            expected = sha256(line);
        }
        return new Verification(lines.size(), Optional.empty(), lines.size() + " record(s), chain intact; last hash " + expected, expected);
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}

package dev.merapi.core.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a TLS listener's session-ticket keys come from: keys it makes itself and rotates on a schedule, or keys read
 * from a file shared by several instances. Immutable; made with {@link #rotating(Duration)} or {@link #fromFile}.
 *
 * <p><b>Rotating</b> (the default, every {@link #DEFAULT_ROTATION 12 h}): the listener makes a random key at start and
 * a new one every period; the new key encrypts the tickets issued from then on, and the previous key is kept for one
 * more period so that it still decrypts the tickets it issued. A ticket therefore resumes for at least one period and
 * at most two: 12 to 24 h by default, which stays within the one-day session lifetime of Mozilla's server side TLS
 * guideline ({@code ssl_session_timeout 1d}) and bounds how long a stolen key could decrypt recorded resumptions
 * (the reason nginx's and Mozilla's guidance warn against ticket keys that never change). Keys live only in memory
 * and never leave the process: each instance has its own, so a ticket resumes only on the instance that issued it.
 *
 * <p><b>From a file</b>: the file holds one or more 48-byte keys back to back, each a 16-byte name, a 16-byte HMAC key
 * and a 16-byte AES key (the format of nginx's {@code ssl_session_ticket_key}, which is one such key per file): the
 * first key encrypts, all of them decrypt. Instances reading the same file resume each other's sessions. The file is
 * checked for a change every {@code interval} and read again when it changed; rotating is then the operator's job
 * (write a new key first, keep the previous one after it, replace the file atomically). A file whose length is not a
 * positive multiple of 48 bytes is refused at start, naming the file; at a later check it is refused with an error in
 * the log and the keys in use stay. A file readable by group or others gives a warning. Keys are never logged.
 *
 * <p>With the JDK's TLS (when netty-tcnative cannot load) the JDK manages its own ticket keys and this setting has
 * no effect; the start log says so.
 *
 * @param file the key file, or empty for keys made and rotated by the listener
 * @param interval the rotation period of made keys, or how often the key file is checked for a change
 */
public record TicketKeys(Optional<Path> file, Duration interval) {

    /** How often made keys are rotated by default: 12 hours (see the class comment for why). */
    public static final Duration DEFAULT_ROTATION = Duration.ofHours(12);
    /** How often a key file is checked for a change by default. */
    public static final Duration DEFAULT_FILE_CHECK = Duration.ofSeconds(10);
    /** The shortest period or check interval accepted: one second. */
    public static final Duration MIN_INTERVAL = Duration.ofSeconds(1);
    /** The length of one key in a key file: name, HMAC key and AES key of 16 bytes each. */
    public static final int KEY_LENGTH = 48;
    /** Keys made by the listener and rotated every {@link #DEFAULT_ROTATION 12 hours}. */
    public static final TicketKeys DEFAULT = rotating(DEFAULT_ROTATION);

    public TicketKeys {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(interval, "interval");
        if (interval.compareTo(MIN_INTERVAL) < 0) {
            throw new TlsConfigException("the session-ticket key " + (file.isPresent() ? "file check interval" : "rotation period")
                    + " must be at least " + MIN_INTERVAL.toSeconds() + " s: " + interval);
        }
    }

    /** Keys made by the listener, a new one every {@code period} (at least {@link #MIN_INTERVAL 1 s}). */
    public static TicketKeys rotating(Duration period) {
        return new TicketKeys(Optional.empty(), period);
    }

    /** Keys read from {@code file}, checked for a change every {@link #DEFAULT_FILE_CHECK 10 s}. */
    public static TicketKeys fromFile(Path file) {
        return fromFile(file, DEFAULT_FILE_CHECK);
    }

    /** Keys read from {@code file}, checked for a change every {@code checkEvery} (at least 1 s). */
    public static TicketKeys fromFile(Path file, Duration checkEvery) {
        return new TicketKeys(Optional.of(file), checkEvery);
    }

    /** Says where the keys come from, for logs: never the keys themselves. */
    public String describe() {
        return file.map(f -> "from " + f + " (checked every " + interval + ")")
                .orElseGet(() -> "made in memory, rotated every " + interval);
    }
}

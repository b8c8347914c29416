package dev.merapi.core.internal.tls;

import dev.merapi.core.files.FileStamp;
import dev.merapi.core.tls.TicketKeys;
import dev.merapi.core.tls.TlsConfigException;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session-ticket keys of one TLS listener at one moment, first the key that encrypts, then the ones that still
 * decrypt: made in memory and rotated ({@link #rotate()} keeps the previous key), or read from a key file
 * ({@link #refreshFromFile()} reads it again when its modification time or size changed).
 *
 * <p>Not thread-safe: its owner ({@link TlsContexts}) calls it from one thread at a time (at start, then from its
 * scheduled task) and publishes {@link #keys()} through a volatile field. The key bytes never leave this class and
 * the contexts' native memory; nothing here logs them.
 */
final class TicketKeyRing {
    private static final Logger log = LoggerFactory.getLogger(TicketKeyRing.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Made keys kept: the one that encrypts and the previous one, which still decrypts for one period. */
    private static final int MADE_KEPT = 2;
    /** Most keys read from one file: a ring of a few keys is the use; more is a wrong file. */
    private static final int MAX_FILE_KEYS = 64;

    private final TicketKeys source;
    private List<OpenSslSessionTicketKey> keys;
    private FileStamp fileStamp = FileStamp.MISSING;

    private TicketKeyRing(TicketKeys source, List<OpenSslSessionTicketKey> keys) {
        this.source = source;
        this.keys = keys;
    }

    /**
     * The keys of {@code source} at start: one made key, or the keys of the file.
     *
     * @throws TlsConfigException if the key file cannot be read or its length is not a positive multiple of 48
     */
    static TicketKeyRing of(TicketKeys source) {
        TicketKeyRing ring = new TicketKeyRing(source, source.file().isEmpty() ? List.of(made()) : List.of());
        source.file().ifPresent(f -> {
            warnIfReadable(f);
            ring.refreshFromFile();
        });
        return ring;
    }

    /** The keys, the encrypting one first; a new list after each change. */
    List<OpenSslSessionTicketKey> keys() {
        return keys;
    }

    /** Puts a new made key first and keeps the previous one; drops older ones. */
    void rotate() {
        List<OpenSslSessionTicketKey> next = new ArrayList<>(MADE_KEPT);
        next.add(made());
        next.addAll(keys.subList(0, Math.min(keys.size(), MADE_KEPT - 1)));
        keys = List.copyOf(next);
    }

    /**
     * Reads the key file again if its modification time or size changed since the last read.
     *
     * @return whether the keys changed
     * @throws TlsConfigException if the file cannot be read or holds no whole keys; the keys stay as they were, and
     *     that version of the file is not read again
     */
    boolean refreshFromFile() {
        Path file = source.file().orElseThrow();
        FileStamp stamp = FileStamp.of(file);
        if (!stamp.exists()) {
            throw new TlsConfigException("cannot read the session-ticket key file " + file + ": it is missing or unreadable");
        }
        if (stamp.equals(fileStamp)) {
            return false;
        }
        fileStamp = stamp; // a bad version is refused once, not at every check until it changes
        keys = read(file);
        return true;
    }

    /** The 48-byte keys of {@code file}, in file order. */
    static List<OpenSslSessionTicketKey> read(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException | RuntimeException e) {
            throw new TlsConfigException("cannot read the session-ticket key file " + file + ": " + e.getClass().getSimpleName(), e);
        }
        try {
            int len = TicketKeys.KEY_LENGTH;
            if (all.length == 0 || all.length % len != 0 || all.length / len > MAX_FILE_KEYS) {
                throw new TlsConfigException("the session-ticket key file " + file + " holds " + all.length + " bytes: expected "
                        + len + " bytes per key (16 name, 16 HMAC, 16 AES), 1 to " + MAX_FILE_KEYS + " keys");
            }
            List<OpenSslSessionTicketKey> out = new ArrayList<>(all.length / len);
            for (int at = 0; at < all.length; at += len) {
                out.add(key(all, at));
            }
            return List.copyOf(out);
        } finally {
            Arrays.fill(all, (byte) 0);
        }
    }

    private static OpenSslSessionTicketKey made() {
        byte[] k = new byte[TicketKeys.KEY_LENGTH];
        RANDOM.nextBytes(k);
        try {
            return key(k, 0);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    private static OpenSslSessionTicketKey key(byte[] b, int at) {
        return new OpenSslSessionTicketKey(Arrays.copyOfRange(b, at, at + 16), Arrays.copyOfRange(b, at + 16, at + 32),
                Arrays.copyOfRange(b, at + 32, at + 48));
    }

    private static void warnIfReadable(Path file) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            if (p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ)) {
                log.warn("the session-ticket key file {} can be read by its group or by others; chmod 600 it", file);
            }
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("cannot read the permissions of {}", file);
        }
    }
}

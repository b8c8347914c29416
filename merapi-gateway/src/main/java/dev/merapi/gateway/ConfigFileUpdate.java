package dev.merapi.gateway;

import dev.merapi.core.files.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writing a configuration applied through the admin API into the file the gateway runs from, so that the next reload
 * or start reads what is in force. In two steps around the swap: {@link #prepare} copies the file to
 * {@code FILE.previous} and writes the new text to a temporary file beside it (synced, with the file's permissions),
 * so that any failure refuses the apply before anything changed; {@link #commit} then renames the temporary file onto
 * the file, which a reader sees whole or not at all. A symbolic link is followed: its target is replaced.
 *
 * <p>Threading: one update at a time, under the gateway's reload lock. Not thread-safe.
 */
final class ConfigFileUpdate {
    /** What the previous file is kept as, beside it: {@code FILE.previous}. */
    static final String PREVIOUS = ".previous";
    private final Path target;
    private final Path staged;

    private ConfigFileUpdate(Path target, Path staged) {
        this.target = target;
        this.staged = staged;
    }

    /**
     * Keeps the file's content as {@code FILE.previous} and stages {@code text} beside the file.
     *
     * @throws IOException if either cannot be written; nothing is left behind but an up-to-date {@code FILE.previous}
     */
    static ConfigFileUpdate prepare(Path file, String text) throws IOException {
        Path target = file.toRealPath();
        Path dir = target.getParent();
        if (dir == null) {
            throw new IOException(target + " has no directory");
        }
        Set<PosixFilePermission> permissions = permissions(target);
        Path previous = dir.resolve(target.getFileName() + PREVIOUS);
        AtomicFiles.moveOnto(write(dir, Files.readAllBytes(target), permissions), previous);
        return new ConfigFileUpdate(target, write(dir, text.getBytes(StandardCharsets.UTF_8), permissions));
    }

    /** Renames the staged text onto the file. */
    void commit() throws IOException {
        AtomicFiles.moveOnto(staged, target);
    }

    /** Removes the staged text (the apply was refused). */
    void discard() {
        try {
            Files.deleteIfExists(staged);
        } catch (IOException e) {
            // a temporary file left behind is harmless; the next update writes another
        }
    }

    /** The file that was or will be replaced (the target of a symbolic link). */
    Path target() {
        return target;
    }

    private static Set<PosixFilePermission> permissions(Path file) throws IOException {
        try {
            return Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            return PosixFilePermissions.fromString("rw-------");
        }
    }

    /** A new temporary file in {@code dir} holding {@code content}, synced to disk, with {@code permissions}. */
    private static Path write(Path dir, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        Path tmp = AtomicFiles.stage(dir, content);
        try {
            Files.setPosixFilePermissions(tmp, permissions);
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its defaults apply
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }
}

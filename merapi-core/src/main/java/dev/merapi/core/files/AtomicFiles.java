package dev.merapi.core.files;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replacing a file so that a reader sees the old content or the new, whole, never a part: the new content is written
 * to a temporary file beside the target and synced to disk, then renamed onto the target (atomically where the file
 * system can). Used for what Merapi writes back to disk, such as a configuration applied through the admin API or
 * the last good remote bundle.
 *
 * <p>Stateless; any thread. Two writers of one target at once must be kept apart by the caller.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /**
     * Replaces the content of {@code target} with {@code content}.
     *
     * @throws IOException if it cannot be written; {@code target} is then as it was, and no temporary file is left
     */
    public static void replace(Path target, byte[] content) throws IOException {
        moveOnto(stage(directoryOf(target), content), target);
    }

    /**
     * A new temporary file in {@code dir} (named {@code .merapi-*.tmp}, readable by its owner only where the file
     * system has POSIX permissions) holding {@code content}, synced to disk.
     *
     * @throws IOException if it cannot be written; nothing is left behind
     */
    public static Path stage(Path dir, byte[] content) throws IOException {
        Path tmp = Files.createTempFile(dir, ".merapi-", ".tmp");
        try {
            Files.write(tmp, content);
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            return tmp;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * Renames {@code staged} onto {@code target}, atomically where the file system can, replacing it. {@code staged}
     * is gone afterwards, whether the rename succeeded or not.
     */
    public static void moveOnto(Path staged, Path target) throws IOException {
        try {
            try {
                Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(staged, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(staged);
        }
    }

    private static Path directoryOf(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null) {
            throw new IOException(target + " has no directory");
        }
        return dir;
    }
}

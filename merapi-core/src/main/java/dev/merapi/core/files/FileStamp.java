package dev.merapi.core.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/**
 * What a file looked like when it was last checked: its modification time and size. A watch that compares two stamps
 * notices an edit in place and a rename onto the file alike; a file that cannot be read has the stamp
 * {@link #MISSING}.
 *
 * <pre>{@code
 * FileStamp now = FileStamp.of(file);
 * if (now.exists() && !now.equals(seen)) { seen = now; reload(); }
 * }</pre>
 *
 * <p>Immutable. {@link #of} reads file metadata, so call it where blocking is allowed (a background service,
 * never an event loop).
 *
 * @param modified the last modification time
 * @param size the size in bytes; -1 for {@link #MISSING}
 */
public record FileStamp(FileTime modified, long size) {
    /** The stamp of a file that does not exist or cannot be read. */
    public static final FileStamp MISSING = new FileStamp(FileTime.fromMillis(0), -1);

    /** The stamp of {@code file} now; {@link #MISSING} if its metadata cannot be read. */
    public static FileStamp of(Path file) {
        try {
            return new FileStamp(Files.getLastModifiedTime(file), Files.size(file));
        } catch (IOException e) {
            return MISSING;
        }
    }

    /** Whether the file could be read when stamped. */
    public boolean exists() {
        return size >= 0;
    }
}

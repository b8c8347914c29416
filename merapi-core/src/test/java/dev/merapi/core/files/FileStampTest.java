package dev.merapi.core.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileStampTest {
    @TempDir
    Path dir;

    @Test
    void anUnchangedFileKeepsItsStamp() throws Exception {
        Path f = Files.writeString(dir.resolve("a.yaml"), "one");

        assertThat(FileStamp.of(f)).isEqualTo(FileStamp.of(f));
        assertThat(FileStamp.of(f).exists()).isTrue();
        assertThat(FileStamp.of(f).size()).isEqualTo(3);
    }

    @Test
    void anEditThatKeepsTheModificationTimeStillChangesTheStampThroughTheSize() throws Exception {
        Path f = Files.writeString(dir.resolve("a.yaml"), "one");
        FileTime time = Files.getLastModifiedTime(f);
        FileStamp before = FileStamp.of(f);

        Files.writeString(f, "three");
        Files.setLastModifiedTime(f, time);

        assertThat(FileStamp.of(f)).isNotEqualTo(before);
    }

    @Test
    void aRenameOntoTheFileChangesTheStamp() throws Exception {
        Path f = Files.writeString(dir.resolve("a.yaml"), "one");
        FileStamp before = FileStamp.of(f);
        Path next = Files.writeString(dir.resolve("a.yaml.new"), "two");
        Files.setLastModifiedTime(next, FileTime.from(Instant.now().plusSeconds(5)));

        Files.move(next, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        assertThat(FileStamp.of(f)).isNotEqualTo(before);
    }

    @Test
    void aMissingFileHasTheMissingStamp() {
        FileStamp stamp = FileStamp.of(dir.resolve("absent"));

        assertThat(stamp).isEqualTo(FileStamp.MISSING);
        assertThat(stamp.exists()).isFalse();
    }
}

package dev.merapi.core.internal.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.tls.TicketKeys;
import dev.merapi.core.tls.TlsConfigException;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ring of session-ticket keys: what a rotation keeps, and how a key file is split and read again. */
class TicketKeyRingTest {
    @TempDir
    Path dir;

    private static List<String> names(TicketKeyRing ring) {
        return ring.keys().stream().map(k -> Arrays.toString(k.name())).toList();
    }

    @Test
    void aRotationPutsANewKeyFirstAndKeepsOnlyThePreviousOne() {
        TicketKeyRing ring = TicketKeyRing.of(TicketKeys.DEFAULT);
        assertThat(ring.keys()).hasSize(1);
        String first = names(ring).getFirst();

        ring.rotate();
        assertThat(names(ring)).hasSize(2).doesNotHaveDuplicates();
        assertThat(names(ring).get(1)).isEqualTo(first);
        String second = names(ring).getFirst();

        ring.rotate();
        assertThat(names(ring)).hasSize(2).doesNotContain(first);
        assertThat(names(ring).get(1)).isEqualTo(second);
    }

    @Test
    void aKeyFileIsSplitIntoNameHmacAndAesKeysInFileOrder() throws Exception {
        byte[] bytes = new byte[96];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        Path file = dir.resolve("ticket.keys");
        Files.write(file, bytes);
        List<OpenSslSessionTicketKey> keys = TicketKeyRing.read(file);
        assertThat(keys).hasSize(2);
        assertThat(keys.get(0).name()).isEqualTo(Arrays.copyOfRange(bytes, 0, 16));
        assertThat(keys.get(0).hmacKey()).isEqualTo(Arrays.copyOfRange(bytes, 16, 32));
        assertThat(keys.get(0).aesKey()).isEqualTo(Arrays.copyOfRange(bytes, 32, 48));
        assertThat(keys.get(1).name()).isEqualTo(Arrays.copyOfRange(bytes, 48, 64));
    }

    @Test
    void aKeyFileIsReadAgainOnlyWhenItChangedAndABadVersionLeavesTheKeysAndIsRefusedOnce() throws Exception {
        Path file = dir.resolve("ticket.keys");
        Files.write(file, new byte[48]);
        TicketKeyRing ring = TicketKeyRing.of(TicketKeys.fromFile(file, Duration.ofSeconds(1)));
        assertThat(ring.refreshFromFile()).isFalse();

        Files.write(file, new byte[96]);
        assertThat(ring.refreshFromFile()).isTrue();
        assertThat(ring.keys()).hasSize(2);

        Files.write(file, new byte[100]);
        assertThatThrownBy(ring::refreshFromFile).isInstanceOf(TlsConfigException.class)
                .hasMessageContaining(file + " holds 100 bytes");
        assertThat(ring.keys()).hasSize(2);
        assertThat(ring.refreshFromFile()).as("a refused version is not read again until it changes").isFalse();
        assertThatThrownBy(() -> TicketKeyRing.read(dir.resolve("none"))).isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("cannot read the session-ticket key file");
    }
}

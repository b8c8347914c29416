package dev.merapi.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KnownNamesTest {

    private static String name(String s) {
        ByteBuf b = Unpooled.copiedBuffer("x" + s, StandardCharsets.US_ASCII);
        try {
            return KnownNames.name(b, 1, s.length());
        } finally {
            b.release();
        }
    }

    @Test
    void knownNamesAreSharedInTheirExactCase() {
        assertThat(name("Host")).isSameAs(name("Host")).isEqualTo("Host");
        assertThat(name("content-length")).isSameAs("content-length");
    }

    @Test
    void otherSpellingsAndUnknownNamesAreDecodedAsReceived() {
        assertThat(name("HOST")).isEqualTo("HOST");
        assertThat(name("X-Custom-Thing")).isEqualTo("X-Custom-Thing");
        assertThat(name("A-Name-Longer-Than-Thirty-Two-Characters-X")).isEqualTo("A-Name-Longer-Than-Thirty-Two-Characters-X");
    }
}

package dev.merapi.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;

/** Test helpers for bytes on an {@link EmbeddedChannel}, as ISO-8859-1 text. */
public final class Wire {
    private Wire() {
    }

    /** {@code s} as a new heap buffer, which the caller owns. */
    public static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    /** Flushes {@code channel} and returns everything it wrote, as text; every written buffer is released. */
    public static String written(EmbeddedChannel channel) {
        channel.flush();
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }
}

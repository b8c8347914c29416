package dev.merapi.core.internal.http1;

import static dev.merapi.core.internal.http1.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ChunkWriterTest {
    private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final ChannelHandlerContext ctx = channel.pipeline().firstContext();

    @AfterEach
    void nothingLeftOver() {
        assertThat(channel.finishAndReleaseAll()).as("nothing left in the channel").isFalse();
    }

    private String written() {
        return Wire.written(channel);
    }

    @Test
    void aPieceGoesOutAsOneChunkWithItsSizeLineAndCrlf() {
        ChunkWriter.write(ctx, text("hello"));
        assertThat(written()).isEqualTo("5\r\nhello\r\n");
    }

    @Test
    void theSizeLineIsHexadecimal() {
        ChunkWriter.write(ctx, text("x".repeat(300)));
        assertThat(written()).isEqualTo("12c\r\n" + "x".repeat(300) + "\r\n");
    }

    @Test
    void anEmptyPieceWritesNothingSinceAZeroChunkWouldEndTheBody() {
        ByteBuf empty = Unpooled.buffer(4);
        ChunkWriter.write(ctx, empty);
        assertThat(written()).isEmpty();
        assertThat(empty.refCnt()).as("released").isZero();
    }

    @Test
    void endWritesTheLastChunkWithoutTrailers() {
        ChunkWriter.write(ctx, text("ab"));
        ChunkWriter.write(ctx, text("cde"));
        ChunkWriter.end(ctx);
        assertThat(written()).isEqualTo("2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
    }

    @Test
    void writesWaitForTheCallersFlush() {
        ChunkWriter.write(ctx, text("hello"));
        assertThat((Object) channel.readOutbound()).as("nothing before a flush").isNull();
        assertThat(written()).isEqualTo("5\r\nhello\r\n");
    }
}

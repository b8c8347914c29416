package dev.merapi.core.internal.http1;

import static dev.merapi.core.internal.http1.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BodyWriterTest {
    private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final ChannelHandlerContext ctx = channel.pipeline().firstContext();
    private final BodyWriter writer = new BodyWriter();

    @AfterEach
    void nothingLeftOver() {
        assertThat(channel.finishAndReleaseAll()).as("nothing left in the channel").isFalse();
    }

    private String written() {
        return Wire.written(channel);
    }

    @Test
    void aContentLengthBodyGoesOutAsItIsAndEndsWhole() {
        writer.start(BodyWriter.Framing.LENGTH, 10);
        assertThat(writer.write(ctx, text("hello"))).isTrue();
        assertThat(writer.remaining()).isEqualTo(5);
        assertThat(writer.write(ctx, text("world"))).isTrue();
        assertThat(writer.end(ctx)).as("whole").isTrue();
        assertThat(written()).isEqualTo("helloworld");
    }

    @Test
    void bytesBeyondTheContentLengthAreCutOffAndReported() {
        writer.start(BodyWriter.Framing.LENGTH, 5);
        assertThat(writer.write(ctx, text("helloSMUGGLED"))).as("cut").isFalse();
        ByteBuf more = text("more");
        assertThat(writer.write(ctx, more)).isFalse();
        assertThat(more.refCnt()).as("released").isZero();
        assertThat(writer.end(ctx)).isTrue();
        assertThat(written()).isEqualTo("hello");
    }

    @Test
    void aBodyShorterThanItsContentLengthEndsReportedShort() {
        writer.start(BodyWriter.Framing.LENGTH, 10);
        writer.write(ctx, text("hello"));
        assertThat(writer.end(ctx)).as("short").isFalse();
        assertThat(written()).isEqualTo("hello");
    }

    @Test
    void aChunkedBodyIsFramedAsChunksAndEndsWithTheLastChunk() {
        writer.start(BodyWriter.Framing.CHUNKED, 0);
        writer.write(ctx, text("hello"));
        writer.write(ctx, Unpooled.EMPTY_BUFFER);
        writer.write(ctx, text("world!"));
        assertThat(writer.end(ctx)).isTrue();
        assertThat(written()).isEqualTo("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n");
    }

    @Test
    void noBodyMeansNothingAfterTheHeadWhateverIsWritten() {
        writer.start(BodyWriter.Framing.NONE, 0);
        ByteBuf data = text("not for the wire");
        assertThat(writer.write(ctx, data)).isTrue();
        assertThat(data.refCnt()).isZero();
        assertThat(writer.end(ctx)).isTrue();
        assertThat(written()).isEmpty();
    }

    @Test
    void aCloseDelimitedBodyGoesOutAsItIs() {
        writer.start(BodyWriter.Framing.UNTIL_CLOSE, 0);
        writer.write(ctx, text("until"));
        writer.write(ctx, text(" close"));
        assertThat(writer.end(ctx)).isTrue();
        assertThat(written()).isEqualTo("until close");
    }

    @Test
    void splicedBytesCountTowardsTheLength() {
        writer.start(BodyWriter.Framing.LENGTH, 100);
        writer.skipped(100);
        assertThat(writer.end(ctx)).isTrue();
        writer.start(BodyWriter.Framing.CHUNKED, 0);
        assertThatThrownBy(() -> writer.skipped(1)).isInstanceOf(IllegalStateException.class);
        writer.end(ctx);
        assertThat(written()).isEqualTo("0\r\n\r\n");
    }
}

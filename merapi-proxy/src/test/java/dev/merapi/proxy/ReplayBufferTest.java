package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The replay buffer on its own, with pooled buffers and paranoid leak detection (a forgotten release fails the test). */
class ReplayBufferTest {
    private static ByteBuf piece(String s) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(s.length());
        b.writeCharSequence(s, StandardCharsets.US_ASCII);
        return b;
    }

    @Test
    void keptPiecesStayTheCallersAndAreHeldAsRetainedDuplicates() {
        ReplayBuffer replay = new ReplayBuffer(64);
        ByteBuf data = piece("hello");
        replay.keep(data);
        assertThat(data.refCnt()).as("the caller's reference plus the buffer's").isEqualTo(2);
        assertThat(data.readableBytes()).as("the caller's indexes are not moved").isEqualTo(5);
        assertThat(replay.bytes()).isEqualTo(5);
        assertThat(replay.isComplete()).isTrue();
        assertThat(replay.isEmpty()).isFalse();
        data.release();
        replay.discard();
        assertThat(data.refCnt()).isZero();
    }

    @Test
    void aBodyThatOutgrowsTheBoundReleasesEverythingAndIsNeverHeldAgain() {
        ReplayBuffer replay = new ReplayBuffer(8);
        ByteBuf first = piece("12345");
        ByteBuf second = piece("67890");
        ByteBuf third = piece("x");
        replay.keep(first);
        replay.keep(second);
        assertThat(replay.isComplete()).isFalse();
        assertThat(replay.isEmpty()).isTrue();
        assertThat(first.refCnt()).as("the held duplicate was released").isEqualTo(1);
        assertThat(second.refCnt()).as("the piece over the bound was never held").isEqualTo(1);
        replay.keep(third);
        assertThat(third.refCnt()).as("nothing is held after an overflow, even a piece that fits").isEqualTo(1);
        assertThat(replay.isEmpty()).isTrue();
        first.release();
        second.release();
        third.release();
    }

    @Test
    void emptyPiecesCostNothingAndABodyUpToTheBoundIsComplete() {
        ReplayBuffer replay = new ReplayBuffer(5);
        ByteBuf empty = PooledByteBufAllocator.DEFAULT.directBuffer(0);
        replay.keep(empty);
        assertThat(empty.refCnt()).isEqualTo(1);
        assertThat(replay.isEmpty()).isTrue();
        ByteBuf exact = piece("12345");
        replay.keep(exact);
        assertThat(replay.isComplete()).as("exactly the bound fits").isTrue();
        assertThat(replay.bytes()).isEqualTo(5);
        empty.release();
        exact.release();
        replay.discard();
        replay.discard(); // a second discard (the request's end after the response started) is harmless
        assertThat(exact.refCnt()).isZero();
        assertThat(replay.isComplete()).isFalse();
    }
}

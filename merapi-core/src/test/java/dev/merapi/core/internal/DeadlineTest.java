package dev.merapi.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeadlineTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private final EventLoop loop = new DefaultEventLoop();
    private final List<String> fired = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private <T> T onLoop(Callable<T> c) throws Exception {
        return loop.submit(c).get(5, TimeUnit.SECONDS);
    }

    private Deadline deadline(String name, CountDownLatch done) {
        return new Deadline(loop, () -> {
            fired.add(name);
            done.countDown();
        });
    }

    @Test
    void deadlinesOfSeveralDurationsFireInDeadlineOrderAndADisarmedOneNever() throws Exception {
        CountDownLatch done = new CountDownLatch(3);
        Deadline disarmed = onLoop(() -> {
            deadline("a-60", done).arm(60 * MS);
            deadline("b-20", done).arm(20 * MS);
            Deadline d = deadline("never", done);
            d.arm(20 * MS);
            deadline("c-20", done).arm(20 * MS);
            d.disarm();
            return d;
        });
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(100);
        assertThat(fired).containsExactly("b-20", "c-20", "a-60");
        assertThat(onLoop(disarmed::isArmed)).isFalse();
    }

    @Test
    void reArmingMovesTheDeadlineAndAnExpiryMayArmAgain() throws Exception {
        CountDownLatch twice = new CountDownLatch(2);
        long start = System.nanoTime();
        onLoop(() -> {
            Deadline[] self = new Deadline[1];
            self[0] = new Deadline(loop, () -> {
                fired.add("expired");
                twice.countDown();
                if (twice.getCount() > 0) {
                    self[0].arm(30 * MS); // same duration, from inside the lane's own check
                }
            });
            self[0].arm(30 * MS);
            self[0].arm(30 * MS); // replaces the first arming
            return null;
        });
        assertThat(twice.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(60 * MS);
        assertThat(fired).containsExactly("expired", "expired");
    }

    @Test
    void aCancelledDeadlineDoesNotFireAndTheOthersInItsLaneStillDo() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        onLoop(() -> {
            Deadline first = deadline("first", done);
            first.arm(20 * MS);
            deadline("second", done).arm(20 * MS);
            first.cancel(); // the lane's check was scheduled for the first; it must move on to the second
            return null;
        });
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(50);
        assertThat(fired).containsExactly("second");
    }

    @Test
    void anArmedDeadlineFiresWhenTheLoopsTickerPassesItWithNoSleep() {
        MockTicker ticker = Ticker.newMockTicker();
        EmbeddedChannel channel = EmbeddedChannel.builder().ticker(ticker).build();
        try {
            Deadline d = new Deadline(channel.eventLoop(), () -> fired.add("fake"));
            d.arm(10 * MS);
            ticker.advance(9, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
            assertThat(fired).as("not before its time").isEmpty();
            assertThat(d.isArmed()).isTrue();
            ticker.advance(1, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
            assertThat(fired).containsExactly("fake");
            assertThat(d.isArmed()).isFalse();
        } finally {
            channel.finishAndReleaseAll();
        }
    }
}

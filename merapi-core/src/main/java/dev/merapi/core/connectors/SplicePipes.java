package dev.merapi.core.connectors;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * The splice pipes of one event loop, with a cap. Netty splices a body through a pipe (two file descriptors) that it
 * makes on the receiving channel at its first splice and keeps until that channel closes, and it takes no pipe from
 * outside. So the pipes are bounded by bounding how many client connections of a loop may ever take a spliced body
 * while they are open: one that holds a pipe reuses it for each later spliced body, a new one gets one only below
 * the cap, and above it the body is copied through the JVM instead. A pipe goes back to the budget when its
 * connection closes, which every connection does at the latest when its loop shuts down.
 *
 * <p>One instance per event loop; every method runs on that loop, so the count needs no lock.
 */
final class SplicePipes implements Predicate<Channel> {
    private static final AttributeKey<SplicePipes> HOLDER = AttributeKey.valueOf(SplicePipes.class, "holder");

    private final int max;
    private final AtomicInteger total; // every loop's pipes, for the gauge; written on loops, read anywhere
    private final LongAdder refused;
    private int held;

    /**
     * @param max the most client connections of this loop that may hold a pipe; 0 turns splicing off
     * @param total the count of all loops' pipes, which this one adds to
     * @param refused counts the bodies copied because the cap was reached
     */
    SplicePipes(int max, AtomicInteger total, LongAdder refused) {
        this.max = max;
        this.total = total;
        this.refused = refused;
    }

    /**
     * Admits a splice: whether a body may be spliced into {@code target}: yes if it holds a pipe already (it reuses it) or if one more
     * connection may take one, which it then holds until it closes.
     */
    @Override
    public boolean test(Channel target) {
        if (target.attr(HOLDER).get() == this) {
            return true;
        }
        if (held >= max) {
            refused.increment();
            return false;
        }
        held++;
        total.incrementAndGet();
        target.attr(HOLDER).set(this);
        target.closeFuture().addListener(f -> release()); // Netty closes the pipe with the channel
        return true;
    }

    private void release() {
        held--;
        total.decrementAndGet();
    }

    /** How many client connections of this loop hold a pipe now. */
    int held() {
        return held;
    }
}

package dev.merapi.core.protocols.http2;

import java.util.Arrays;

/**
 * What a downstream HTTP/2 connection remembers of its client's recent streams after Netty's codec has forgotten them
 * (the codec drops a stream once it is closed): which of the last {@value #WINDOW} client stream ids were opened, and
 * which of those were reset, by Merapi or by the client. With it a frame on a stream the codec no longer knows can be
 * told apart: a late frame on a reset stream (RFC 9113 §5.1 says to tolerate those), a frame after the stream ended
 * normally (a connection error {@code STREAM_CLOSED}), or a new stream numbered below one already opened (a connection
 * error {@code PROTOCOL_ERROR}, §5.1.1). Ids older than the window are {@link Verdict#FORGOTTEN}: the codec's own,
 * milder, answer stands for them.
 *
 * <p>Memory is fixed: two bit sets of {@value #WINDOW} bits, 128 bytes per connection, whatever the client does.
 *
 * <p>Runs on the connection's event loop only.
 */
final class StreamHistory {
    /** How many of the most recent client stream ids are remembered (a power of two). */
    static final int WINDOW = 512;

    /** What the history knows of a client stream id. */
    enum Verdict {
        /** Above every stream opened so far: a new stream. */
        NEW,
        /** Opened, and never reset: if it is closed now, it ended normally. */
        OPENED,
        /** Reset by Merapi (or refused) or by the client. */
        RESET,
        /** Below the highest stream opened, within the window, and never opened: skipped by the client. */
        NEVER_OPENED,
        /** Older than the window. */
        FORGOTTEN
    }

    private final long[] opened = new long[WINDOW / Long.SIZE];
    private final long[] reset = new long[WINDOW / Long.SIZE];
    /** The index ({@code id >>> 1}) of the highest client stream opened; -1 before the first. */
    private int top = -1;

    /** Records that the client opened stream {@code streamId} (odd), the highest so far. */
    void opened(int streamId) {
        int i = streamId >>> 1;
        if (i <= top) {
            return;
        }
        if (i - top >= WINDOW) {
            Arrays.fill(opened, 0);
            Arrays.fill(reset, 0);
        } else {
            for (int j = top + 1; j < i; j++) {
                clear(j); // the slots of ids skipped now held ids that leave the window
            }
            clear(i);
        }
        top = i;
        opened[(i & (WINDOW - 1)) >>> 6] |= 1L << i;
    }

    /** Records that stream {@code streamId} was reset, by either side; ignored outside the window. */
    void reset(int streamId) {
        int i = streamId >>> 1;
        if ((streamId & 1) == 1 && inWindow(i)) {
            reset[(i & (WINDOW - 1)) >>> 6] |= 1L << i;
        }
    }

    /** What is known of client stream {@code streamId} (odd). */
    Verdict of(int streamId) {
        int i = streamId >>> 1;
        if (i > top) {
            return Verdict.NEW;
        }
        if (!inWindow(i)) {
            return Verdict.FORGOTTEN;
        }
        int word = (i & (WINDOW - 1)) >>> 6;
        long bit = 1L << i;
        if ((reset[word] & bit) != 0) {
            return Verdict.RESET;
        }
        return (opened[word] & bit) != 0 ? Verdict.OPENED : Verdict.NEVER_OPENED;
    }

    private boolean inWindow(int i) {
        return i <= top && top - i < WINDOW;
    }

    private void clear(int i) {
        int word = (i & (WINDOW - 1)) >>> 6;
        long keep = ~(1L << i);
        opened[word] &= keep;
        reset[word] &= keep;
    }
}

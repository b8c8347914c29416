package dev.merapi.proxy;

import dev.merapi.core.connectors.ClientSession;
import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import org.jspecify.annotations.Nullable;

/**
 * The request body read so far, held so that a retry can send it again; bounded by {@link ProxyOptions#replayBufferBytes()}.
 *
 * <p>Ownership: {@link #keep} holds a retained duplicate of each piece, so the caller keeps (and passes on) the piece
 * it offered; the buffer owns its duplicates and releases them on {@link #discard()}, which
 * also runs when the body outgrows the bound. A body that outgrew the bound is never held again: {@link #isComplete()} says so from then on.
 *
 * <p>Threading: one request's event loop only. Costs nothing until a piece with bytes is kept.
 */
final class ReplayBuffer {
    private final long limit;
    private @Nullable ArrayDeque<ByteBuf> pieces; // made on the first piece with bytes: most requests have no body
    private long bytes;
    private boolean complete = true;

    /** A buffer that holds up to {@code limit} bytes of body. */
    ReplayBuffer(long limit) {
        this.limit = limit;
    }

    /**
     * Holds {@code data}'s readable bytes for a replay, unless the body has outgrown the bound: then everything held
     * is released and nothing more is kept. {@code data} itself stays the caller's (its indexes are not moved).
     */
    void keep(ByteBuf data) {
        if (!complete) {
            return;
        }
        int n = data.readableBytes();
        if (bytes + n > limit) {
            discard();
            return;
        }
        if (n > 0) {
            if (pieces == null) {
                pieces = new ArrayDeque<>(4);
            }
            pieces.add(data.retainedDuplicate());
            bytes += n;
        }
    }

    /** Whether every piece offered so far is held, which a retry of a request with a body needs. */
    boolean isComplete() {
        return complete;
    }

    /** Whether no byte is held. */
    boolean isEmpty() {
        return pieces == null || pieces.isEmpty();
    }

    /** How many bytes are held. */
    long bytes() {
        return bytes;
    }

    /**
     * Writes what is held to {@code upstream}, as retained duplicates: the buffer keeps its own for a later attempt.
     *
     * @param endsHere whether the body ended with the last piece held, which then carries the end of the stream
     */
    void writeTo(ClientSession upstream, boolean endsHere) {
        if (pieces == null) {
            return;
        }
        int n = pieces.size();
        int i = 0;
        for (ByteBuf b : pieces) {
            i++;
            upstream.writeBody(b.retainedDuplicate(), endsHere && i == n);
        }
    }

    /**
     * Releases everything held and keeps nothing more: no retry can replay this body any longer. Called when the
     * body outgrows the bound, when the response starts, and when the request ends; safe to call again.
     */
    void discard() {
        complete = false;
        bytes = 0;
        if (pieces != null) {
            ByteBuf b;
            while ((b = pieces.poll()) != null) {
                b.release();
            }
        }
    }
}

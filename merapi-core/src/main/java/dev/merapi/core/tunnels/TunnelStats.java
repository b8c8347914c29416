package dev.merapi.core.tunnels;

import java.util.Objects;

/**
 * What a finished tunnel carried.
 *
 * @param bytesUpstream bytes from the client's side to the upstream's, leftover bytes included
 * @param bytesDownstream bytes from the upstream's side to the client's, leftover bytes included
 * @param end why it ended
 */
public record TunnelStats(long bytesUpstream, long bytesDownstream, End end) {
    public TunnelStats {
        Objects.requireNonNull(end, "end");
    }

    /** Why a tunnel ended. */
    public enum End {
        /** The client's side closed first. */
        DOWNSTREAM_CLOSED,
        /** The upstream's side closed first. */
        UPSTREAM_CLOSED,
        /** No byte moved either way for the idle timeout. */
        IDLE_TIMEOUT
    }
}

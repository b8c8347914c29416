package dev.merapi.core.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The open downstream connections of one listening service, for graceful shutdown and for tests. */
public final class ConnectionTracker {
    private final Set<TrackedConnection> open = ConcurrentHashMap.newKeySet();
    private volatile boolean shuttingDown;

    /** Registers a new connection; returns {@code false} if shutdown has begun and it should close. */
    public boolean add(TrackedConnection c) {
        open.add(c);
        return !shuttingDown;
    }

    /** Forgets a closed connection. */
    public void remove(TrackedConnection c) {
        open.remove(c);
    }

    /** How many connections are open (a closed one counts no more, even before its close event has run). */
    public int count() {
        int n = 0;
        for (TrackedConnection c : open) {
            if (c.channel().isOpen()) {
                n++;
            }
        }
        return n;
    }

    /** Whether graceful shutdown has begun. */
    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Begins graceful shutdown of every open connection, each on its own loop. */
    public void startShutdown() {
        shuttingDown = true;
        for (TrackedConnection c : open) {
            c.channel().eventLoop().execute(c::startShutdown);
        }
    }

    /** Closes every open connection now. */
    public void closeAll() {
        for (TrackedConnection c : open) {
            c.channel().close();
        }
    }
}

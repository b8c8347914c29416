package dev.merapi.core.connectors;

import dev.merapi.core.upstreams.HttpPeer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTP/2 connections of one event loop, by reuse key: those being set up and those carrying streams. Unlike an
 * HTTP/1.1 connection, an HTTP/2 one is never taken out of the pool while in use; it leaves when it closes or gets
 * GOAWAY.
 *
 * <p>Belongs to one event loop; not thread-safe.
 */
final class Http2Pool {
    private final Map<HttpPeer.ReuseKey, List<Http2ClientConnection>> byKey = new HashMap<>();

    /** The oldest connection to {@code key} that can take a stream now, so that streams pack onto few connections. */
    Optional<Http2ClientConnection> available(HttpPeer.ReuseKey key) {
        for (Http2ClientConnection c : byKey.getOrDefault(key, List.of())) {
            if (c.available()) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** A connection to {@code key} still being set up that a request may wait for. */
    Optional<Http2ClientConnection> settingUp(HttpPeer.ReuseKey key) {
        for (Http2ClientConnection c : byKey.getOrDefault(key, List.of())) {
            if (c.acceptsWaiter()) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** How many connections to {@code key} this loop has, set up or being set up. */
    int count(HttpPeer.ReuseKey key) {
        return byKey.getOrDefault(key, List.of()).size();
    }

    void add(HttpPeer.ReuseKey key, Http2ClientConnection c) {
        byKey.computeIfAbsent(key, k -> new ArrayList<>(2)).add(c);
    }

    void remove(HttpPeer.ReuseKey key, Http2ClientConnection c) {
        List<Http2ClientConnection> list = byKey.get(key);
        if (list != null && list.remove(c) && list.isEmpty()) {
            byKey.remove(key);
        }
    }
}

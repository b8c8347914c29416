package dev.merapi.core.internal;

import dev.merapi.core.listeners.ListenerConfig;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The connection caps of one listener ({@link ListenerConfig#maxConnections()} and
 * {@link ListenerConfig#maxConnectionsPerIp()}): the listener's acceptor takes a slot for each accepted connection
 * before it is registered, and the slot is given back when the connection's close future completes (this object is
 * that future's listener, shared by every connection, so a connection costs no allocation here).
 *
 * <p>Thread-safe: slots are taken on the listener's event loop and given back on each connection's loop. The
 * per-address table is used only when that cap is set, and holds an entry only while an address has connections open.
 */
public final class ConnectionLimits implements ChannelFutureListener {
    /** The security-event rule of a connection over {@link ListenerConfig#maxConnections()}. */
    public static final String LISTENER_RULE = "max-connections";
    /** The security-event rule of a connection over {@link ListenerConfig#maxConnectionsPerIp()}. */
    public static final String PER_IP_RULE = "max-connections-per-ip";

    private final int max;
    private final int maxPerIp;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perIp = new ConcurrentHashMap<>();

    /** The caps of {@code listener}. */
    public ConnectionLimits(ListenerConfig listener) {
        this.max = listener.maxConnections();
        this.maxPerIp = listener.maxConnectionsPerIp();
    }

    /**
     * Takes a slot for {@code child}, a connection just accepted (its remote address is read here, and Netty keeps it
     * for {@link #release}).
     *
     * @return {@code null} if the connection may stay, else the rule it breaks ({@link #LISTENER_RULE} or
     *     {@link #PER_IP_RULE}); no slot is held then
     */
    public @Nullable String tryAcquire(Channel child) {
        if (open.incrementAndGet() > max) {
            open.decrementAndGet();
            return LISTENER_RULE;
        }
        InetAddress ip = perIpKey(child);
        if (ip != null && perIp.merge(ip, 1, Integer::sum) > maxPerIp) {
            releaseIp(ip);
            open.decrementAndGet();
            return PER_IP_RULE;
        }
        return null;
    }

    /** Gives back the slot of a connection that {@link #tryAcquire} let in; exactly once per such connection. */
    public void release(Channel child) {
        InetAddress ip = perIpKey(child);
        if (ip != null) {
            releaseIp(ip);
        }
        open.decrementAndGet();
    }

    /** Gives the slot back when a connection closes. */
    @Override
    public void operationComplete(ChannelFuture closed) {
        release(closed.channel());
    }

    /** How many connections hold a slot. */
    public int open() {
        return open.get();
    }

    /** How many connections from {@code ip} hold a slot (0 when the per-address cap is off). */
    public int open(InetAddress ip) {
        return perIp.getOrDefault(ip, 0);
    }

    private @Nullable InetAddress perIpKey(Channel child) {
        if (maxPerIp == 0) {
            return null;
        }
        SocketAddress remote = child.remoteAddress();
        return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    private void releaseIp(InetAddress ip) {
        perIp.computeIfPresent(ip, (k, n) -> n > 1 ? n - 1 : null);
    }
}

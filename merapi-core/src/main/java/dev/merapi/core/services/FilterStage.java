package dev.merapi.core.services;

import dev.merapi.core.listeners.ConnectionFilter;
import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.security.SecurityEvents;
import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stage that asks a service's {@link ConnectionFilter} about each connection, from its addresses alone; a refused
 * connection is recorded as the security event {@code connection-filter} and closed unread. Shared by every
 * connection of the service, as its filter is.
 */
final class FilterStage implements ConnectionStage {
    /** The security-event rule of a connection the filter refused. */
    static final String RULE = "connection-filter";
    private static final Logger log = LoggerFactory.getLogger(FilterStage.class);

    private final ConnectionFilter filter;

    FilterStage(ConnectionFilter filter) {
        this.filter = filter;
    }

    @Override
    public boolean install(Channel channel, Next next) {
        if (!filter.accept(channel.remoteAddress(), channel.localAddress())) {
            log.debug("connection from {} refused by the connection filter", channel.remoteAddress());
            SecurityEvents.record(RULE, channel.remoteAddress(), channel.localAddress(), 0);
            return false;
        }
        return next.install(channel);
    }
}

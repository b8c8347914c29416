package dev.merapi.core.internal.tls;

import dev.merapi.core.tls.TlsInfo;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.Optional;

/** Where a connection keeps what its TLS handshake established, for the sessions of its requests. */
public final class TlsAttributes {
    /** Set once, on the connection's event loop, when the handshake succeeds; never changed after. */
    public static final AttributeKey<TlsInfo> INFO = AttributeKey.valueOf(TlsAttributes.class, "info");

    private TlsAttributes() {
    }

    /** The TLS facts of {@code channel}, if it is a TLS connection whose handshake finished. */
    public static Optional<TlsInfo> of(Channel channel) {
        return Optional.ofNullable(channel.attr(INFO).get());
    }
}

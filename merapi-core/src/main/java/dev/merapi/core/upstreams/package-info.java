/**
 * Upstream peers: where and how to connect.
 *
 * <p>Starting points: {@link dev.merapi.core.upstreams.HttpPeer}, {@link dev.merapi.core.upstreams.PeerOptions}.
 */
@NullMarked
package dev.merapi.core.upstreams;

import org.jspecify.annotations.NullMarked;

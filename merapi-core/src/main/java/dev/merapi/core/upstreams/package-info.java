/**
 * Upstream peers: where and how to connect.
 *
 * <p>Starting points: {@link dev.merapi.core.upstreams.HttpPeer}, {@link dev.merapi.core.upstreams.PeerOptions}.
 */
package dev.merapi.core.upstreams;

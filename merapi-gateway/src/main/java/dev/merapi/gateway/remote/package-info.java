/**
 * Remote configuration: whole gateway configurations fetched as signed bundles over verified HTTPS, taken only when
 * their Ed25519 signature verifies and their version is higher than the running one, then applied through the
 * gateway's reload path; the last bundle taken is kept on disk for a start without the source.
 *
 * <p>Starting points: {@link dev.merapi.gateway.remote.RemoteConfig}, {@link dev.merapi.gateway.remote.Bundle},
 * {@link dev.merapi.gateway.remote.RemoteStatus}.
 */
@NullMarked
package dev.merapi.gateway.remote;

import org.jspecify.annotations.NullMarked;

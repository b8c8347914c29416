/**
 * Load balancing for {@code upstreamPeer}: a {@link dev.merapi.loadbalancing.LoadBalancer} over a set of
 * {@link dev.merapi.loadbalancing.Backend}s that can be swapped while traffic flows, with health-aware selection.
 * The proxy engine does not know this module: user code calls the balancer from its phases, as in Pingora.
 *
 * <p>Starting points: {@link dev.merapi.loadbalancing.LoadBalancer}, {@link dev.merapi.loadbalancing.Backend},
 * {@link dev.merapi.loadbalancing.Lease}.
 */
@NullMarked
package dev.merapi.loadbalancing;

import org.jspecify.annotations.NullMarked;

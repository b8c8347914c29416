/**
 * Where a load balancer's backends come from: a fixed list, DNS (A/AAAA, or SRV for ports and weights), or any
 * registry a user plugs in through {@link dev.merapi.loadbalancing.discovery.ServiceDiscovery} (Consul,
 * Kubernetes endpoints, a file).
 *
 * <p>Starting points: {@link dev.merapi.loadbalancing.discovery.ServiceDiscovery},
 * {@link dev.merapi.loadbalancing.discovery.DnsDiscovery}.
 */
@NullMarked
package dev.merapi.loadbalancing.discovery;

import org.jspecify.annotations.NullMarked;

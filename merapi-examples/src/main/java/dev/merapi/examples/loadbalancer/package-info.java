/**
 * Example: a proxy that spreads requests over several backends with a load balancer and health checks.
 *
 * <p>Starting point: {@link dev.merapi.examples.loadbalancer.LoadBalancerProxy}.
 */
@NullMarked
package dev.merapi.examples.loadbalancer;

import org.jspecify.annotations.NullMarked;

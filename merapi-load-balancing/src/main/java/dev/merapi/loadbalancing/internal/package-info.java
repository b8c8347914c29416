/**
 * Implementation of the load balancer's per-backend state; not API, may change at any time.
 *
 * <p>Starting point: {@link dev.merapi.loadbalancing.internal.BackendState}.
 */
package dev.merapi.loadbalancing.internal;

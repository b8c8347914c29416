/**
 * Implementation of the load balancer's per-backend state; not API, may change at any time.
 *
 * <p>Starting point: {@link dev.merapi.loadbalancing.internal.BackendState}.
 */
@NullMarked
package dev.merapi.loadbalancing.internal;

import org.jspecify.annotations.NullMarked;

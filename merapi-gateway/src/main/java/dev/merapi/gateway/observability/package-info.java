/**
 * What the gateway reports about its traffic: the access log and the Prometheus metrics.
 *
 * <p>Starting points: {@link dev.merapi.gateway.observability.AccessLog}, {@link dev.merapi.gateway.observability.GatewayMetrics}.
 */
@NullMarked
package dev.merapi.gateway.observability;

import org.jspecify.annotations.NullMarked;

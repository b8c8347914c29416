/**
 * Whether a backend should get requests: active checks run in the background (TCP connect, TLS handshake,
 * HTTP(S) with an expected status and body), and passive outlier detection ejects a backend after consecutive
 * failures seen on real traffic.
 *
 * <p>Starting points: {@link dev.merapi.loadbalancing.health.HealthCheck},
 * {@link dev.merapi.loadbalancing.health.OutlierDetection}, {@link dev.merapi.loadbalancing.health.HealthListener}.
 */
@NullMarked
package dev.merapi.loadbalancing.health;

import org.jspecify.annotations.NullMarked;

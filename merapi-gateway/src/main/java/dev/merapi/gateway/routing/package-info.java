/**
 * Routing of the gateway: which configured route, and so which upstream, a request goes to by host and path.
 *
 * <p>Starting point: {@link dev.merapi.gateway.routing.Router}.
 */
@NullMarked
package dev.merapi.gateway.routing;

import org.jspecify.annotations.NullMarked;

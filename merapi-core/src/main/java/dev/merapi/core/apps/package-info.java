/**
 * Applications a listening service serves: what receives each downstream request, whatever the protocol.
 *
 * <p>Starting point: {@link dev.merapi.core.apps.HttpServerApp}.
 */
@NullMarked
package dev.merapi.core.apps;

import org.jspecify.annotations.NullMarked;

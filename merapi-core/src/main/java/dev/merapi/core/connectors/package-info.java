/**
 * Connectors: upstream connections, made on the downstream's event loop and pooled per loop.
 *
 * <p>Starting points: {@link dev.merapi.core.connectors.Connector}, {@link dev.merapi.core.connectors.ClientSession}.
 */
@NullMarked
package dev.merapi.core.connectors;

import org.jspecify.annotations.NullMarked;

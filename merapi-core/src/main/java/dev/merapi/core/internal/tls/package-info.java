/**
 * TLS contexts and handshake helpers shared by the connectors; not API.
 */
@NullMarked
package dev.merapi.core.internal.tls;

import org.jspecify.annotations.NullMarked;

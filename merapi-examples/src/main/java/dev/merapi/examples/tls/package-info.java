/**
 * A TLS proxy example: a listener that serves HTTPS with an optional client certificate, and a proxy that passes the
 * verified client identity to its origin.
 */
@NullMarked
package dev.merapi.examples.tls;

import org.jspecify.annotations.NullMarked;

/**
 * TLS contexts and handshake helpers shared by the connectors; not API.
 */
package dev.merapi.core.internal.tls;

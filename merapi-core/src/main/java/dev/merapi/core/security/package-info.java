/**
 * Security events: one rate-limited log line per rejected request or refused connection, and a counter per rule.
 *
 * <p>Starting points: {@link dev.merapi.core.security.SecurityEvents}.
 */
package dev.merapi.core.security;

/**
 * Security events: one rate-limited log line per rejected request or refused connection, and a counter per rule.
 *
 * <p>Starting points: {@link dev.merapi.core.security.SecurityEvents}.
 */
@NullMarked
package dev.merapi.core.security;

import org.jspecify.annotations.NullMarked;

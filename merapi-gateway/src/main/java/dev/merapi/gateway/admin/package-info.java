/**
 * The gateway's admin listener: health, readiness, metrics and configuration endpoints, served by a small HTTP app.
 *
 * <p>Starting point: {@link dev.merapi.gateway.admin.AdminApp}.
 */
@NullMarked
package dev.merapi.gateway.admin;

import org.jspecify.annotations.NullMarked;

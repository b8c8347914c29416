/**
 * The gateway's admin listener: health, readiness and metrics, and the authenticated admin API under
 * {@code /api/v1/} with roles and a hash-chained audit log.
 *
 * <p>Starting points: {@link dev.merapi.gateway.admin.AdminApp} (the listener's app),
 * {@link dev.merapi.gateway.admin.AdminApi} (the endpoint table and the order of checks),
 * {@link dev.merapi.gateway.admin.GatewayControl} (what the API reads and changes in a gateway),
 * {@link dev.merapi.gateway.admin.AuditLog} (the audit log and its verification).
 */
@NullMarked
package dev.merapi.gateway.admin;

import org.jspecify.annotations.NullMarked;

package dev.merapi.gateway.admin;

/**
 * Who made an admin API call, once authenticated.
 *
 * @param name the identity's configured name
 * @param role what it may do
 * @param via how it proved it: {@code token}, {@code certificate} or {@code token+certificate}
 */
public record Identity(String name, Role role, String via) {
}

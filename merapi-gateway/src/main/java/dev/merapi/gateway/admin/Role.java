package dev.merapi.gateway.admin;

import java.util.Locale;

/**
 * What an identity of the admin API may do. Each role includes the ones before it: {@link #VIEWER} reads,
 * {@link #OPERATOR} also reloads and enables, disables or drains backends, {@link #ADMIN} also validates and applies
 * configurations.
 */
public enum Role {
    /** The read-only endpoints: status, config, reloads. */
    VIEWER,
    /** Also reload and backend enable, disable and drain. */
    OPERATOR,
    /** Everything, including config validate and apply. */
    ADMIN;

    /** Whether this role may call an endpoint that needs {@code needed}. */
    public boolean allows(Role needed) {
        return compareTo(needed) >= 0;
    }

    /** The role's name in the configuration and in JSON: {@code viewer}, {@code operator}, {@code admin}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The role of a configuration name.
     *
     * @throws IllegalArgumentException if it is none of {@code viewer}, {@code operator}, {@code admin}
     */
    public static Role of(String key) {
        for (Role r : values()) {
            if (r.key().equals(key)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown role '" + key + "'; expected viewer, operator or admin");
    }
}

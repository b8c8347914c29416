package dev.merapi.gateway.config;

import java.io.Serial;
import java.util.List;

/**
 * A configuration that cannot be used, with every problem found in it at once, in file order.
 * Thrown by {@link ConfigLoader}; the running configuration is never replaced by one that throws this.
 */
public final class ConfigException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;
    private final transient List<ConfigError> errors;

    ConfigException(List<ConfigError> errors) {
        super(errors.size() + " error(s) in the configuration; first: " + errors.getFirst(), null, false, false);
        this.errors = List.copyOf(errors);
    }

    /** Every problem, in file order; never empty. */
    public List<ConfigError> errors() {
        return errors;
    }
}

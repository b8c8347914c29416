package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;
import java.util.function.Function;

/** A built-in algorithm: a name and the constructor of its selector. */
record Named(String name, boolean usesKey, Function<List<Backend>, Selector> factory) implements SelectionAlgorithm {
    @Override
    public Selector build(List<Backend> backends) {
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("no backends");
        }
        return factory.apply(List.copyOf(backends));
    }

    @Override
    public String toString() {
        return name;
    }
}

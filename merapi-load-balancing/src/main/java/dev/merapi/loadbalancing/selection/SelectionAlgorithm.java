package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;
import java.util.Locale;

/**
 * A way of choosing backends: builds a {@link Selector} for each new backend set. Every built-in algorithm
 * honours weights. Implementations are immutable and thread-safe.
 *
 * <table>
 * <caption>The built-in algorithms</caption>
 * <tr><th>Name</th><th>Factory</th><th>What it does</th></tr>
 * <tr><td>{@code round-robin}</td><td>{@link #roundRobin()}</td><td>nginx's smooth weighted round robin</td></tr>
 * <tr><td>{@code random}</td><td>{@link #random()}</td><td>weighted random</td></tr>
 * <tr><td>{@code hash}</td><td>{@link #fnvHash()}</td><td>FNV-1a of the key over the weighted list</td></tr>
 * <tr><td>{@code ketama}</td><td>{@link #ketama()}</td><td>consistent hashing on the ring nginx's
 *     {@code hash $key consistent} builds</td></tr>
 * <tr><td>{@code least-conn}</td><td>{@link #leastConnections()}</td><td>fewest requests in flight per unit of
 *     weight</td></tr>
 * <tr><td>{@code p2c-ewma}</td><td>{@link #peakEwma()}</td><td>the better of two random backends by peak-EWMA
 *     latency times load</td></tr>
 * <tr><td>{@code maglev}</td><td>{@link #maglev()}</td><td>Google's Maglev consistent hashing (weighted as
 *     Envoy does)</td></tr>
 * </table>
 */
public interface SelectionAlgorithm {
    /** The name used in configuration and on the command line, such as {@code ketama}. */
    String name();

    /**
     * Builds the selector for a new set; called off the request path, each time the set changes.
     *
     * @param backends the set, in a stable order; not empty
     */
    Selector build(List<Backend> backends);

    /** Smooth weighted round robin, the sequence nginx produces (for weights 5, 1, 1: a a b a c a a). */
    static SelectionAlgorithm roundRobin() {
        return RoundRobin.ALGORITHM;
    }

    /** Weighted random. */
    static SelectionAlgorithm random() {
        return RandomSelection.ALGORITHM;
    }

    /** FNV-1a of the key over a list where each backend appears {@code weight} times; not consistent. */
    static SelectionAlgorithm fnvHash() {
        return FnvHash.ALGORITHM;
    }

    /**
     * Ketama consistent hashing, on the same ring as nginx's {@code hash $key consistent}: 160 points per unit of
     * weight at CRC32("host\0port" + previous point), a key at CRC32(key), the first point at or after it.
     */
    static SelectionAlgorithm ketama() {
        return Ketama.ALGORITHM;
    }

    /** Least connections: the fewest requests in flight per unit of weight; ties broken at random. */
    static SelectionAlgorithm leastConnections() {
        return LeastConnections.ALGORITHM;
    }

    /**
     * Power of two choices with peak-EWMA latency (Finagle's and Linkerd's balancer): two random backends
     * (weighted), the one with the lower latency × (in flight + 1) / weight. Latency decays over 10 s.
     */
    static SelectionAlgorithm peakEwma() {
        return PeakEwma.ALGORITHM;
    }

    /** Maglev consistent hashing with a lookup table of 65,537 entries. */
    static SelectionAlgorithm maglev() {
        return Maglev.DEFAULT;
    }

    /**
     * Maglev with a lookup table of {@code tableSize} entries: a prime, at least 100 times the number of
     * backends for an even spread (the paper's advice).
     */
    static SelectionAlgorithm maglev(int tableSize) {
        return new Maglev.Algorithm(tableSize);
    }

    /**
     * The algorithm of a name: {@code round-robin}, {@code random}, {@code hash}, {@code ketama},
     * {@code least-conn}, {@code p2c-ewma} or {@code maglev}.
     *
     * @throws IllegalArgumentException for any other name
     */
    static SelectionAlgorithm parse(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "round-robin" -> roundRobin();
            case "random" -> random();
            case "hash" -> fnvHash();
            case "ketama" -> ketama();
            case "least-conn" -> leastConnections();
            case "p2c-ewma" -> peakEwma();
            case "maglev" -> maglev();
            default -> throw new IllegalArgumentException("unknown balancing algorithm '" + name
                    + "': use round-robin, random, hash, ketama, least-conn, p2c-ewma or maglev");
        };
    }

    /** Whether this algorithm uses the request's key (the hashing ones). */
    default boolean usesKey() {
        return false;
    }
}

/**
 * How a {@link dev.merapi.loadbalancing.LoadBalancer} orders its backends for one request: smooth weighted round
 * robin, weighted random, FNV hash, ketama (nginx's {@code hash … consistent}), least connections, power of two
 * choices with peak-EWMA latency, and maglev.
 *
 * <p>Starting points: {@link dev.merapi.loadbalancing.selection.SelectionAlgorithm} (the factories) and
 * {@link dev.merapi.loadbalancing.selection.Selector} (to write one of your own).
 */
@NullMarked
package dev.merapi.loadbalancing.selection;

import org.jspecify.annotations.NullMarked;

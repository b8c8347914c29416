/**
 * JMH micro-benchmarks of Merapi's hot paths: parsing, headers, phase dispatch, the pool, routing, selection and a
 * loopback round trip. Whole-proxy runs against nginx and HAProxy are the `bench/` scripts.
 *
 * <p>Starting points: {@link dev.merapi.benchmarks.ParseBenchmark}, {@link dev.merapi.benchmarks.PhaseDispatchBenchmark}.
 */
@NullMarked
package dev.merapi.benchmarks;

import org.jspecify.annotations.NullMarked;

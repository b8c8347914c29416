/**
 * Example: a gRPC proxy that lets only gRPC through, to an HTTP/2 origin, and counts the calls by {@code grpc-status}.
 *
 * <p>Starting point: {@link dev.merapi.examples.grpc.GrpcProxy}.
 */
@NullMarked
package dev.merapi.examples.grpc;

import org.jspecify.annotations.NullMarked;

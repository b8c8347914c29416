/**
 * HTTP messages and strict HTTP/1.1 parsing: case- and order-preserving headers, the RFC 9112 rules, chunked coding.
 * What code sets into a head (a header field, a method, a target, a reason phrase) is checked where it is set, so
 * that the encoder can write it as it is and no string can split a message; see {@link dev.merapi.http.Headers}.
 *
 * <p>Starting points: {@link dev.merapi.http.RequestHeader}, {@link dev.merapi.http.ResponseHeader},
 * {@link dev.merapi.http.Headers}, {@link dev.merapi.http.Http1Parser}.
 */
@NullMarked
package dev.merapi.http;

import org.jspecify.annotations.NullMarked;

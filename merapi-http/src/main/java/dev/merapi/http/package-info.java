/**
 * HTTP messages and strict HTTP/1.1 parsing: case- and order-preserving headers, the RFC 9112 rules, chunked coding.
 *
 * <p>Starting points: {@link dev.merapi.http.RequestHeader}, {@link dev.merapi.http.ResponseHeader},
 * {@link dev.merapi.http.Headers}, {@link dev.merapi.http.Http1Parser}.
 */
package dev.merapi.http;

/**
 * Errors of Merapi: one {@link dev.merapi.error.ProxyError} that keeps apart what went wrong, where, and whether to retry.
 *
 * <p>Starting points: {@link dev.merapi.error.ProxyError}, {@link dev.merapi.error.ErrorType}.
 */
package dev.merapi.error;

/**
 * Errors of Merapi: one {@link dev.merapi.error.ProxyError} that keeps apart what went wrong, where, and whether to retry.
 *
 * <p>Starting points: {@link dev.merapi.error.ProxyError}, {@link dev.merapi.error.ErrorType}.
 */
@NullMarked
package dev.merapi.error;

import org.jspecify.annotations.NullMarked;

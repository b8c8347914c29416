/**
 * Protocol-independent sessions: what an application sees of one downstream request.
 *
 * <p>Starting point: {@link dev.merapi.core.protocols.ServerSession}.
 */
package dev.merapi.core.protocols;

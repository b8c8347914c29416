/**
 * Protocol-independent sessions: what an application sees of one downstream request, and the error pages
 * every protocol answers with.
 *
 * <p>Starting points: {@link dev.merapi.core.protocols.ServerSession}, {@link dev.merapi.core.protocols.ErrorResponses}.
 */
@NullMarked
package dev.merapi.core.protocols;

import org.jspecify.annotations.NullMarked;

package dev.merapi.testkit;

import java.util.Objects;

/**
 * A request that {@link MockOrigin} started to read but did not serve: it was malformed (and answered with
 * {@code status} before the close), or the peer ended the connection in the middle of it. Together with the
 * {@link RecordedRequest}s this tells exactly which request boundaries reached the origin.
 *
 * @param connectionIndex   which accepted connection carried it, counting from 1
 * @param indexOnConnection its position on the connection, counting from 1, after the requests served there
 * @param status            the status the origin answered, or 0 if the request was cut short
 * @param reason            why it was not served
 */
public record UnservedRequest(int connectionIndex, int indexOnConnection, int status, String reason) {

    public UnservedRequest {
        Objects.requireNonNull(reason, "reason");
    }

    /** Whether the peer ended the connection in the middle of the request, rather than sending a bad one. */
    public boolean incomplete() {
        return status == 0;
    }
}

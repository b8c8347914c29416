package dev.merapi.error;

/** Whether an error may be retried on another (or the same) upstream. */
public enum Retry {
    /** Safe to retry: the upstream cannot have acted on the request. */
    YES,
    /** Never retry. */
    NO,
    /** Retry only when the failure happened on a reused (pooled) connection, which may have been closed by the origin while idle. */
    REUSED_ONLY;

    /**
     * Resolves this decision for a concrete connection.
     *
     * @param reusedConnection whether the failed attempt ran on a pooled connection
     * @return {@code true} if a retry is allowed
     */
    public boolean allows(boolean reusedConnection) {
        return switch (this) {
            case YES -> true;
            case NO -> false;
            case REUSED_ONLY -> reusedConnection;
        };
    }
}

package dev.merapi.proxy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What a request filter decided. A response the filter started decides too: it ends the request even when the
 * filter returns {@link #CONTINUE} (see {@link ProxyHttp}).
 */
public enum FilterResult {
    /** Go on to the next phase. */
    CONTINUE,
    /** A response was written by the filter; the request ends here, without an upstream. */
    RESPONDED;

    /** A shared, completed, immutable stage of {@link #CONTINUE}: returning it costs no allocation. */
    public static final CompletionStage<FilterResult> CONTINUE_STAGE = CompletableFuture.completedStage(CONTINUE);
    /** A shared, completed, immutable stage of {@link #RESPONDED}. */
    public static final CompletionStage<FilterResult> RESPONDED_STAGE = CompletableFuture.completedStage(RESPONDED);
}

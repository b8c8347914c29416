package dev.merapi.proxy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Shared completed stages for phases that have nothing to wait for. */
public final class Stages {
    /** A completed, immutable {@code CompletionStage<Void>}: the default of every asynchronous phase. */
    public static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);

    private Stages() {
    }

    /**
     * A completed stage holding {@code value}: a new {@link CompletableFuture}, which the proxy reads at once
     * without allocating anything more (a {@link CompletableFuture#completedStage} costs one copy more to read).
     */
    public static <T> CompletionStage<T> completed(T value) {
        return CompletableFuture.completedFuture(value);
    }

    /** A stage failed with {@code error}. */
    public static <T> CompletionStage<T> failed(Throwable error) {
        return CompletableFuture.failedStage(error);
    }
}

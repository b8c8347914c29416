package dev.merapi.proxy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Shared completed stages for phases that have nothing to wait for. */
public final class Stages {
    /** A completed, immutable {@code CompletionStage<Void>}: the default of every asynchronous phase. */
    public static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);

    private Stages() {
    }

    /** A completed stage holding {@code value}. */
    public static <T> CompletionStage<T> completed(T value) {
        return CompletableFuture.completedStage(value);
    }

    /** A stage failed with {@code error}. */
    public static <T> CompletionStage<T> failed(Throwable error) {
        return CompletableFuture.failedStage(error);
    }
}

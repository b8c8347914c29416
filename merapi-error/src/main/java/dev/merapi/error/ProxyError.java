package dev.merapi.error;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The one error type of Merapi: what went wrong ({@link #type()}), on which side ({@link #source()}),
 * whether a retry is safe ({@link #retry()}), a short human context, the named rule that refused something
 * ({@link #rule()}, for errors made by {@link #rejected}) and an optional cause.
 *
 * <p>Expected network failures (resets, closes, timeouts) are created without a stack trace, since
 * they are frequent and their stack says nothing; bugs ({@link ErrorSource#INTERNAL}) keep theirs.
 *
 * <p>The message that clients may see is never built from this error: {@code failToProxy} writes a
 * generic page for the status. The context is for logs.
 */
public final class ProxyError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorType type;
    private final ErrorSource source;
    private final Retry retry;
    private final String context;
    private final String rule; // "" when no named rule was broken

    private ProxyError(ErrorType type, ErrorSource source, Retry retry, @Nullable String context, String rule,
            @Nullable Throwable cause, boolean stack) {
        super(context, cause, false, stack);
        this.type = Objects.requireNonNull(type, "type");
        this.source = Objects.requireNonNull(source, "source");
        this.retry = Objects.requireNonNull(retry, "retry");
        this.context = context == null ? "" : context;
        this.rule = rule;
    }

    /**
     * Creates an error with an explanation and no cause.
     *
     * @param type what went wrong
     * @param source where
     * @param context a short explanation for logs, such as {@code "no Host header"}
     */
    public static ProxyError explain(ErrorType type, ErrorSource source, String context) {
        return new ProxyError(type, source, Retry.NO, context, "", null, source == ErrorSource.INTERNAL);
    }

    /**
     * Creates the error for a request or response refused because it broke a named rule, such as {@code te-and-cl}.
     * The rule is kept as {@link #rule()} (security events count by it); the context reads {@code "rule: detail"}.
     *
     * @param type what went wrong, usually the status to answer with
     * @param source where
     * @param rule the stable name of the broken rule: lower-case letters, digits and dashes
     * @param detail a short explanation for logs
     * @throws IllegalArgumentException if {@code rule} is not such a name
     */
    public static ProxyError rejected(ErrorType type, ErrorSource source, String rule, String detail) {
        if (!isRuleName(rule)) {
            throw new IllegalArgumentException("not a rule name: " + rule);
        }
        return new ProxyError(type, source, Retry.NO, rule + ": " + detail, rule, null, source == ErrorSource.INTERNAL);
    }

    private static boolean isRuleName(String rule) {
        if (rule.isEmpty()) {
            return false;
        }
        for (int i = 0; i < rule.length(); i++) {
            char c = rule.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Creates an error caused by another throwable.
     *
     * @param type what went wrong
     * @param source where
     * @param context a short explanation for logs
     * @param cause the underlying failure
     */
    public static ProxyError because(ErrorType type, ErrorSource source, String context, Throwable cause) {
        return new ProxyError(type, source, Retry.NO, context, "", cause, source == ErrorSource.INTERNAL);
    }

    /**
     * Wraps any throwable: a {@code ProxyError} is returned as it is, anything else becomes
     * an internal error of kind {@link ErrorType.Kind#INTERNAL_ERROR}.
     */
    public static ProxyError from(Throwable t) {
        if (t instanceof ProxyError pe) {
            return pe;
        }
        Throwable c = Objects.requireNonNull(t, "t");
        while (c.getCause() != null && (c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException)) {
            c = c.getCause();
        }
        if (c instanceof ProxyError pe) {
            return pe;
        }
        return because(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "unexpected " + c.getClass().getSimpleName(), c);
    }

    /** What went wrong. */
    public ErrorType type() {
        return type;
    }

    /** Which side it came from. */
    public ErrorSource source() {
        return source;
    }

    /** Whether a retry is safe. */
    public Retry retry() {
        return retry;
    }

    /** The short explanation given when the error was made; never {@code null}. */
    public String context() {
        return context;
    }

    /** The name of the rule this error refused something for ({@link #rejected}), if it did. */
    public Optional<String> rule() {
        return rule.isEmpty() ? Optional.empty() : Optional.of(rule);
    }

    /** Returns a copy with the given retry decision (this instance if it already has it). */
    public ProxyError withRetry(Retry retry) {
        if (retry == this.retry) {
            return this;
        }
        ProxyError copy = new ProxyError(type, source, retry, context, rule, getCause(), false);
        copy.setStackTrace(getStackTrace());
        return copy;
    }

    /**
     * The status a proxy answers with when this error ends a request: {@code HttpStatus(n)} → n,
     * upstream timeouts → 504, other upstream errors → 502, downstream → 400, internal → 500.
     */
    public int responseStatus() {
        return switch (type) {
            case ErrorType.HttpStatus s -> s.code();
            case ErrorType.Kind k when source == ErrorSource.UPSTREAM -> k.isTimeout() ? 504 : 502;
            case ErrorType.Kind k when source == ErrorSource.DOWNSTREAM -> k.isTimeout() ? 408 : 400;
            case ErrorType.Kind k -> 500;
            case ErrorType.Custom c -> switch (source) {
                case UPSTREAM -> 502;
                case DOWNSTREAM -> 400;
                case INTERNAL -> 500;
            };
        };
    }

    @Override
    public String getMessage() {
        StringBuilder sb = new StringBuilder(64).append(type.name()).append(" (").append(source).append(')');
        if (!context.isEmpty()) {
            sb.append(": ").append(context);
        }
        Throwable cause = getCause();
        if (cause != null && cause.getMessage() != null) {
            sb.append(" caused by ").append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage());
        }
        return sb.toString();
    }
}

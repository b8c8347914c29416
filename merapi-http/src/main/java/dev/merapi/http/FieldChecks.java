package dev.merapi.http;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The checks behind every public setter of a head: what user code puts into a name, a value, a method, a target
 * or a reason phrase must be something the HTTP/1 encoder can write as it is, so that no string can end a line,
 * start a header or a second message on the wire (response splitting, request smuggling).
 *
 * <p>A refusal is a {@link ProxyError} of kind {@link ErrorType.Kind#INVALID_HTTP_HEADER} from
 * {@link ErrorSource#INTERNAL} (a bug in the code that set it, answered with 500), whose context starts with the
 * rule's name. It names the header and the first bad character with its index; it never quotes a value, and a
 * name, method or target it quotes is escaped, so the message is safe to log.
 *
 * <p>The HTTP/1 parser validates what it reads with the same character classes and builds heads through the
 * package-private paths that skip these checks: a parsed field costs nothing more.
 *
 * <p>Stateless; safe from any thread.
 */
final class FieldChecks {
    /** Longest part of a name, method or target quoted in a message. */
    private static final int QUOTE = 64;

    private FieldChecks() {
    }

    /** Checks one header field; {@code name} first, so that a message about the value can name it safely. */
    static void field(String name, String value) {
        name(name);
        Objects.requireNonNull(value, "value");
        int n = value.length();
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c > 0xff || !Tokens.isFieldValueChar(c)) {
                throw refuse("invalid-header-value", "the value of " + name + " holds " + describe(c) + " at index " + i);
            }
        }
        if (n > 0 && (Tokens.isOws(value.charAt(0)) || Tokens.isOws(value.charAt(n - 1)))) {
            throw refuse("invalid-header-value", "the value of " + name + " starts or ends with whitespace");
        }
    }

    /** Checks a header name: a non-empty token. */
    static void name(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw refuse("invalid-header-name", "empty header name");
        }
        int bad = firstNonTchar(name);
        if (bad >= 0) {
            throw refuse("invalid-header-name", "header name \"" + escape(name) + "\" holds " + describe(name.charAt(bad))
                    + " at index " + bad);
        }
    }

    /** Checks a method: a non-empty token. */
    static String method(String method) {
        Objects.requireNonNull(method, "method");
        int bad = method.isEmpty() ? 0 : firstNonTchar(method);
        if (bad >= 0) {
            throw refuse("invalid-method", method.isEmpty() ? "empty method"
                    : "method \"" + escape(method) + "\" holds " + describe(method.charAt(bad)) + " at index " + bad);
        }
        return method;
    }

    /**
     * Checks a request-target: non-empty, visible US-ASCII only, none of the characters a target never holds.
     * The message gives the index but not the target, which may carry secrets in its query.
     */
    static String target(String target) {
        Objects.requireNonNull(target, "target");
        if (target.isEmpty()) {
            throw refuse("invalid-target", "empty request target");
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c > 0xff || !Tokens.isTargetChar(c)) {
                throw refuse("invalid-target", "request target holds " + describe(c) + " at index " + i);
            }
        }
        return target;
    }

    /** Checks a reason phrase: HTAB, SP, VCHAR and obs-text only ({@code null} means the standard phrase). */
    static @Nullable String reason(@Nullable String reason) {
        if (reason == null) {
            return null;
        }
        for (int i = 0; i < reason.length(); i++) {
            char c = reason.charAt(i);
            if (c > 0xff || !Tokens.isFieldValueChar(c)) {
                throw refuse("invalid-reason-phrase", "reason phrase holds " + describe(c) + " at index " + i);
            }
        }
        return reason;
    }

    private static int firstNonTchar(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c > 0xff || !Tokens.isTchar(c)) {
                return i;
            }
        }
        return -1;
    }

    private static ProxyError refuse(String rule, String detail) {
        return ProxyError.rejected(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.INTERNAL, rule, detail);
    }

    /** Names one character for a message: {@code CR (0x0D)}, {@code 0xE9}, {@code U+010A}. */
    static String describe(char c) {
        String name = switch (c) {
            case 0 -> "NUL ";
            case '\t' -> "HTAB ";
            case '\n' -> "LF ";
            case '\r' -> "CR ";
            case ' ' -> "SP ";
            case 0x7f -> "DEL ";
            default -> "";
        };
        if (c > 0xff) {
            return String.format("U+%04X (above U+00FF)", (int) c);
        }
        if (name.isEmpty() && c > 0x20 && c < 0x7f) {
            return "'" + c + "'";
        }
        return name.isEmpty() ? String.format("0x%02X", (int) c) : name + String.format("(0x%02X)", (int) c);
    }

    /** {@code s} with every character outside visible US-ASCII (and quote, backslash) escaped, cut at 64. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), QUOTE) + 8);
        int n = Math.min(s.length(), QUOTE);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '"', '\\' -> sb.append('\\').append(c);
                default -> {
                    if (c > 0x20 && c < 0x7f) {
                        sb.append(c);
                    } else if (c <= 0xff) {
                        sb.append(String.format("\\x%02X", (int) c));
                    } else {
                        sb.append(String.format("\\u%04X", (int) c));
                    }
                }
            }
        }
        if (s.length() > n) {
            sb.append("...");
        }
        return sb.toString();
    }
}

package dev.merapi.core.security;

import dev.merapi.http.HeaderNames;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.Tokens;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Builds the short excerpt of a security event: the request line and, when the rule points at a header line, that
 * line, escaped and with secrets redacted. Runs only for events that are logged.
 */
final class Excerpt {
    /** The longest excerpt, in characters after escaping. */
    static final int MAX_CHARS = 200;
    private static final int REQUEST_LINE_CHARS = 100;
    private static final int MAX_SCAN_BYTES = 64 * 1024;
    private static final int MAX_LINES = 256;
    private static final String REDACTED = "<redacted>";
    private static final String[] SENSITIVE = {"authorization", "proxy-authorization", "cookie", "set-cookie"};

    private Excerpt() {
    }

    /** The excerpt of the head that starts at {@code head}'s reader index; the buffer is only read. */
    static String of(ByteBuf head, String rule) {
        int n = Math.min(head.readableBytes(), MAX_SCAN_BYTES);
        return of(head.toString(head.readerIndex(), n, StandardCharsets.ISO_8859_1), rule);
    }

    /** The excerpt of a request that was parsed fine but refused (CONNECT, an unsupported Expect). */
    static String of(RequestHeader request, String rule) {
        StringBuilder sb = new StringBuilder(64).append(request.method()).append(' ').append(request.target())
                .append(' ').append(request.version().text()).append("\r\n");
        request.headers().get(HeaderNames.EXPECT).ifPresent(expect -> sb.append("Expect: ").append(expect).append("\r\n"));
        return of(sb.toString(), rule);
    }

    static String of(String text, String rule) {
        List<String> lines = lines(text);
        if (lines.isEmpty()) {
            return "";
        }
        int at = offendingLine(lines, rule);
        StringBuilder out = new StringBuilder(MAX_CHARS + 16);
        String first = stripCr(lines.get(0));
        appendEscaped(out, sensitiveNameLength(first) > 0 ? redactHeader(lines, 0) : redactQuery(first), REQUEST_LINE_CHARS);
        if (at > 0) {
            out.append(" ... [line ").append(at + 1).append("] ");
            appendEscaped(out, redactHeader(lines, at), MAX_CHARS - out.length());
        }
        return out.toString();
    }

    /** The lines of the head, without their LF, up to the empty line that ends it. */
    private static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        int from = 0;
        while (from < text.length() && lines.size() < MAX_LINES) {
            int lf = text.indexOf('\n', from);
            String line = text.substring(from, lf < 0 ? text.length() : lf);
            if (line.isEmpty() || line.equals("\r")) {
                break;
            }
            lines.add(line);
            if (lf < 0) {
                break;
            }
            from = lf + 1;
        }
        return lines;
    }

    /** The index of the line the rule most likely refers to; 0 (the request line) when there is no better guess. */
    private static int offendingLine(List<String> lines, String rule) {
        int found = switch (rule) {
            case "obs-fold" -> firstMatching(lines, l -> l.charAt(0) == ' ' || l.charAt(0) == '\t', 1);
            case "space-before-colon" -> firstMatching(lines, Excerpt::spaceBeforeColon, 1);
            case "duplicate-host" -> named(lines, "host", 2);
            case "invalid-host", "host-mismatch" -> named(lines, "host", 1);
            case "duplicate-content-length" -> named(lines, "content-length", 2);
            case "invalid-content-length" -> named(lines, "content-length", 1);
            case "te-and-cl", "te-on-http10", "te-not-chunked", "te-chunked-twice", "te-unsupported",
                 "invalid-transfer-encoding" -> named(lines, "transfer-encoding", 1);
            case "bad-expect" -> named(lines, "expect", 1);
            case "bare-lf" -> firstMatching(lines, l -> !l.endsWith("\r"), 0);
            case "invalid-header-name", "invalid-header-line", "invalid-header-value" ->
                    firstMatching(lines, Excerpt::malformed, 1);
            case "missing-host", "header-section-too-large", "too-many-headers" -> 0;
            default -> -1;
        };
        if (found < 0) {
            found = firstMatching(lines, Excerpt::malformed, 1);
        }
        return Math.max(found, 0);
    }

    private static int firstMatching(List<String> lines, Predicate<String> test, int from) {
        for (int i = from; i < lines.size(); i++) {
            if (test.test(lines.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** The line holding the {@code nth} field called {@code name}. */
    private static int named(List<String> lines, String name, int nth) {
        int seen = 0;
        for (int i = 1; i < lines.size(); i++) {
            if (name.equalsIgnoreCase(fieldName(lines.get(i))) && ++seen == nth) {
                return i;
            }
        }
        return -1;
    }

    private static String fieldName(String line) {
        int colon = line.indexOf(':');
        return colon < 0 ? "" : line.substring(0, colon).strip();
    }

    private static boolean spaceBeforeColon(String line) {
        int colon = line.indexOf(':');
        return colon > 0 && (line.charAt(colon - 1) == ' ' || line.charAt(colon - 1) == '\t');
    }

    private static boolean malformed(String line) {
        String l = stripCr(line);
        int colon = l.indexOf(':');
        if (colon <= 0) {
            return true;
        }
        for (int i = 0; i < l.length(); i++) {
            char c = l.charAt(i);
            if (!Tokens.isFieldValueChar(c) || (i < colon && !Tokens.isTchar(c))) {
                return true;
            }
        }
        return false;
    }

    /** The header line at {@code at}, with the value of a sensitive field (or its folded continuation) redacted. */
    private static String redactHeader(List<String> lines, int at) {
        String line = stripCr(lines.get(at));
        if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
            // a continuation belongs to the last field that started a line
            for (int i = at - 1; i >= 1; i--) {
                String prev = lines.get(i);
                if (prev.charAt(0) != ' ' && prev.charAt(0) != '\t') {
                    return sensitiveNameLength(prev) > 0 ? line.charAt(0) + REDACTED : line;
                }
            }
            return line;
        }
        int name = sensitiveNameLength(line);
        if (name == 0) {
            return line;
        }
        int value = name;
        while (value < line.length() && (line.charAt(value) == ' ' || line.charAt(value) == '\t' || line.charAt(value) == ':')) {
            value++;
        }
        return line.substring(0, value) + REDACTED;
    }

    /** The length of the sensitive field name that starts {@code line} (however it is cased or malformed), or 0. */
    private static int sensitiveNameLength(String line) {
        for (String s : SENSITIVE) {
            if (line.regionMatches(true, 0, s, 0, s.length())
                    && (line.length() == s.length() || !Tokens.isTchar(line.charAt(s.length())))) {
                return s.length();
            }
        }
        return 0;
    }

    /** The request line with the value of each query parameter redacted (tokens often travel in queries). */
    private static String redactQuery(String line) {
        int q = line.indexOf('?');
        if (q < 0) {
            return line;
        }
        int end = line.indexOf(' ', q);
        if (end < 0) {
            end = line.length();
        }
        StringBuilder sb = new StringBuilder(line.length()).append(line, 0, q + 1);
        String[] params = line.substring(q + 1, end).split("&", -1);
        for (int i = 0; i < params.length; i++) {
            if (i > 0) {
                sb.append('&');
            }
            int eq = params[i].indexOf('=');
            if (eq >= 0) {
                sb.append(params[i], 0, eq + 1).append(REDACTED);
            } else if (!params[i].isEmpty()) {
                sb.append(REDACTED);
            }
        }
        return sb.append(line, end, line.length()).toString();
    }

    private static String stripCr(String line) {
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }

    /** Appends {@code s} with CR, LF, controls, quotes, backslashes and non-ASCII escaped, cut at {@code max} characters. */
    private static void appendEscaped(StringBuilder out, String s, int max) {
        int limit = out.length() + Math.max(max, 0);
        for (int i = 0; i < s.length(); i++) {
            if (out.length() >= limit) {
                out.append("...");
                return;
            }
            appendEscaped(out, s.charAt(i));
        }
    }

    private static void appendEscaped(StringBuilder out, char c) {
        switch (c) {
            case '\r' -> out.append("\\r");
            case '\n' -> out.append("\\n");
            case '\t' -> out.append("\\t");
            case '"' -> out.append("\\\"");
            case '\\' -> out.append("\\\\");
            default -> {
                if (c >= 0x20 && c < 0x7f) {
                    out.append(c);
                } else {
                    out.append("\\x").append(Character.forDigit((c >> 4) & 0xf, 16)).append(Character.forDigit(c & 0xf, 16));
                }
            }
        }
    }

    /** Escapes a short string (an address) for the log line. */
    static String escape(String s, int max) {
        StringBuilder out = new StringBuilder(Math.min(s.length(), max) + 8);
        appendEscaped(out, s, max);
        return out.toString();
    }
}

package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.Headers;
import dev.merapi.http.HopByHop;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Tokens;
import dev.merapi.http.fuzz.Feed.Outcome;
import dev.merapi.http.fuzz.Feed.Parsed;
import dev.merapi.http.fuzz.Feed.Rejected;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Fuzzes header name and value validation ({@link Tokens}) against RFC 9110 §5 written as regular expressions, checks
 * that the parser accepts a field line exactly when those rules do, runs {@link Headers} against a plain list model
 * (its setters accepting a field exactly when those rules do), and checks what {@link HopByHop#strip} leaves.
 */
class HeaderFieldFuzzTest {
    static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]+");
    static final Pattern FIELD_VALUE = Pattern.compile("(?:[\\x21-\\x7e\\x80-\\xff](?:[\\t \\x21-\\x7e\\x80-\\xff]*[\\x21-\\x7e\\x80-\\xff])?)?");
    private static final Pattern FIELD_CHARS = Pattern.compile("[\\t \\x21-\\x7e\\x80-\\xff]*");
    private static final Set<String> FRAMING = Set.of("host", "content-length", "transfer-encoding");
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
            "transfer-encoding", "upgrade");

    /** The input is {@code name ":" value} (no colon: all name); the value may hold anything, CR and LF included. */
    @FuzzTest(maxDuration = "10s")
    void fieldLine(byte[] data) {
        String text = new String(data, StandardCharsets.ISO_8859_1);
        int colon = text.indexOf(':');
        String name = colon < 0 ? text : text.substring(0, colon);
        String value = colon < 0 ? "" : text.substring(colon + 1);
        assertThat(Tokens.isToken(name)).as("isToken(%s)", name).isEqualTo(TOKEN.matcher(name).matches());
        assertThat(Tokens.isFieldValue(value)).as("isFieldValue(%s)", value).isEqualTo(FIELD_VALUE.matcher(value).matches());
        for (int c = 0; c < 256; c++) {
            assertThat(Tokens.isTchar(c)).isEqualTo(TOKEN.matcher(String.valueOf((char) c)).matches());
        }
        // the same field in a request: accepted exactly when the name is a token and the value holds only field characters
        String fieldName = FRAMING.contains(name.toLowerCase(Locale.ROOT)) ? "X-" + name : name;
        byte[] wire = ("GET / HTTP/1.1\r\nHost: a\r\n" + fieldName + ":" + value + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        Outcome outcome = Feed.request(wire, new int[0], Http1Limits.DEFAULT, false);
        boolean valid = TOKEN.matcher(fieldName).matches() && FIELD_CHARS.matcher(value).matches();
        if (valid) {
            assertThat(outcome).isInstanceOf(Parsed.class);
            List<String> fields = ((Parsed) outcome).head().fields();
            assertThat(fields).hasSize(4);
            assertThat(fields.get(2)).isEqualTo(fieldName);
            assertThat(fields.get(3)).isEqualTo(ows(value));
            assertThat(Tokens.isFieldValue(fields.get(3))).isTrue();
        } else if (value.indexOf('\n') < 0 && value.indexOf('\r') < 0 && fieldName.indexOf('\n') < 0 && fieldName.indexOf('\r') < 0) {
            // one broken line and nothing else: rejected with 400
            assertThat(outcome).isInstanceOf(Rejected.class);
            assertThat(((Rejected) outcome).status()).isEqualTo(400);
        } else {
            // CR or LF in the input make other lines: any verdict, but one (the block always ends in CRLF CRLF)
            assertThat(outcome).isNotInstanceOf(Feed.Incomplete.class);
        }
    }

    /** Runs a sequence of operations on {@link Headers} and on a list of pairs, and compares them after each one. */
    @FuzzTest(maxDuration = "10s")
    void headersModel(FuzzedDataProvider data) {
        String[] names = {"a", "A", "b", "Connection", "connection", "Keep-Alive", "Host", "x-y", "X-Y"};
        Headers headers = new Headers(data.consumeInt(0, 4));
        List<Map.Entry<String, String>> model = new ArrayList<>();
        int steps = data.consumeInt(0, 64);
        for (int s = 0; s < steps && data.remainingBytes() > 0; s++) {
            String name = data.pickValue(names);
            String value = data.consumeString(8);
            switch (data.consumeInt(0, 6)) {
                case 0 -> {
                    if (!settable(() -> headers.add(name, value), name, value)) {
                        break; // refused: the model stays as it was, and so must the list (checked below)
                    }
                    model.add(Map.entry(name, value));
                }
                case 1 -> {
                    if (!settable(() -> headers.set(name, value), name, value)) {
                        break;
                    }
                    int first = indexOf(model, name, 0);
                    if (first < 0) {
                        model.add(Map.entry(name, value));
                    } else {
                        model.set(first, Map.entry(model.get(first).getKey(), value));
                        for (int i = model.size() - 1; i > first; i--) {
                            if (model.get(i).getKey().equalsIgnoreCase(name)) {
                                model.remove(i);
                            }
                        }
                    }
                }
                case 2 -> assertThat(headers.remove(name)).isEqualTo(model.removeIf(e -> e.getKey().equalsIgnoreCase(name)));
                case 3 -> {
                    if (!model.isEmpty()) {
                        int i = data.consumeInt(0, model.size() - 1);
                        headers.removeAt(i);
                        model.remove(i);
                    }
                }
                case 4 -> {
                    Headers copy = headers.copy();
                    copy.add("z", "z");
                    copy.remove("a");
                }
                case 5 -> {
                    headers.clear();
                    model.clear();
                }
                default -> {
                }
            }
            assertThat(headers.size()).isEqualTo(model.size());
            for (int i = 0; i < model.size(); i++) {
                assertThat(headers.name(i)).isEqualTo(model.get(i).getKey());
                assertThat(headers.value(i)).isEqualTo(model.get(i).getValue());
            }
            List<String> all = model.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
            assertThat(headers.getAll(name)).isEqualTo(all);
            assertThat(headers.count(name)).isEqualTo(all.size());
            assertThat(headers.get(name)).isEqualTo(all.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(all.getFirst()));
            assertThat(headers.contains(name)).isEqualTo(!all.isEmpty());
            assertThat(headers.containsToken(name, "close"))
                    .isEqualTo(all.stream().anyMatch(v -> elements(v).stream().anyMatch("close"::equalsIgnoreCase)));
        }
    }

    /**
     * The input is a header block, one {@code name:value} per LF. After {@link HopByHop#strip}: no hop-by-hop field and
     * no field named in Connection is left, except Host and Content-Length; every other field is kept, in order.
     */
    @FuzzTest(maxDuration = "10s")
    void hopByHop(byte[] data) {
        Headers headers = new Headers();
        for (String line : new String(data, StandardCharsets.ISO_8859_1).split("\n", -1)) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                String name = line.substring(0, colon);
                String value = ows(line.substring(colon + 1));
                settable(() -> headers.add(name, value), name, value); // a refused field is not in the list
            }
        }
        List<String> before = new ArrayList<>();
        headers.forEach((n, v) -> before.add(n + ":" + v));
        List<String> named = new ArrayList<>();
        headers.getAll("Connection").forEach(v -> named.addAll(elements(v)));
        List<String> each = new ArrayList<>();
        Tokens.forEachListElement(String.join(",", headers.getAll("Connection")), each::add);
        assertThat(each).isEqualTo(named);

        HopByHop.strip(headers);

        List<String> expected = new ArrayList<>();
        for (String field : before) {
            String n = field.substring(0, field.indexOf(':'));
            String lower = n.toLowerCase(Locale.ROOT);
            boolean listed = named.stream().anyMatch(n::equalsIgnoreCase) && !lower.equals("host") && !lower.equals("content-length");
            if (!HOP_BY_HOP.contains(lower) && !listed) {
                expected.add(field);
            }
        }
        List<String> after = new ArrayList<>();
        headers.forEach((n, v) -> after.add(n + ":" + v));
        assertThat(after).isEqualTo(expected);
    }

    /**
     * Runs a public setter with {@code name} and {@code value}: it must succeed exactly when RFC 9110 §5 allows the
     * field, and refuse it otherwise as an invalid header, with a message that is safe to log.
     *
     * @return whether the field was set
     */
    static boolean settable(Runnable setter, String name, String value) {
        boolean valid = TOKEN.matcher(name).matches() && FIELD_VALUE.matcher(value).matches();
        try {
            setter.run();
        } catch (ProxyError e) {
            assertThat(valid).as("refused %s: %s", name, e.context()).isFalse();
            assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
            assertThat(e.source()).isEqualTo(ErrorSource.INTERNAL);
            assertThat(Feed.rule(e)).isIn("invalid-header-name", "invalid-header-value");
            assertThat(e.getMessage()).as("printable US-ASCII only").matches("[\\x20-\\x7e]*");
            return false;
        }
        assertThat(valid).as("accepted %s: %s", name, value).isTrue();
        return true;
    }

    /** The trimmed, non-empty elements of a comma-separated list. */
    private static List<String> elements(String list) {
        List<String> out = new ArrayList<>();
        for (String e : list.split(",", -1)) {
            String t = ows(e);
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /** {@code s} without leading and trailing optional whitespace (SP and HTAB only, unlike {@link String#strip}). */
    private static String ows(String s) {
        return s.replaceAll("\\A[ \\t]+|[ \\t]+\\z", ""); // not $, which also matches before a final CR
    }

    private static int indexOf(List<Map.Entry<String, String>> model, String name, int from) {
        for (int i = from; i < model.size(); i++) {
            if (model.get(i).getKey().equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }
}

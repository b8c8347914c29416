package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.http.fuzz.Feed.Outcome;
import dev.merapi.http.fuzz.Feed.Parsed;
import dev.merapi.http.fuzz.Feed.Rejected;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Fuzzes the public setters of a head with any string, including characters above U+00FF: each must accept exactly
 * what RFC 9110 allows (a token name, a field-value, a token method, a request-target of visible US-ASCII, a reason
 * phrase without controls) and refuse the rest, leaving the head as it was. What is accepted is encoded and parsed
 * again: it must come back as the same one head, with nothing added, so no string can split a message.
 *
 * <p>Input: byte 0 picks the setter, byte 1 is the length of the name in characters, the rest is UTF-8 text (so a
 * malformed sequence gives U+FFFD): the name, then the value.
 */
class HeadSetterFuzzTest {
    private static final Pattern TARGET = Pattern.compile("[\\x21-\\x7e&&[^\"<>\\\\^`{|}#]]+");
    private static final Pattern REASON = Pattern.compile("[\\t \\x21-\\x7e\\x80-\\xff]*");
    private static final Set<String> FRAMING = Set.of("host", "content-length", "transfer-encoding");
    private static final Http1Limits ROOMY = new Http1Limits(64 * 1024, 64 * 1024, 100, 1024, 1024);

    /** Sets one header field through {@code Headers.add}, {@code Headers.set} or {@code ResponseHeader.setHeader}. */
    @FuzzTest(maxDuration = "10s")
    void fieldSetters(byte[] data) {
        if (data.length < 2) {
            return;
        }
        int setter = (data[0] & 0xff) % 6;
        String text = new String(data, 2, data.length - 2, StandardCharsets.UTF_8);
        int cut = Math.min(data[1] & 0xff, text.length());
        String name = text.substring(0, cut);
        if (FRAMING.contains(name.toLowerCase(Locale.ROOT))) {
            name = "X-" + name; // framing headers have rules of their own when parsed again
        }
        String value = text.substring(cut);
        String n = name;
        boolean request = setter < 2; // 0, 1: a request's add, set; 2, 3: a response's add, set; 4, 5: setHeader
        RequestHeader req = RequestHeader.of("GET", "/");
        req.headers().add("Host", "a");
        ResponseHeader res = ResponseHeader.of(200);
        res.headers().add("Content-Length", "0");
        Headers headers = request ? req.headers() : res.headers();
        String before = headers.toString();
        boolean set = HeaderFieldFuzzTest.settable(() -> {
            switch (setter) {
                case 0, 2 -> headers.add(n, value);
                case 1, 3 -> headers.set(n, value);
                default -> res.setHeader(n, value);
            }
        }, name, value);
        if (!set) {
            assertThat(headers.toString()).as("unchanged after a refusal").isEqualTo(before);
            return;
        }
        byte[] wire = request
                ? Feed.drain(Http1Encoder.encodeRequest(UnpooledByteBufAllocator.DEFAULT, req))
                : Feed.drain(Http1Encoder.encodeResponse(UnpooledByteBufAllocator.DEFAULT, res, HttpVersion.HTTP_1_1));
        Outcome again = request ? Feed.request(wire, new int[0], ROOMY, false) : Feed.response(wire, new int[0], ROOMY, "GET");
        List<String> expected = request ? List.of("Host", "a", name, value) : List.of("Content-Length", "0", name, value);
        assertThat(again).as("re-parsed %s", new String(wire, StandardCharsets.ISO_8859_1)).isInstanceOf(Parsed.class);
        assertThat(((Parsed) again).head().fields()).isEqualTo(expected);
        assertThat(((Parsed) again).consumed()).as("one head, nothing after it").isEqualTo(wire.length);
    }

    /** Sets a method, a target or a reason phrase through each public setter and factory. */
    @FuzzTest(maxDuration = "10s")
    void startLineSetters(byte[] data) {
        if (data.length < 1) {
            return;
        }
        int setter = (data[0] & 0xff) % 5;
        String text = new String(data, 1, data.length - 1, StandardCharsets.UTF_8);
        RequestHeader req = RequestHeader.of("GET", "/");
        req.headers().add("Host", "a");
        ResponseHeader res = null;
        boolean valid;
        String rule;
        try {
            switch (setter) {
                case 0 -> {
                    valid = HeaderFieldFuzzTest.TOKEN.matcher(text).matches();
                    rule = "invalid-method";
                    req.setMethod(text);
                }
                case 1 -> {
                    valid = HeaderFieldFuzzTest.TOKEN.matcher(text).matches();
                    rule = "invalid-method";
                    req = RequestHeader.of(text, "/", HttpVersion.HTTP_1_1, req.headers());
                }
                case 2 -> {
                    valid = TARGET.matcher(text).matches();
                    rule = "invalid-target";
                    req.setTarget(text);
                }
                case 3 -> {
                    valid = TARGET.matcher(text).matches();
                    rule = "invalid-target";
                    req = RequestHeader.of("GET", text, HttpVersion.HTTP_1_1, req.headers());
                }
                default -> {
                    valid = REASON.matcher(text).matches();
                    rule = "invalid-reason-phrase";
                    res = ResponseHeader.of(200, text, HttpVersion.HTTP_1_1, new Headers().add("Content-Length", "0"));
                }
            }
        } catch (ProxyError e) {
            assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
            assertThat(e.source()).isEqualTo(ErrorSource.INTERNAL);
            assertThat(Feed.rule(e)).isEqualTo(setter == 0 || setter == 1 ? "invalid-method" : setter == 4 ? "invalid-reason-phrase" : "invalid-target");
            assertThat(e.getMessage()).as("printable US-ASCII only").matches("[\\x20-\\x7e]*");
            assertThat(req.method() + ' ' + req.target()).as("unchanged after a refusal").isEqualTo("GET /");
            assertThat(setter == 0 || setter == 1 ? HeaderFieldFuzzTest.TOKEN.matcher(text).matches()
                    : setter == 4 ? REASON.matcher(text).matches() : TARGET.matcher(text).matches()).as("refused %s", e.context()).isFalse();
            return;
        }
        assertThat(valid).as("accepted by %s's setter: %s", rule, text).isTrue();
        if (res != null) {
            byte[] wire = Feed.drain(Http1Encoder.encodeResponse(UnpooledByteBufAllocator.DEFAULT, res, HttpVersion.HTTP_1_1));
            Outcome again = Feed.response(wire, new int[0], ROOMY, "GET");
            assertThat(again).isEqualTo(new Parsed(new Feed.Head("200 " + text, HttpVersion.HTTP_1_1, List.of("Content-Length", "0"), 0),
                    wire.length));
            return;
        }
        byte[] wire = Feed.drain(Http1Encoder.encodeRequest(UnpooledByteBufAllocator.DEFAULT, req));
        Outcome again = Feed.request(wire, new int[0], ROOMY, false);
        if (again instanceof Rejected r) {
            // a valid target of the wrong form for the method, such as "a" or CONNECT with "/": never a second message
            assertThat(r.rule()).isIn("invalid-target", "host-mismatch");
            return;
        }
        assertThat(again).isInstanceOf(Parsed.class);
        Parsed parsed = (Parsed) again;
        assertThat(parsed.head().startLine()).isEqualTo(req.method() + ' ' + req.target());
        assertThat(parsed.head().fields()).isEqualTo(List.of("Host", "a"));
        assertThat(parsed.consumed()).as("one head, nothing after it").isEqualTo(wire.length);
    }
}

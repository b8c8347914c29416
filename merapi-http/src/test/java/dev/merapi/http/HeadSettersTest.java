package dev.merapi.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every public way to put a header field, a method, a target or a reason phrase into a head refuses what would
 * change the message on the wire (CR, LF, NUL, other controls, characters above U+00FF, names that are not tokens),
 * leaves the head as it was, and says so without echoing the value; what it accepts is written byte for byte.
 */
class HeadSettersTest {
    /** The rule names a refused field may carry. */
    private static final Set<String> FIELD_RULES = Set.of("invalid-header-name", "invalid-header-value");

    /** The public setters of a header field, each on a head that already holds one field of the same name. */
    enum FieldSetter {
        HEADERS_ADD((h, nv) -> h.headers().add(nv[0], nv[1])),
        HEADERS_SET((h, nv) -> h.headers().set(nv[0], nv[1])),
        HEADERS_SET_EXISTING((h, nv) -> h.headers().set("X-Existing", nv[1])),
        RESPONSE_SET_HEADER((h, nv) -> h.setHeader(nv[0], nv[1]));

        final BiConsumer<ResponseHeader, String[]> apply;

        FieldSetter(BiConsumer<ResponseHeader, String[]> apply) {
            this.apply = apply;
        }
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("CR", "x\rSet-Cookie: injected=1"),
                Arguments.of("LF", "x\nSet-Cookie: injected=1"),
                Arguments.of("CRLF", "x\r\nSet-Cookie: injected=1\r\n\r\ninjected body"),
                Arguments.of("NUL", "x\u0000injected"),
                Arguments.of("DEL", "x\u007finjected"),
                Arguments.of("another control", "x\u0001injected"),
                Arguments.of("above U+00FF whose low bytes are CR LF", "x\u010d\u010aSet-Cookie: injected=1"),
                Arguments.of("leading whitespace", " injected"),
                Arguments.of("trailing whitespace", "injected\t"));
    }

    static Stream<Arguments> badNames() {
        return Stream.of(
                Arguments.of("CRLF", "X-Injected\r\nSet-Cookie"),
                Arguments.of("LF", "X-Injected\nSet-Cookie"),
                Arguments.of("CR", "X-Injected\rSet-Cookie"),
                Arguments.of("NUL", "X-Injected\u0000"),
                Arguments.of("DEL", "X-Injected\u007f"),
                Arguments.of("space", "X Injected"),
                Arguments.of("colon", "X-Injected:"),
                Arguments.of("empty", ""),
                Arguments.of("obs-text", "X-Inject\u00e9d"),
                Arguments.of("above U+00FF", "X-Injected\u010a"));
    }

    static Stream<Arguments> fieldCases() {
        Stream.Builder<Arguments> out = Stream.builder();
        for (FieldSetter s : FieldSetter.values()) {
            badValues().forEach(a -> out.add(Arguments.of(s, "X-Echo", a.get()[1], "value " + a.get()[0])));
            if (s != FieldSetter.HEADERS_SET_EXISTING) {
                badNames().forEach(a -> out.add(Arguments.of(s, a.get()[1], "ok", "name " + a.get()[0])));
            }
        }
        return out.build();
    }

    @ParameterizedTest(name = "{0}: {3}")
    @MethodSource("fieldCases")
    void everyFieldSetterRefusesWhatWouldChangeTheMessageAndLeavesTheHeadUnchanged(FieldSetter setter, String name,
            String value, String label) {
        ResponseHeader head = ResponseHeader.of(200);
        head.headers().add("X-Existing", "1").add("X-Other", "2");
        String before = head.headers().toString();

        ProxyError e = refused(() -> setter.apply.accept(head, new String[] {name, value}));

        assertThat(FIELD_RULES).contains(rule(e));
        assertThat(head.headers().toString()).as("the head after a refusal").isEqualTo(before);
        assertThat(encode(head)).doesNotContain("injected", "Injected");
    }

    @ParameterizedTest
    @MethodSource("badValues")
    void aRefusedValueIsNamedByItsHeaderButNeverQuoted(String label, String value) {
        ProxyError e = refused(() -> new Headers().add("X-Echo", value));
        assertThat(e.context()).startsWith("invalid-header-value: the value of X-Echo ").doesNotContain("injected");
    }

    @ParameterizedTest
    @MethodSource("badNames")
    void aRefusedNameIsQuotedOnlyEscaped(String label, String name) {
        ProxyError e = refused(() -> new Headers().add(name, "ok"));
        assertThat(e.context()).startsWith("invalid-header-name: ");
        if (name.contains("\r\n")) {
            assertThat(e.context()).contains("X-Injected\\r\\nSet-Cookie");
        }
    }

    @ParameterizedTest
    @EnumSource(FieldSetter.class)
    void aValueTakesEveryCharacterRfc9110AllowsAndNothingElse(FieldSetter setter) {
        for (int c = 0; c <= 0x2ff; c++) {
            char ch = (char) c;
            boolean allowed = ch == '\t' || ch == ' ' || (ch >= 0x21 && ch != 0x7f && ch <= 0xff);
            ResponseHeader head = ResponseHeader.of(200);
            head.headers().add("X-Existing", "1");
            String value = "a" + ch + "b";
            ThrowingCallable set = () -> setter.apply.accept(head, new String[] {"X-Existing", value});
            if (allowed) {
                assertThatCode(set).as("U+%04X", c).doesNotThrowAnyException();
                // one byte on the wire, the character's ISO-8859-1 code: never '?' or two bytes of UTF-8
                assertThat(encode(head)).as("U+%04X", c).contains("X-Existing: a" + ch + "b\r\n");
            } else {
                refused(set);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = FieldSetter.class, names = {"HEADERS_ADD", "HEADERS_SET", "RESPONSE_SET_HEADER"})
    void aNameTakesEveryTokenCharacterAndNothingElse(FieldSetter setter) {
        String tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (int c = 0; c <= 0x2ff; c++) {
            char ch = (char) c;
            ResponseHeader head = ResponseHeader.of(200);
            String name = "X" + ch;
            ThrowingCallable set = () -> setter.apply.accept(head, new String[] {name, "v"});
            if (tchars.indexOf(ch) >= 0) {
                assertThatCode(set).as("U+%04X", c).doesNotThrowAnyException();
                assertThat(encode(head)).contains("\r\n" + name + ": v\r\n");
            } else {
                refused(set);
                assertThat(head.headers().isEmpty()).isTrue();
            }
        }
    }

    @Test
    void methodsMustBeTokensThroughEverySetter() {
        for (String bad : new String[] {"GET\r\n", "GET /x HTTP/1.1\r\nX: y", "G T", "GET\u0000", "G\u00e9T", "G\u0100T", ""}) {
            RequestHeader request = RequestHeader.of("GET", "/");
            assertThat(rule(refused(() -> request.setMethod(bad)))).isEqualTo("invalid-method");
            assertThat(request.method()).isEqualTo("GET");
            assertThat(rule(refused(() -> RequestHeader.of(bad, "/")))).isEqualTo("invalid-method");
            assertThat(rule(refused(() -> RequestHeader.of(bad, "/", HttpVersion.HTTP_1_1, new Headers())))).isEqualTo("invalid-method");
        }
        assertThat(RequestHeader.of("GET", "/").setMethod("PURGE").method()).isEqualTo("PURGE");
    }

    @Test
    void targetsHoldOnlyVisibleAsciiThroughEverySetter() {
        String never = "\"<>\\^`{|}#";
        for (int c = 0; c <= 0x2ff; c++) {
            char ch = (char) c;
            boolean allowed = ch >= 0x21 && ch <= 0x7e && never.indexOf(ch) < 0;
            String target = "/a" + ch + "b";
            RequestHeader request = RequestHeader.of("GET", "/");
            if (allowed) {
                request.setTarget(target);
                assertThat(RequestHeader.of("GET", target).target()).isEqualTo(target);
                assertThat(encode(request)).startsWith("GET " + target + " HTTP/1.1\r\n");
            } else {
                assertThat(rule(refused(() -> request.setTarget(target)))).as("U+%04X", c).isEqualTo("invalid-target");
                assertThat(request.target()).isEqualTo("/");
                refused(() -> RequestHeader.of("GET", target));
                refused(() -> RequestHeader.of("GET", target, HttpVersion.HTTP_1_1, new Headers()));
            }
        }
        ProxyError e = refused(() -> RequestHeader.of("GET", "/x?token=secret\r\nX: y"));
        assertThat(e.context()).doesNotContain("secret");
        refused(() -> RequestHeader.of("GET", ""));
    }

    @Test
    void reasonPhrasesHoldNoControlCharacterExceptHtab() {
        for (int c = 0; c <= 0x2ff; c++) {
            char ch = (char) c;
            boolean allowed = ch == '\t' || ch == ' ' || (ch >= 0x21 && ch != 0x7f && ch <= 0xff);
            String reason = "Fine" + ch + "Reason";
            if (allowed) {
                ResponseHeader r = ResponseHeader.of(200, reason, HttpVersion.HTTP_1_1, new Headers());
                assertThat(encode(r)).startsWith("HTTP/1.1 200 " + reason + "\r\n");
            } else {
                assertThat(rule(refused(() -> ResponseHeader.of(200, reason, HttpVersion.HTTP_1_1, new Headers()))))
                        .as("U+%04X", c).isEqualTo("invalid-reason-phrase");
            }
        }
        assertThat(ResponseHeader.of(404, null, HttpVersion.HTTP_1_1, new Headers()).reason()).isEqualTo("Not Found");
    }

    @Test
    void whatTheParserReadIsNotCheckedAgainButHoldsTheSameRules() {
        String wire = "GET /p HTTP/1.1\r\nHost: a\r\nX-Obs: caf\u00e9\r\n\r\n";
        ByteBuf buf = UnpooledByteBufAllocator.DEFAULT.heapBuffer().writeBytes(wire.getBytes(StandardCharsets.ISO_8859_1));
        try {
            int end = Http1Parser.findHeadEnd(buf, new Http1Parser.HeadScan(), Http1Limits.DEFAULT, true);
            RequestHeader request = Http1Parser.parseRequest(buf, end, Http1Limits.DEFAULT);
            // every parsed field passes the public setters, so a copy through them is the same head
            Headers again = new Headers();
            request.headers().forEach(again::add);
            assertThat(again.toString()).isEqualTo(request.headers().toString());
            assertThat(encode(request)).isEqualTo(wire);
        } finally {
            buf.release();
        }
    }

    /** Runs {@code call}, which must be refused as an invalid head, and returns the refusal. */
    private static ProxyError refused(ThrowingCallable call) {
        ProxyError e = catchThrowableOfType(ProxyError.class, call);
        assertThat(e).as("refused").isNotNull();
        assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
        assertThat(e.source()).isEqualTo(ErrorSource.INTERNAL);
        assertThat(e.responseStatus()).isEqualTo(500);
        // safe to log as it is: printable US-ASCII only, whatever the input held
        assertThat(e.getMessage()).matches("[\\x20-\\x7e]*");
        return e;
    }

    private static String rule(ProxyError e) {
        return e.context().substring(0, e.context().indexOf(':'));
    }

    private static String encode(ResponseHeader head) {
        return drain(Http1Encoder.encodeResponse(UnpooledByteBufAllocator.DEFAULT, head, HttpVersion.HTTP_1_1));
    }

    private static String encode(RequestHeader head) {
        return drain(Http1Encoder.encodeRequest(UnpooledByteBufAllocator.DEFAULT, head));
    }

    private static String drain(ByteBuf buf) {
        try {
            return buf.toString(StandardCharsets.ISO_8859_1);
        } finally {
            buf.release();
        }
    }
}

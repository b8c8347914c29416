package dev.merapi.core.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ExcerptTest {

    private static String crlf(String s) {
        return s.replace("|", "\r\n");
    }

    @Test
    void controlBytesQuotesAndNonAsciiAreEscaped() {
        assertThat(Excerpt.of(crlf("GET /\"a\\\u0001\u00e9 HTTP/1.1|Host: a||"), "invalid-target"))
                .isEqualTo("GET /\\\"a\\\\\\x01\\xe9 HTTP/1.1");
    }

    @Test
    void theExcerptIsBoundedHoweverLongTheLines() {
        String e = Excerpt.of(crlf("GET /" + "a".repeat(10_000) + " HTTP/1.1|Host: a|Cookie: " + "b".repeat(10_000)
                + "|Cookie : x||"), "space-before-colon");
        assertThat(e.length()).isLessThanOrEqualTo(Excerpt.MAX_CHARS + 8);
        assertThat(e).contains("... [line 4] Cookie : <redacted>");
    }

    @Test
    void everyQueryValueIsRedacted() {
        assertThat(Excerpt.of(crlf("GET /p?a=1&token=abc&flag&=x HTTP/1.1||"), "missing-host"))
                .isEqualTo("GET /p?a=<redacted>&token=<redacted>&<redacted>&=<redacted> HTTP/1.1");
    }

    @Test
    void aFoldedContinuationOfASecretIsRedacted() {
        assertThat(Excerpt.of(crlf("GET / HTTP/1.1|Host: a|Proxy-Authorization: Basic|\tc2VjcmV0||"), "obs-fold"))
                .isEqualTo("GET / HTTP/1.1 ... [line 4] \\t<redacted>");
    }

    @Test
    void theBufferIsOnlyRead() {
        ByteBuf buf = Unpooled.copiedBuffer(crlf("GET / HTTP/1.1|Host: a|Host: b||"), StandardCharsets.ISO_8859_1);
        try {
            int reader = buf.readerIndex();
            assertThat(Excerpt.of(buf, "duplicate-host")).isEqualTo("GET / HTTP/1.1 ... [line 3] Host: b");
            assertThat(buf.readerIndex()).isEqualTo(reader);
        } finally {
            buf.release();
        }
    }

    @Test
    void ruleNamesComeFromTheErrorsRuleField() {
        ProxyError named = ProxyError.rejected(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM, "te-and-cl",
                "both framings");
        assertThat(SecurityEvents.ruleOf(named, "x")).isEqualTo("te-and-cl");
        ProxyError lookalike = ProxyError.explain(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM,
                "te-and-cl: a context that only reads like a rule");
        assertThat(SecurityEvents.ruleOf(lookalike, "x")).as("the text is never parsed").isEqualTo("x");
    }
}

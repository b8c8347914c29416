package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.ResponseHeader;
import dev.merapi.http.Tokens;
import dev.merapi.http.fuzz.Feed.Head;
import dev.merapi.http.fuzz.Feed.Outcome;
import dev.merapi.http.fuzz.Feed.Parsed;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Fuzzes {@link Http1Parser#parseResponse} (with {@link Http1Parser#findHeadEnd}) with raw bytes, as the answer to a
 * GET and to a HEAD. Properties: only upstream {@code INVALID_HTTP_HEADER} errors; split-invariance; limits; the
 * body framing of RFC 9112 §6.3 recomputed independently from the fields; and re-encoding parses back to the same.
 */
class Http1ResponseFuzzTest {
    private static final Http1Limits ROOMY = new Http1Limits(16 * 1024, 64 * 1024, 200, 4096, 4096);

    @FuzzTest(maxDuration = "10s")
    void parseResponse(byte[] wire) {
        for (String method : List.of("GET", "HEAD")) {
            Http1Limits limits = method.equals("GET") ? Http1Limits.DEFAULT : Feed.TINY;
            Outcome whole = Feed.response(wire, new int[0], limits, method);
            for (int[] cuts : Feed.cuttings(wire)) {
                Http1RequestFuzzTest.assertSameVerdict(whole, Feed.response(wire, cuts, limits, method));
            }
            if (whole instanceof Parsed parsed) {
                checkAccepted(wire, parsed, limits, method);
            }
        }
    }

    private static void checkAccepted(byte[] wire, Parsed parsed, Http1Limits limits, String method) {
        Head head = parsed.head();
        String text = new String(wire, 0, parsed.consumed(), StandardCharsets.ISO_8859_1);
        int lineEnd = text.indexOf("\r\n");
        String statusLine = text.substring(0, lineEnd);
        assertThat(lineEnd + 2).isLessThanOrEqualTo(limits.maxRequestLine());
        assertThat(statusLine).matches("HTTP/1\\.[01] [1-5][0-9][0-9]( [^\\x00-\\x08\\x0a-\\x1f\\x7f]*)?");
        int status = Integer.parseInt(statusLine.substring(9, 12));
        assertThat(head.version()).isEqualTo(statusLine.charAt(7) == '1' ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0);
        assertThat(head.startLine()).startsWith(status + " ");
        if (statusLine.length() > 12) {
            assertThat(head.startLine()).isEqualTo(status + " " + statusLine.substring(13));
        }

        String section = text.substring(lineEnd + 2, text.length() - 2);
        assertThat(section.length()).isLessThanOrEqualTo(limits.maxHeaderBytes());
        List<String> lines = section.isEmpty() ? List.of() : List.of(section.substring(0, section.length() - 2).split("\r\n", -1));
        List<String> fields = head.fields();
        assertThat(lines).hasSize(fields.size() / 2);
        assertThat(lines.size()).isLessThanOrEqualTo(limits.maxHeaderCount());
        List<String> lengths = new ArrayList<>();
        List<String> codings = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String name = fields.get(2 * i);
            String value = fields.get(2 * i + 1);
            assertThat(Tokens.isToken(name)).isTrue();
            assertThat(Tokens.isFieldValue(value)).isTrue();
            assertThat(lines.get(i)).startsWith(name + ':');
            switch (name.toLowerCase(Locale.ROOT)) {
                case "content-length" -> lengths.add(value);
                case "transfer-encoding" -> codings.add(value);
                default -> {
                }
            }
        }
        // RFC 9112 §6.3, in its order
        long expected;
        if (status < 200) {
            assertThat(lengths).isEmpty();
            assertThat(codings).isEmpty();
            expected = BodyLength.NONE;
        } else if (status == 204 || status == 304 || method.equals("HEAD")) {
            expected = BodyLength.NONE;
        } else if (!codings.isEmpty()) {
            assertThat(lengths).isEmpty();
            // the last non-empty list element (RFC 9110 section 5.6.1: empty elements are skipped)
            List<String> elements = Arrays.stream(String.join(",", codings).split(",", -1))
                    .map(String::strip).filter(c -> !c.isEmpty()).toList();
            String last = elements.isEmpty() ? "" : elements.getLast();
            expected = last.equalsIgnoreCase("chunked") ? BodyLength.CHUNKED : BodyLength.UNTIL_CLOSE;
        } else if (lengths.isEmpty()) {
            expected = BodyLength.UNTIL_CLOSE;
        } else {
            assertThat(lengths).hasSize(1);
            assertThat(lengths.getFirst()).matches("[0-9]{1,17}");
            expected = Long.parseLong(lengths.getFirst());
        }
        assertThat(head.bodyLength()).as("framing").isEqualTo(expected);
        roundTrip(head, status, method);
    }

    private static void roundTrip(Head head, int status, String method) {
        Headers headers = new Headers();
        for (int i = 0; i < head.fields().size(); i += 2) {
            headers.add(head.fields().get(i), head.fields().get(i + 1));
        }
        String reason = head.startLine().substring(4);
        ResponseHeader response = ResponseHeader.of(status, reason, head.version(), headers);
        byte[] bytes = Feed.drain(Http1Encoder.encodeResponse(UnpooledByteBufAllocator.DEFAULT, response, head.version()));
        assertThat(Feed.response(bytes, new int[0], ROOMY, method))
                .as("re-encoded %s", new String(bytes, StandardCharsets.ISO_8859_1))
                .isEqualTo(new Parsed(head, bytes.length));
    }
}

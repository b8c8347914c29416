package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.Tokens;
import dev.merapi.http.fuzz.Feed.Head;
import dev.merapi.http.fuzz.Feed.Outcome;
import dev.merapi.http.fuzz.Feed.Parsed;
import dev.merapi.http.fuzz.Feed.Rejected;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fuzzes {@link Http1Parser#findHeadEnd} + {@link Http1Parser#parseRequest} with raw bytes, under the default
 * limits and under tiny ones. Properties: only documented {@code ProxyError}s; the same verdict and the same head
 * however the bytes are split into reads; limits respected; every accepted head obeys the strict rules when checked
 * independently against the wire; an accepted head re-encoded by {@link Http1Encoder} parses back to itself; and
 * Netty's lenient decoder reads an accepted head the same way.
 */
class Http1RequestFuzzTest {
    private static final Http1Limits ROOMY = new Http1Limits(16 * 1024, 64 * 1024, 200, 4096, 4096);

    @FuzzTest(maxDuration = "10s")
    void parseRequest(byte[] wire) {
        for (Http1Limits limits : List.of(Http1Limits.DEFAULT, Feed.TINY)) {
            Outcome whole = Feed.request(wire, new int[0], limits, false);
            int k = 0;
            for (int[] cuts : Feed.cuttings(wire)) {
                Outcome split = Feed.request(wire, cuts, limits, (k++ & 1) == 1);
                assertSameVerdict(whole, split);
            }
            if (whole instanceof Parsed parsed) {
                checkAccepted(wire, parsed, limits);
                if (limits == Http1Limits.DEFAULT) {
                    nettyReadsTheSame(wire, parsed);
                }
            }
        }
    }

    /**
     * The verdict may not depend on how the bytes were split. The one allowed difference: a split delivery may hit a
     * size limit (414, 431) before the byte that breaks another rule has arrived.
     */
    static void assertSameVerdict(Outcome whole, Outcome split) {
        if (whole instanceof Rejected w && split instanceof Rejected s && w.status() != s.status()) {
            assertThat(s.status()).as("split %s vs whole %s", s, w).isIn(414, 431);
            return;
        }
        if (whole instanceof Rejected w && split instanceof Rejected s) {
            assertThat(s.status()).isEqualTo(w.status());
            return;
        }
        assertThat(split).as("verdict of a split delivery").isEqualTo(whole);
    }

    private static void checkAccepted(byte[] wire, Parsed parsed, Http1Limits limits) {
        Head head = parsed.head();
        String text = new String(wire, 0, parsed.consumed(), StandardCharsets.ISO_8859_1);
        int skipped = 0;
        while (text.startsWith("\r\n", skipped)) {
            skipped += 2;
        }
        assertThat(skipped).as("leading empty lines").isLessThanOrEqualTo(16);
        int lineEnd = text.indexOf("\r\n", skipped);
        String requestLine = text.substring(skipped, lineEnd);
        assertThat(requestLine.length() + 2).as("request line with CRLF").isLessThanOrEqualTo(limits.maxRequestLine());
        assertThat(requestLine).isEqualTo(head.startLine() + ' ' + head.version().text());
        assertThat(head.version()).isIn(HttpVersion.HTTP_1_0, HttpVersion.HTTP_1_1);
        assertThat(text).endsWith("\r\n\r\n");

        String[] startLine = head.startLine().split(" ", -1);
        assertThat(startLine).hasSize(2);
        assertThat(Tokens.isToken(startLine[0])).as("method is a token").isTrue();
        assertThat(startLine[1]).isNotEmpty();
        startLine[1].chars().forEach(c -> assertThat(Tokens.isTargetChar(c)).as("target char %d", c).isTrue());

        // the header section, as lines, independently of the parser
        String section = text.substring(lineEnd + 2, text.length() - 2);
        assertThat(section.length()).as("header section bytes").isLessThanOrEqualTo(limits.maxHeaderBytes());
        List<String> lines = section.isEmpty() ? List.of() : List.of(section.substring(0, section.length() - 2).split("\r\n", -1));
        List<String> fields = head.fields();
        assertThat(lines).as("one field per line").hasSize(fields.size() / 2);
        assertThat(lines.size()).isLessThanOrEqualTo(limits.maxHeaderCount());
        List<String> hosts = new ArrayList<>();
        List<String> lengths = new ArrayList<>();
        List<String> codings = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String name = fields.get(2 * i);
            String value = fields.get(2 * i + 1);
            assertThat(line).doesNotContain("\r", "\n");
            assertThat(Tokens.isToken(name)).as("name %s", name).isTrue();
            assertThat(Tokens.isFieldValue(value)).as("value %s", value).isTrue();
            assertThat(line).startsWith(name + ':');
            assertThat(stripOws(line.substring(name.length() + 1))).isEqualTo(value);
            switch (name.toLowerCase(Locale.ROOT)) {
                case "host" -> hosts.add(value);
                case "content-length" -> lengths.add(value);
                case "transfer-encoding" -> codings.add(value);
                default -> {
                }
            }
        }
        // Host
        assertThat(hosts.size()).as("Host fields").isLessThanOrEqualTo(1);
        if (head.version() == HttpVersion.HTTP_1_1) {
            assertThat(hosts).as("HTTP/1.1 has a Host").hasSize(1);
        }
        hosts.forEach(h -> assertThat(Http1Parser.validHost(h)).isTrue());
        // framing (RFC 9112 §6.1-6.3)
        if (!codings.isEmpty()) {
            assertThat(head.version()).isEqualTo(HttpVersion.HTTP_1_1);
            assertThat(lengths).as("Content-Length with Transfer-Encoding").isEmpty();
            List<String> all = new ArrayList<>();
            codings.forEach(c -> Tokens.forEachListElement(c, all::add));
            assertThat(all).as("codings").hasSize(1);
            assertThat(all.getFirst()).isEqualToIgnoringCase("chunked");
            assertThat(head.bodyLength()).isEqualTo(BodyLength.CHUNKED);
        } else if (lengths.isEmpty()) {
            assertThat(head.bodyLength()).isEqualTo(BodyLength.NONE);
        } else {
            assertThat(lengths).hasSize(1);
            assertThat(lengths.getFirst()).matches("[0-9]{1,17}");
            assertThat(head.bodyLength()).isEqualTo(Long.parseLong(lengths.getFirst()));
        }
        roundTrip(head);
    }

    /**
     * Netty's decoder is lenient where Merapi is strict (DESIGN.md §8), so a head Merapi accepts must decode in Netty
     * too, as the same method, target, version and fields in the same order: otherwise the two disagree about what the
     * bytes mean, which is how smuggling starts.
     */
    private static void nettyReadsTheSame(byte[] wire, Parsed parsed) {
        EmbeddedChannel channel = new EmbeddedChannel(new HttpRequestDecoder(new HttpDecoderConfig()
                .setMaxInitialLineLength(64 * 1024).setMaxHeaderSize(64 * 1024).setStrictLineParsing(true)));
        try {
            channel.writeInbound(Unpooled.wrappedBuffer(wire, 0, parsed.consumed()));
            HttpRequest request = channel.readInbound();
            assertThat(request).as("Netty decoded a request").isNotNull();
            assertThat(request.decoderResult().cause()).as("Netty's verdict").isNull();
            Head head = parsed.head();
            assertThat(request.method().name() + ' ' + request.uri()).isEqualTo(head.startLine());
            assertThat(request.protocolVersion().text()).isEqualTo(head.version().text());
            List<String> fields = new ArrayList<>();
            request.headers().forEach(e -> {
                fields.add(e.getKey());
                fields.add(e.getValue());
            });
            assertThat(fields).isEqualTo(head.fields());
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    /** Encodes the head again and parses the result: it must come back the same, spoken as HTTP/1.1. */
    private static void roundTrip(Head head) {
        String[] startLine = head.startLine().split(" ", 2);
        dev.merapi.http.Headers headers = new dev.merapi.http.Headers();
        for (int i = 0; i < head.fields().size(); i += 2) {
            headers.add(head.fields().get(i), head.fields().get(i + 1));
        }
        RequestHeader request = RequestHeader.of(startLine[0], startLine[1], head.version(), headers);
        byte[] bytes = Feed.drain(Http1Encoder.encodeRequest(UnpooledByteBufAllocator.DEFAULT, request));
        Outcome again = Feed.request(bytes, new int[0], ROOMY, false);
        if (head.version() == HttpVersion.HTTP_1_0 && !headers.contains("Host")) {
            // the encoder speaks HTTP/1.1, which needs a Host: callers add one (the proxy does)
            assertThat(again).isEqualTo(new Rejected(400, "missing-host"));
            return;
        }
        Head expected = new Head(head.startLine(), HttpVersion.HTTP_1_1, head.fields(), head.bodyLength());
        assertThat(again).as("re-encoded %s", new String(bytes, StandardCharsets.ISO_8859_1))
                .isEqualTo(new Parsed(expected, bytes.length));
    }

    private static String stripOws(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
            to--;
        }
        return s.substring(from, to);
    }
}

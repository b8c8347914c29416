package dev.merapi.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.Tokens;
import dev.merapi.http.fuzz.Feed.Outcome;
import dev.merapi.http.fuzz.Feed.Parsed;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fuzzes request-target parsing: the four forms of RFC 9112 §3.2, absolute-form against Host, {@link
 * RequestHeader#path()} and {@link RequestHeader#query()}, the origin-form the proxy sends upstream for an
 * absolute-form target (path + query, as {@code ProxyCall} builds it), and {@link Http1Parser#validHost}.
 */
class RequestTargetFuzzTest {
    private static final Pattern HOST = Pattern.compile("(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9\\-._~%!$&'()*+,;=]*)(?::[0-9]{0,5})?");
    private static final Pattern CONNECT_TARGET = Pattern.compile("(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9\\-._~%!$&'()*+,;=]+):[0-9]{1,5}");
    private static final Pattern ABSOLUTE = Pattern.compile("(?i)(https?)://([^/?#]*)(.*)", Pattern.DOTALL);

    /** The input is {@code method SP target [LF host]}; it becomes an HTTP/1.1 request with that Host, if any. */
    @FuzzTest(maxDuration = "10s")
    void requestTarget(byte[] data) {
        String text = new String(data, StandardCharsets.ISO_8859_1);
        int lf = text.indexOf('\n');
        String line = lf < 0 ? text : text.substring(0, lf);
        String host = lf < 0 ? null : text.substring(lf + 1);
        String wire = line + " HTTP/1.1\r\n" + (host == null ? "" : "Host: " + host + "\r\n") + "\r\n";
        Outcome outcome = Feed.request(wire.getBytes(StandardCharsets.ISO_8859_1), new int[0], Http1Limits.DEFAULT, false);
        if (!(outcome instanceof Parsed parsed)) {
            return;
        }
        int sp = parsed.head().startLine().indexOf(' ');
        String method = parsed.head().startLine().substring(0, sp);
        String target = parsed.head().startLine().substring(sp + 1);
        assertThat(line).isEqualTo(method + ' ' + target);
        assertThat(host).isNotNull();
        // the Host the parser saw: the input after LF may hold further fields (CRLF and all)
        host = parsed.head().fields().get(parsed.head().fields().indexOf("Host") + 1);
        Headers headers = new Headers();
        headers.add("Host", host);
        RequestHeader request = RequestHeader.of(method, target, HttpVersion.HTTP_1_1, headers);
        assertThatCode(() -> request.copy().setTarget(target)).doesNotThrowAnyException();

        Matcher absolute = ABSOLUTE.matcher(target);
        if (method.equals("CONNECT")) {
            // authority-form only: host and port
            assertThat(target).as("CONNECT target").matches(CONNECT_TARGET);
        } else if (target.startsWith("/")) {
            String path = request.path();
            String query = request.query().orElse(null);
            assertThat(path).startsWith("/").doesNotContain("?");
            assertThat(query == null ? path : path + '?' + query).isEqualTo(target);
        } else if (target.equals("*")) {
            assertThat(method).isEqualTo("OPTIONS");
        } else {
            assertThat(absolute.matches()).as("absolute-form %s", target).isTrue();
            String authority = absolute.group(2);
            String rest = absolute.group(3);
            assertThat(authority).isNotEmpty().doesNotContain("@");
            assertThat(HOST.matcher(authority).matches()).isTrue();
            String port = absolute.group(1).equalsIgnoreCase("https") ? ":443" : ":80";
            assertThat(withoutPort(authority, port)).as("authority agrees with Host").isEqualToIgnoringCase(withoutPort(host, port));
            // what the proxy sends upstream: the path and query of the same target, in origin-form
            String query = request.query().orElse(null);
            String origin = query == null ? request.path() : request.path() + '?' + query;
            String expected = rest.isEmpty() ? "/" : rest.startsWith("?") ? "/" + rest : rest;
            assertThat(origin).as("origin-form of %s", target).isEqualTo(expected);
            assertThatCode(() -> request.copy().setTarget(origin)).doesNotThrowAnyException();
            Outcome again = Feed.request(("GET " + origin + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1),
                    new int[0], Http1Limits.DEFAULT, false);
            assertThat(again).isInstanceOf(Parsed.class);
        }
    }

    /** {@link Http1Parser#validHost} against {@code uri-host [":" port]} written as a regular expression. */
    @FuzzTest(maxDuration = "10s")
    void validHost(byte[] data) {
        String host = new String(data, StandardCharsets.ISO_8859_1);
        assertThat(Http1Parser.validHost(host)).as("validHost(%s)", host).isEqualTo(HOST.matcher(host).matches());
        if (Http1Parser.validHost(host)) {
            host.chars().forEach(c -> assertThat(Tokens.isFieldValueChar(c) && c != ' ' && c != '\t').isTrue());
            assertThat(host.toLowerCase(Locale.ROOT)).doesNotContain("/", "?", "#", "@", " ");
        }
    }

    private static String withoutPort(String authority, String defaultPort) {
        return authority.endsWith(defaultPort) && authority.lastIndexOf(':') > authority.lastIndexOf(']')
                ? authority.substring(0, authority.length() - defaultPort.length())
                : authority;
    }
}

package dev.merapi.proxy;

import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a proxy owes the hops of a request: the {@code Via} header (RFC 9110 §7.6.3) with loop detection, and
 * {@code Max-Forwards} for TRACE and OPTIONS (RFC 9110 §7.6.2). Stateless; called on the request's event loop.
 */
final class Hops {
    static final String VIA = "Via";
    static final String MAX_FORWARDS = "Max-Forwards";
    /** What the proxy itself answers an {@code OPTIONS} with {@code Max-Forwards: 0}. */
    static final String ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
    /** Fields a TRACE answered here does not echo: they may carry credentials (RFC 9110 §9.3.8). */
    private static final Set<String> NOT_ECHOED = Set.of("authorization", "proxy-authorization", "cookie", "set-cookie");

    private Hops() {
    }

    /**
     * Whether a {@code Via} of {@code request} names {@code pseudonym} as a proxy it passed: then it is coming round
     * again. Each Via element is {@code received-protocol RWS received-by [RWS comment]}; received-by is compared
     * without regard to case.
     */
    static boolean passedThrough(RequestHeader request, String pseudonym) {
        Headers h = request.headers();
        for (int i = h.indexOf(VIA, 0); i >= 0; i = h.indexOf(VIA, i + 1)) {
            for (String element : withoutComments(h.value(i)).split(",")) {
                String[] parts = element.trim().split("[ \t]+");
                if (parts.length >= 2 && parts[1].equalsIgnoreCase(pseudonym)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String withoutComments(String value) {
        if (value.indexOf('(') < 0) {
            return value;
        }
        StringBuilder sb = new StringBuilder(value.length());
        int depth = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')' && depth > 0) {
                depth--;
            } else if (depth == 0) {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Adds this proxy's element to a request or response received with {@code version}. */
    static void addVia(Headers headers, HttpVersion version, String pseudonym) {
        headers.add(VIA, protocol(version) + ' ' + pseudonym);
    }

    static void addVia(ResponseHeader response, String pseudonym) {
        addVia(response.headers(), response.version(), pseudonym);
    }

    private static String protocol(HttpVersion version) {
        return switch (version) {
            case HTTP_1_0 -> "1.0";
            case HTTP_1_1 -> "1.1";
            case HTTP_2 -> "2";
        };
    }

    /** Whether Max-Forwards applies to {@code method}: only TRACE and OPTIONS (RFC 9110 §7.6.2). */
    static boolean hasMaxForwards(String method) {
        return "TRACE".equals(method) || "OPTIONS".equals(method);
    }

    /**
     * The request's Max-Forwards, for TRACE and OPTIONS.
     *
     * @return the value; -1 if the request has none or its method ignores it; -2 if it is not one decimal number
     */
    static long maxForwards(RequestHeader request) {
        if (!hasMaxForwards(request.method())) {
            return -1;
        }
        List<String> values = request.headers().getAll(MAX_FORWARDS);
        if (values.isEmpty()) {
            return -1;
        }
        String v = values.size() == 1 ? values.getFirst().trim() : "";
        if (v.isEmpty() || v.length() > 18) {
            return -2;
        }
        for (int i = 0; i < v.length(); i++) {
            if (v.charAt(i) < '0' || v.charAt(i) > '9') {
                return -2;
            }
        }
        return Long.parseLong(v);
    }

    /** Lowers Max-Forwards by one on the copy that goes upstream, when {@code received} is more than 0. */
    static void forwardMaxForwards(RequestHeader upstream, long received) {
        if (received > 0) {
            upstream.headers().set(MAX_FORWARDS, Long.toString(received - 1));
        }
    }

    /** Answers a TRACE or OPTIONS that may go no further: this proxy is its final recipient. */
    static void answerAsFinalRecipient(Session session) {
        RequestHeader request = session.requestHeader();
        if ("OPTIONS".equals(request.method())) {
            ResponseHeader h = ResponseHeader.of(200);
            h.headers().add("Allow", ALLOW);
            session.respond(h, new byte[0]);
            return;
        }
        // TRACE: the request as received, without fields that may carry credentials
        StringBuilder echo = new StringBuilder(256).append(request.method()).append(' ').append(request.target())
                .append(' ').append(request.version().text()).append("\r\n");
        request.headers().forEach((name, value) -> {
            if (!NOT_ECHOED.contains(name.toLowerCase(Locale.ROOT))) {
                echo.append(name).append(": ").append(value).append("\r\n");
            }
        });
        echo.append("\r\n");
        ResponseHeader h = ResponseHeader.of(200);
        h.headers().add(HeaderNames.CONTENT_TYPE, "message/http");
        h.headers().add("Cache-Control", "no-store");
        session.respond(h, echo.toString().getBytes(StandardCharsets.ISO_8859_1));
    }
}

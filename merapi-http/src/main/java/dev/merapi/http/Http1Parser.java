package dev.merapi.http;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * A strict HTTP/1.1 head parser (RFC 9112). It finds where a head ends without copying, then parses it
 * in one pass into a {@link RequestHeader} or {@link ResponseHeader}, and decides the body framing.
 *
 * <p>Requests that break a rule fail with a {@link ProxyError} whose type is {@link ErrorType.HttpStatus}
 * (400, 414, 431, 501 or 505) and whose context starts with the rule's name; the caller answers with
 * that status and closes the connection. Responses that break a rule fail as upstream
 * {@link ErrorType.Kind#INVALID_HTTP_HEADER} errors.
 *
 * <p>The rules: CRLF line endings only (a bare CR or LF fails); no obs-fold; no whitespace between a
 * field name and its colon; names are tokens; values hold no CTL or NUL; one valid Content-Length at
 * most, digits only; Transfer-Encoding never with Content-Length, never on HTTP/1.0, with chunked as its
 * only and final coding (empty list elements, as in {@code chunked,}, are skipped on requests and responses alike);
 * exactly one valid Host on HTTP/1.1; an absolute-form target must agree with
 * Host; methods are tokens; versions are HTTP/1.0 or HTTP/1.1.
 *
 * <p>Stateless apart from the {@link HeadScan} the caller keeps per connection; safe to use from any thread.
 */
public final class Http1Parser {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final long MAX_CONTENT_LENGTH = 1L << 56;

    private Http1Parser() {
    }

    /**
     * Where the scan for the end of a head got to; reuse one per connection and {@link #reset()} after each head.
     * Positions are relative to the reader index, so the buffer may be replaced (cumulated) between calls.
     */
    public static final class HeadScan {
        int scanned;
        int lineStart;
        int firstLineEnd = -1;
        int lines;
        int skippedEmptyLines;

        /** Forgets the progress, before the next head. */
        public void reset() {
            scanned = 0;
            lineStart = 0;
            firstLineEnd = -1;
            lines = 0;
            skippedEmptyLines = 0;
        }
    }

    /**
     * Looks for the end of a head that starts at {@code buf.readerIndex()}, resuming from where the
     * last call stopped. Leading empty lines (CRLF) before a request line are consumed.
     *
     * @return the index just past the empty line that ends the head, or -1 if more bytes are needed
     * @throws ProxyError if a limit is exceeded or a bare LF is found
     */
    public static int findHeadEnd(ByteBuf buf, HeadScan scan, Http1Limits limits, boolean request) {
        if (request && scan.firstLineEnd < 0) {
            // RFC 9112 §2.2: ignore empty lines received before the request-line (at most 8 per head, however split)
            while (scan.skippedEmptyLines < 8 && buf.readableBytes() >= 2 && buf.getByte(buf.readerIndex()) == CR
                    && buf.getByte(buf.readerIndex() + 1) == LF) {
                buf.skipBytes(2);
                scan.skippedEmptyLines++;
                scan.scanned = 0; // at most the lone CR was scanned before
            }
        }
        int start = buf.readerIndex();
        int from = start + scan.scanned;
        int lineStart = start + scan.lineStart;
        int end = buf.writerIndex();
        while (from < end) {
            int lf = buf.indexOf(from, end, LF);
            if (lf < 0) {
                from = end;
                break;
            }
            if (lf == start || buf.getByte(lf - 1) != CR) {
                throw fail(request, 400, "bare-lf", "a line ends in LF without CR");
            }
            if (scan.firstLineEnd < 0) {
                scan.firstLineEnd = lf - start;
                if (lf + 1 - start > limits.maxRequestLine()) {
                    throw fail(request, 414, "request-line-too-long", "request line exceeds " + limits.maxRequestLine() + " bytes");
                }
            } else if (lf - 1 == lineStart) {
                // the empty line: a CRLF that starts a line, not one that merely follows the previous scan
                scan.scanned = lf + 1 - start;
                scan.lineStart = scan.scanned;
                return lf + 1;
            } else {
                if (++scan.lines > limits.maxHeaderCount()) {
                    throw fail(request, 431, "too-many-headers", "more than " + limits.maxHeaderCount() + " header fields");
                }
                if (lf - start - scan.firstLineEnd > limits.maxHeaderBytes()) {
                    throw fail(request, 431, "header-section-too-large", "header section exceeds " + limits.maxHeaderBytes() + " bytes");
                }
            }
            from = lf + 1;
            lineStart = from;
        }
        scan.scanned = from - start;
        scan.lineStart = lineStart - start;
        if (scan.firstLineEnd < 0) {
            if (scan.scanned > limits.maxRequestLine()) {
                throw fail(request, 414, "request-line-too-long", "request line exceeds " + limits.maxRequestLine() + " bytes");
            }
        } else {
            // the header bytes so far, less a lone CR that may yet start the empty line (which is not counted)
            int pending = end - start - scan.firstLineEnd - 1;
            if (end - lineStart == 1 && buf.getByte(lineStart) == CR) {
                pending--;
            }
            if (pending > limits.maxHeaderBytes()) {
                throw fail(request, 431, "header-section-too-large", "header section exceeds " + limits.maxHeaderBytes() + " bytes");
            }
        }
        return -1;
    }

    /**
     * Parses a complete request head between {@code buf.readerIndex()} and {@code end} (as returned by
     * {@link #findHeadEnd}) and consumes it. Sets {@link RequestHeader#bodyLength()}.
     *
     * @throws ProxyError with an {@link ErrorType.HttpStatus} type if the request breaks a rule
     */
    public static RequestHeader parseRequest(ByteBuf buf, int end, Http1Limits limits) {
        int start = buf.readerIndex();
        int lineEnd = buf.indexOf(start, end, LF) - 1; // the CR
        // method
        int sp1 = buf.indexOf(start, lineEnd, (byte) ' ');
        if (sp1 <= start) {
            throw fail(true, 400, "invalid-request-line", sp1 == start ? "request line starts with a space" : "no space in request line");
        }
        for (int i = start; i < sp1; i++) {
            if (!Tokens.isTchar(buf.getByte(i))) {
                throw fail(true, 400, "invalid-method", "method holds a character that is not a token character");
            }
        }
        String method = method(buf, start, sp1 - start);
        // target
        int tStart = sp1 + 1;
        int sp2 = buf.indexOf(tStart, lineEnd, (byte) ' ');
        if (sp2 < 0) {
            throw fail(true, 400, "invalid-request-line", "request line has no version");
        }
        if (sp2 == tStart) {
            throw fail(true, 400, "invalid-request-line", "empty request target or double space");
        }
        for (int i = tStart; i < sp2; i++) {
            if (!Tokens.isTargetChar(buf.getByte(i))) {
                throw fail(true, 400, "invalid-target", "request target holds an invalid character");
            }
        }
        String target = buf.toString(tStart, sp2 - tStart, StandardCharsets.ISO_8859_1);
        HttpVersion version = version(buf, sp2 + 1, lineEnd, true);

        Headers headers = new Headers(16);
        int hosts = 0;
        String host = null;
        int contentLengths = 0;
        long contentLength = -1;
        String transferEncoding = null;
        int pos = lineEnd + 2;
        while (true) {
            int lf = buf.indexOf(pos, end, LF);
            int cr = lf - 1;
            if (cr == pos) {
                break; // the empty line
            }
            int nameEnd = headerLine(buf, pos, cr, true);
            String name = KnownNames.name(buf, pos, nameEnd - pos);
            String value = value(buf, nameEnd + 1, cr);
            headers.addParsed(name, value);
            switch (nameEnd - pos) {
                case 4 -> {
                    if (name.equalsIgnoreCase(HeaderNames.HOST)) {
                        hosts++;
                        host = value;
                    }
                }
                case 14 -> {
                    if (name.equalsIgnoreCase(HeaderNames.CONTENT_LENGTH)) {
                        contentLengths++;
                        contentLength = contentLength(value, true);
                    }
                }
                case 17 -> {
                    if (name.equalsIgnoreCase(HeaderNames.TRANSFER_ENCODING)) {
                        transferEncoding = transferEncoding == null ? value : transferEncoding + ", " + value;
                    }
                }
                default -> {
                }
            }
            pos = lf + 1;
        }
        buf.readerIndex(end);

        if (hosts > 1) {
            throw fail(true, 400, "duplicate-host", "more than one Host header");
        }
        if (hosts == 0 && version == HttpVersion.HTTP_1_1) {
            throw fail(true, 400, "missing-host", "HTTP/1.1 request without Host");
        }
        if (host != null && !validHost(host)) {
            throw fail(true, 400, "invalid-host", "Host is not a valid authority");
        }
        checkTargetForm(method, target, host);

        long bodyLength = BodyLength.NONE;
        if (transferEncoding != null) {
            if (version == HttpVersion.HTTP_1_0) {
                throw fail(true, 400, "te-on-http10", "Transfer-Encoding on an HTTP/1.0 request");
            }
            if (contentLengths > 0) {
                throw fail(true, 400, "te-and-cl", "Transfer-Encoding together with Content-Length");
            }
            checkChunkedFinal(transferEncoding, true);
            bodyLength = BodyLength.CHUNKED;
        } else if (contentLengths > 1) {
            throw fail(true, 400, "duplicate-content-length", "more than one Content-Length");
        } else if (contentLengths == 1) {
            bodyLength = contentLength; // zero too: the upstream must see the Content-Length the client sent
        }
        return RequestHeader.parsed(method, target, version, headers).setBodyLength(bodyLength);
    }

    /**
     * Parses a complete response head and consumes it. Sets {@link ResponseHeader#bodyLength()}
     * following RFC 9112 §6.3.
     *
     * @param requestMethod the method of the request this answers (a response to HEAD has no body)
     * @throws ProxyError an upstream {@link ErrorType.Kind#INVALID_HTTP_HEADER} error if the response breaks a rule
     */
    public static ResponseHeader parseResponse(ByteBuf buf, int end, @Nullable String requestMethod) {
        int start = buf.readerIndex();
        int lineEnd = buf.indexOf(start, end, LF) - 1;
        if (lineEnd - start < 12 || buf.getByte(start + 8) != ' ') {
            throw fail(false, 502, "invalid-status-line", "malformed status line");
        }
        HttpVersion version = version(buf, start, start + 8, false);
        int status = 0;
        for (int i = start + 9; i < start + 12; i++) {
            byte b = buf.getByte(i);
            if (b < '0' || b > '9') {
                throw fail(false, 502, "invalid-status-line", "status code is not three digits");
            }
            status = status * 10 + (b - '0');
        }
        if (status < 100 || status > 599) {
            throw fail(false, 502, "invalid-status-line", "status code out of range");
        }
        String reason = null;
        if (lineEnd > start + 12) {
            if (buf.getByte(start + 12) != ' ') {
                throw fail(false, 502, "invalid-status-line", "no space after the status code");
            }
            for (int i = start + 13; i < lineEnd; i++) {
                if (!Tokens.isFieldValueChar(buf.getByte(i))) {
                    throw fail(false, 502, "invalid-status-line", "reason phrase holds a control character");
                }
            }
            reason = buf.toString(start + 13, lineEnd - start - 13, StandardCharsets.ISO_8859_1);
        }
        Headers headers = new Headers(16);
        int contentLengths = 0;
        long contentLength = -1;
        boolean te = false;
        String transferEncoding = null;
        int pos = lineEnd + 2;
        while (true) {
            int lf = buf.indexOf(pos, end, LF);
            int cr = lf - 1;
            if (cr == pos) {
                break;
            }
            int nameEnd = headerLine(buf, pos, cr, false);
            String name = KnownNames.name(buf, pos, nameEnd - pos);
            String value = value(buf, nameEnd + 1, cr);
            headers.addParsed(name, value);
            if (nameEnd - pos == 14 && name.equalsIgnoreCase(HeaderNames.CONTENT_LENGTH)) {
                contentLengths++;
                contentLength = contentLength(value, false);
            } else if (nameEnd - pos == 17 && name.equalsIgnoreCase(HeaderNames.TRANSFER_ENCODING)) {
                te = true;
                transferEncoding = transferEncoding == null ? value : transferEncoding + ", " + value;
            }
            pos = lf + 1;
        }
        buf.readerIndex(end);

        long bodyLength;
        if (status < 200 || status == 204 || status == 304 || "HEAD".equals(requestMethod)) {
            bodyLength = BodyLength.NONE;
            if (status < 200 && (te || contentLengths > 0)) {
                throw fail(false, 502, "framing-on-1xx", "an interim response carries body framing");
            }
        } else if (transferEncoding != null) { // set exactly when te is
            if (contentLengths > 0) {
                throw fail(false, 502, "te-and-cl", "response has both Transfer-Encoding and Content-Length");
            }
            bodyLength = lastCodingIsChunked(transferEncoding) ? BodyLength.CHUNKED : BodyLength.UNTIL_CLOSE;
        } else if (contentLengths > 1) {
            throw fail(false, 502, "duplicate-content-length", "response has more than one Content-Length");
        } else if (contentLengths == 1) {
            bodyLength = contentLength;
        } else {
            bodyLength = BodyLength.UNTIL_CLOSE;
        }
        return ResponseHeader.parsed(status, reason, version, headers).setBodyLength(bodyLength);
    }

    /** Validates one field line of a head or trailer section and returns the index of its colon. */
    static int headerLine(ByteBuf buf, int pos, int cr, boolean request) {
        byte first = buf.getByte(pos);
        if (first == ' ' || first == '\t') {
            throw fail(request, 400, "obs-fold", "a header line starts with whitespace (obs-fold)");
        }
        int colon = -1;
        for (int i = pos; i < cr; i++) {
            byte b = buf.getByte(i);
            if (b == ':') {
                colon = i;
                break;
            }
            if (!Tokens.isTchar(b)) {
                if (b == ' ' || b == '\t') {
                    throw fail(request, 400, "space-before-colon", "whitespace between a header name and its colon");
                }
                throw fail(request, 400, "invalid-header-name", "a header name holds an invalid character");
            }
        }
        if (colon < 0) {
            throw fail(request, 400, "invalid-header-line", "a header line has no colon");
        }
        if (colon == pos) {
            throw fail(request, 400, "invalid-header-name", "empty header name");
        }
        for (int i = colon + 1; i < cr; i++) {
            if (!Tokens.isFieldValueChar(buf.getByte(i))) {
                throw fail(request, 400, "invalid-header-value", "a header value holds a control character");
            }
        }
        return colon;
    }

    static String value(ByteBuf buf, int from, int to) {
        while (from < to && isOws(buf.getByte(from))) {
            from++;
        }
        while (to > from && isOws(buf.getByte(to - 1))) {
            to--;
        }
        return from == to ? "" : buf.toString(from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static HttpVersion version(ByteBuf buf, int from, int to, boolean request) {
        if (to - from == 8 && buf.getByte(from) == 'H' && buf.getByte(from + 1) == 'T' && buf.getByte(from + 2) == 'T'
                && buf.getByte(from + 3) == 'P' && buf.getByte(from + 4) == '/' && buf.getByte(from + 6) == '.') {
            byte major = buf.getByte(from + 5);
            byte minor = buf.getByte(from + 7);
            if (major == '1' && minor == '1') {
                return HttpVersion.HTTP_1_1;
            }
            if (major == '1' && minor == '0') {
                return HttpVersion.HTTP_1_0;
            }
            if (major >= '0' && major <= '9' && minor >= '0' && minor <= '9') {
                throw fail(request, 505, "unsupported-version", "HTTP version not supported");
            }
        }
        throw fail(request, 400, "invalid-version", "malformed HTTP version");
    }

    private static String method(ByteBuf buf, int from, int len) {
        // the common methods cost no allocation
        switch (len) {
            case 3 -> {
                if (is(buf, from, "GET")) {
                    return "GET";
                }
                if (is(buf, from, "PUT")) {
                    return "PUT";
                }
            }
            case 4 -> {
                if (is(buf, from, "POST")) {
                    return "POST";
                }
                if (is(buf, from, "HEAD")) {
                    return "HEAD";
                }
            }
            case 5 -> {
                if (is(buf, from, "PATCH")) {
                    return "PATCH";
                }
            }
            case 6 -> {
                if (is(buf, from, "DELETE")) {
                    return "DELETE";
                }
            }
            case 7 -> {
                if (is(buf, from, "OPTIONS")) {
                    return "OPTIONS";
                }
                if (is(buf, from, "CONNECT")) {
                    return "CONNECT";
                }
            }
            default -> {
            }
        }
        return buf.toString(from, len, StandardCharsets.US_ASCII);
    }

    private static boolean is(ByteBuf buf, int from, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (buf.getByte(from + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static void checkTargetForm(String method, String target, @Nullable String host) {
        if ("CONNECT".equals(method)) {
            // host ":" port, both present (a colon inside an IPv6 literal is not the port's)
            int colon = target.lastIndexOf(':');
            if (!validHost(target) || colon <= 0 || colon < target.lastIndexOf(']') || target.endsWith(":")) {
                throw fail(true, 400, "invalid-target", "CONNECT needs an authority-form target");
            }
            return;
        }
        if (target.charAt(0) == '/') {
            return;
        }
        if (target.equals("*")) {
            if (!"OPTIONS".equals(method)) {
                throw fail(true, 400, "invalid-target", "asterisk-form is only for OPTIONS");
            }
            return;
        }
        int schemeEnd = target.indexOf("://");
        String scheme = schemeEnd > 0 ? target.substring(0, schemeEnd) : "";
        if (!scheme.equalsIgnoreCase("http") && !scheme.equalsIgnoreCase("https")) {
            throw fail(true, 400, "invalid-target", "request target is neither origin-form nor an http(s) absolute URI");
        }
        int authStart = schemeEnd + 3;
        int authEnd = authStart;
        while (authEnd < target.length() && "/?#".indexOf(target.charAt(authEnd)) < 0) {
            authEnd++;
        }
        String authority = target.substring(authStart, authEnd);
        if (authority.isEmpty() || authority.indexOf('@') >= 0 || !validHost(authority)) {
            throw fail(true, 400, "invalid-target", "absolute-form target has an invalid authority");
        }
        if (host == null || !sameAuthority(authority, host, scheme.equalsIgnoreCase("https") ? "443" : "80")) {
            throw fail(true, 400, "host-mismatch", "absolute-form target disagrees with Host");
        }
    }

    private static boolean sameAuthority(String a, String b, String defaultPort) {
        return stripPort(a, defaultPort).equalsIgnoreCase(stripPort(b, defaultPort));
    }

    private static String stripPort(String authority, String defaultPort) {
        int colon = authority.lastIndexOf(':');
        if (colon > authority.lastIndexOf(']') && authority.substring(colon + 1).equals(defaultPort)) {
            return authority.substring(0, colon);
        }
        return authority;
    }

    /** Whether {@code host} is a valid {@code uri-host [":" port]}: a reg-name, IPv4 or bracketed IPv6 literal. */
    public static boolean validHost(String host) {
        int n = host.length();
        if (n == 0) {
            return true; // an empty Host is allowed when the target has no authority (RFC 9112 §3.2)
        }
        int i = 0;
        if (host.charAt(0) == '[') {
            int close = host.indexOf(']');
            if (close <= 1) {
                return false; // no closing bracket, or an empty literal
            }
            for (int j = 1; j < close; j++) {
                char c = host.charAt(j);
                if (!(Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
                    return false;
                }
            }
            i = close + 1;
        } else {
            for (; i < n && host.charAt(i) != ':'; i++) {
                char c = host.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || "-._~%!$&'()*+,;=".indexOf(c) >= 0;
                if (!ok) {
                    return false;
                }
            }
        }
        if (i == n) {
            return true;
        }
        if (host.charAt(i) != ':' || n - i - 1 > 5) {
            return false;
        }
        for (int j = i + 1; j < n; j++) {
            char c = host.charAt(j);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static long contentLength(String value, boolean request) {
        int n = value.length();
        if (n == 0 || n > 17) {
            throw fail(request, 400, "invalid-content-length", "Content-Length is empty or too long");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                throw fail(request, 400, "invalid-content-length", "Content-Length is not a number");
            }
            v = v * 10 + (c - '0');
        }
        if (v > MAX_CONTENT_LENGTH) {
            throw fail(request, 400, "invalid-content-length", "Content-Length is too large");
        }
        return v;
    }

    private static void checkChunkedFinal(String te, boolean request) {
        String[] codings = te.split(",", -1);
        int count = 0;
        for (int i = 0; i < codings.length; i++) {
            String c = codings[i].strip();
            if (c.isEmpty()) {
                continue;
            }
            if (!Tokens.isToken(c)) {
                throw fail(request, 400, "invalid-transfer-encoding", "a transfer coding is not a token");
            }
            count++;
        }
        String last = null;
        for (int i = codings.length - 1; i >= 0 && last == null; i--) {
            String c = codings[i].strip();
            if (!c.isEmpty()) {
                last = c;
            }
        }
        if (count == 0 || !"chunked".equalsIgnoreCase(last)) {
            throw fail(request, 400, "te-not-chunked", "the final transfer coding is not chunked");
        }
        if (count > 1) {
            boolean chunkedTwice = false;
            int seen = 0;
            for (String c : codings) {
                if ("chunked".equalsIgnoreCase(c.strip()) && ++seen > 1) {
                    chunkedTwice = true;
                }
            }
            if (chunkedTwice) {
                throw fail(request, 400, "te-chunked-twice", "chunked applied more than once");
            }
            throw fail(request, 501, "te-unsupported", "transfer codings other than chunked are not implemented");
        }
    }

    /**
     * Whether the last coding of a response's Transfer-Encoding list is chunked. Empty list elements are skipped, as
     * {@link #checkChunkedFinal} does for requests (RFC 9110 section 5.6.1), so that {@code chunked,} frames a body
     * the same way on both sides.
     */
    static boolean lastCodingIsChunked(String te) {
        int end = te.length();
        while (true) {
            int comma = te.lastIndexOf(',', end - 1);
            String last = te.substring(comma + 1, end).strip();
            if (!last.isEmpty() || comma < 0) {
                return last.equalsIgnoreCase("chunked");
            }
            end = comma;
        }
    }

    private static boolean isOws(byte b) {
        return b == ' ' || b == '\t';
    }

    /** Makes the error for a broken rule: a status for requests, a 502-mapped upstream error for responses. */
    static ProxyError fail(boolean request, int status, String rule, String detail) {
        if (request) {
            return ProxyError.rejected(new ErrorType.HttpStatus(status), ErrorSource.DOWNSTREAM, rule, detail);
        }
        return ProxyError.rejected(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM, rule, detail);
    }

    /** The error a response's broken trailer line (a head error from {@link #fail}) becomes: a body error. */
    static ProxyError trailerError(ProxyError headError) {
        return ProxyError.explain(ErrorType.Kind.INVALID_HTTP_BODY, ErrorSource.UPSTREAM, headError.context());
    }

    /**
     * Makes the error for a broken rule of the body framing: a status for requests (the client gets it as for a head),
     * an upstream {@link ErrorType.Kind#INVALID_HTTP_BODY} error for responses, which maps to 502 as well.
     */
    static ProxyError failBody(boolean request, int status, String rule, String detail) {
        if (request) {
            return fail(true, status, rule, detail);
        }
        return ProxyError.explain(ErrorType.Kind.INVALID_HTTP_BODY, ErrorSource.UPSTREAM, rule + ": " + detail);
    }
}

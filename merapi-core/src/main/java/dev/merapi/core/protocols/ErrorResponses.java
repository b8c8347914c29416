package dev.merapi.core.protocols;

import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import dev.merapi.http.StatusText;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;

/**
 * The short generated pages Merapi answers errors with: the status and its reason, nothing internal.
 */
public final class ErrorResponses {
    private ErrorResponses() {
    }

    /** The body for {@code status}, such as {@code "502 Bad Gateway\n"}. */
    public static String body(int status) {
        return status + " " + StatusText.of(status) + "\n";
    }

    /** A response head for an error page of {@code status}, with Content-Type and Content-Length set. */
    public static ResponseHeader header(int status) {
        ResponseHeader h = ResponseHeader.of(status);
        h.headers().add(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        h.headers().add(HeaderNames.CONTENT_LENGTH, Integer.toString(body(status).length()));
        h.headers().add("Cache-Control", "no-store");
        return h;
    }

    /** The error page's body in a new buffer that the caller owns. */
    public static ByteBuf content(ByteBufAllocator alloc, int status) {
        String body = body(status);
        ByteBuf buf = alloc.buffer(body.length());
        ByteBufUtil.writeAscii(buf, body);
        return buf;
    }
}

package dev.merapi.proxy;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The gRPC-web protocol as the bridge of {@link ProxyOptions#grpcWeb()} speaks it: which requests are gRPC-web calls,
 * how their heads become gRPC heads and back, and the trailer frame that ends a gRPC-web response body.
 *
 * <p>A gRPC-web call is a POST whose {@code Content-Type} is {@code application/grpc-web} or
 * {@code application/grpc-web+FORMAT} (such as {@code +proto}). Its body is framed as gRPC's (a flag byte, a 4-byte
 * big-endian length, the message), so it passes through unchanged; only three things differ from gRPC: the content
 * type, the need for {@code TE: trailers}, and the response trailers, which gRPC-web carries at the end of the body as
 * a frame of their own (flag byte {@code 0x80}, the length, then {@code name: value\r\n} lines with lower-case names).
 * A trailers-only response (an error before any message) keeps {@code grpc-status} in its head, as gRPC-web allows.
 * The text form ({@code application/grpc-web-text}, base64) is not bridged: {@link #kind} reports it so the proxy can
 * refuse it with 415.
 *
 * <p>Stateless and thread-safe; the buffers it makes belong to the caller.
 */
public final class GrpcWeb {
    /** The binary gRPC-web content type. */
    public static final String CONTENT_TYPE = "application/grpc-web";

    /** The base64 gRPC-web content type, which is not bridged. */
    public static final String TEXT_CONTENT_TYPE = "application/grpc-web-text";

    /** The flag byte of the frame that carries the trailers at the end of a gRPC-web response body. */
    public static final int TRAILER_FLAG = 0x80;

    private static final String GRPC = "application/grpc";

    /** What a request is, as far as the bridge is concerned. */
    public enum Kind {
        /** Not a gRPC-web call: passed on as it came. */
        NONE,
        /** A binary gRPC-web call: bridged to gRPC. */
        BINARY,
        /** A base64 ({@code application/grpc-web-text}) call: refused with 415. */
        TEXT
    }

    private GrpcWeb() {
    }

    /** Whether {@code request} is a gRPC-web call, and of which form: a POST with a gRPC-web content type. */
    public static Kind kind(RequestHeader request) {
        if (!"POST".equals(request.method())) {
            return Kind.NONE;
        }
        String type = request.headers().get(HeaderNames.CONTENT_TYPE).orElse("").toLowerCase(Locale.ROOT);
        if (isType(type, TEXT_CONTENT_TYPE)) {
            return Kind.TEXT;
        }
        return isType(type, CONTENT_TYPE) ? Kind.BINARY : Kind.NONE;
    }

    /** Whether {@code type} (lower case) is {@code base}, or {@code base} with a {@code +FORMAT} or parameters. */
    private static boolean isType(String type, String base) {
        if (!type.startsWith(base)) {
            return false;
        }
        if (type.length() == base.length()) {
            return true;
        }
        char next = type.charAt(base.length());
        return next == '+' || next == ';' || next == ' ';
    }

    /**
     * Turns the head of a gRPC-web call that goes upstream into a gRPC head: {@code application/grpc-web[+FORMAT]}
     * becomes {@code application/grpc[+FORMAT]}, and {@code TE: trailers} is set, which gRPC servers require.
     */
    public static void toGrpc(Headers headers) {
        String type = headers.get(HeaderNames.CONTENT_TYPE).orElse(CONTENT_TYPE);
        headers.set(HeaderNames.CONTENT_TYPE, GRPC + type.substring(Math.min(type.length(), CONTENT_TYPE.length())));
        headers.set(HeaderNames.TE, "trailers");
    }

    /**
     * Turns a gRPC response head into a gRPC-web one: {@code application/grpc[+FORMAT]} becomes
     * {@code application/grpc-web[+FORMAT]}, and the Content-Length goes, since the trailer frame adds to the body.
     * A head that is not gRPC (an error page from something on the way) keeps its type.
     */
    public static void toGrpcWeb(ResponseHeader response) {
        Headers headers = response.headers();
        String type = headers.get(HeaderNames.CONTENT_TYPE).orElse("");
        if (isType(type.toLowerCase(Locale.ROOT), GRPC)) {
            headers.set(HeaderNames.CONTENT_TYPE, CONTENT_TYPE + type.substring(GRPC.length()));
        }
        headers.remove(HeaderNames.CONTENT_LENGTH);
    }

    /**
     * The gRPC-web trailer frame for {@code trailers}: {@value #TRAILER_FLAG}, the length as 4 big-endian bytes, then
     * one {@code name: value\r\n} line per field, its name in lower case.
     *
     * @return a new buffer from {@code alloc}, which the caller owns
     */
    public static ByteBuf trailerFrame(Headers trailers, ByteBufAllocator alloc) {
        StringBuilder lines = new StringBuilder(64);
        for (int i = 0; i < trailers.size(); i++) {
            lines.append(trailers.name(i).toLowerCase(Locale.ROOT)).append(": ").append(trailers.value(i)).append("\r\n");
        }
        byte[] block = lines.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuf frame = alloc.buffer(5 + block.length);
        frame.writeByte(TRAILER_FLAG).writeInt(block.length).writeBytes(block);
        return frame;
    }

    /**
     * The peer a bridged call goes to: gRPC needs HTTP/2, so a peer left at {@link UpstreamProtocol#HTTP1} is spoken
     * to in HTTP/2 for this call (h2c with prior knowledge, or h2 by ALPN over TLS); any other peer as it is.
     */
    static HttpPeer overHttp2(HttpPeer peer) {
        if (peer.options().protocol() != UpstreamProtocol.HTTP1) {
            return peer;
        }
        return peer.withOptions(peer.options().toBuilder().protocol(UpstreamProtocol.HTTP2).build());
    }
}

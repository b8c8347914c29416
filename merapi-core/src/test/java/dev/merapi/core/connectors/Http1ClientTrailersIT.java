package dev.merapi.core.connectors;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.Transport;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/1.1 trailers on the upstream side, against a raw-socket origin: the request's trailers go in its last chunk,
 * a chunked response's trailers are parsed within the limits and handed out, and fields that must not be trailers
 * are dropped both ways.
 */
class Http1ClientTrailersIT {
    private MultiThreadIoEventLoopGroup group;
    private ServerSocket origin;
    private Connector connector;

    @BeforeEach
    void start() throws IOException {
        group = new MultiThreadIoEventLoopGroup(1, Transport.auto().ioHandlerFactory());
        origin = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        connector = new Connector(8, Http1Limits.DEFAULT, false, 0);
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
    }

    @Test
    void chunkedRequestCarriesTrailersInItsLastChunkAndResponseTrailersArrive() throws Exception {
        CompletableFuture<String> received = serveOnce(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "3\r\nabc\r\n0\r\nGrpc-Status: 0\r\nContent-Length: 99\r\nX-Checksum: 9a\r\n\r\n");
        Exchange ex = exchange(BodyLength.CHUNKED, session -> {
            session.writeBody(ascii("hello"), false);
            session.writeTrailers(new Headers().add("X-Digest", "sha-256=abc").add("Content-Length", "5"));
        });
        assertThat(received.get(10, TimeUnit.SECONDS))
                .endsWith("5\r\nhello\r\n0\r\nX-Digest: sha-256=abc\r\n\r\n");
        assertThat(ex.body).isEqualTo("abc");
        Headers trailers = ex.trailers.orElseThrow();
        assertThat(trailers.get("grpc-status")).contains("0");
        assertThat(trailers.get("x-checksum")).contains("9a");
        assertThat(trailers.contains("content-length")).isFalse();
    }

    @Test
    void lengthRequestEndsWithoutTrailersAndLengthResponseHasNone() throws Exception {
        CompletableFuture<String> received = serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Exchange ex = exchange(5, session -> {
            session.writeBody(ascii("hello"), false);
            session.writeTrailers(new Headers().add("X-Digest", "sha-256=abc"));
        });
        String request = received.get(10, TimeUnit.SECONDS);
        assertThat(request.toLowerCase(java.util.Locale.ROOT)).contains("content-length: 5\r\n");
        assertThat(request).endsWith("\r\n\r\nhello").doesNotContain("X-Digest");
        assertThat(ex.body).isEqualTo("ok");
        assertThat(ex.trailers).isEmpty();
    }

    @Test
    void responseTrailerSectionOverTheLimitFailsTheExchange() throws Exception {
        String big = "X-Big: " + "a".repeat(Http1Limits.DEFAULT.maxTrailerBytes()) + "\r\n";
        serveOnce("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" + big + "\r\n");
        Exchange ex = exchange(BodyLength.NONE, session -> { });
        assertThat(ex.error).isNotNull();
        assertThat(ex.error.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_BODY);
        assertThat(ex.trailers).isEmpty();
    }

    // ---- helpers

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    /** Reads one request (head and body up to the end its framing gives), answers {@code response}, and closes. */
    private CompletableFuture<String> serveOnce(String response) {
        CompletableFuture<String> received = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (Socket s = origin.accept()) {
                s.setSoTimeout(10_000);
                String request = readRequest(s.getInputStream());
                received.complete(request);
                OutputStream out = s.getOutputStream();
                out.write(response.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                s.shutdownOutput();
                s.getInputStream().readAllBytes();
            } catch (IOException e) {
                received.completeExceptionally(e);
            }
        });
        return received;
    }

    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            buf.write(b);
            String s = buf.toString(StandardCharsets.ISO_8859_1);
            int headEnd = s.indexOf("\r\n\r\n");
            if (headEnd < 0) {
                continue;
            }
            String head = s.substring(0, headEnd + 2).toLowerCase(java.util.Locale.ROOT);
            if (head.contains("transfer-encoding: chunked")) {
                if (s.length() > headEnd + 4 && s.substring(headEnd + 4).matches("(?s).*(^|\r\n)0\r\n(.*\r\n)?\r\n$")) {
                    break;
                }
            } else {
                int i = head.indexOf("content-length: ");
                int len = i < 0 ? 0 : Integer.parseInt(head.substring(i + 16, head.indexOf("\r\n", i)));
                if (s.length() >= headEnd + 4 + len) {
                    break;
                }
            }
        }
        return buf.toString(StandardCharsets.ISO_8859_1);
    }

    private interface Writer {
        void write(ClientSession session);
    }

    private static final class Exchange {
        String body = "";
        Optional<Headers> trailers = Optional.empty();
        ProxyError error;
    }

    /** Sends a POST with {@code bodyLength} framing through the connector, reads the whole response, releases. */
    private Exchange exchange(long bodyLength, Writer writer) throws Exception {
        EventLoop loop = group.next();
        HttpPeer peer = HttpPeer.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), origin.getLocalPort()), false, "");
        Exchange ex = new Exchange();
        CompletableFuture<Exchange> done = new CompletableFuture<>();
        StringBuilder body = new StringBuilder();
        loop.execute(() -> connector.connect(peer, loop).addListener(f -> {
            if (!f.isSuccess()) {
                done.completeExceptionally(f.cause());
                return;
            }
            ClientSession session = (ClientSession) f.getNow();
            session.setHandler(new ClientSession.Handler() {
                @Override
                public void onInformational(ResponseHeader header) {
                }

                @Override
                public void onResponseHeader(ResponseHeader header) {
                    session.readBody();
                }

                @Override
                public void onBody(ByteBuf data, boolean endOfStream) {
                    body.append(data.toString(StandardCharsets.ISO_8859_1));
                    data.release();
                    if (endOfStream) {
                        ex.body = body.toString();
                        ex.trailers = session.responseTrailers();
                        session.release();
                        done.complete(ex);
                    } else {
                        session.readBody();
                    }
                }

                @Override
                public void onWritable() {
                }

                @Override
                public void onError(ProxyError error) {
                    ex.error = error;
                    ex.trailers = session.responseTrailers();
                    session.release();
                    done.complete(ex);
                }
            });
            RequestHeader request = RequestHeader.of("POST", "/upload");
            request.headers().add("Host", "origin");
            request.setBodyLength(bodyLength);
            session.writeRequestHeader(request, bodyLength == BodyLength.NONE);
            writer.write(session);
        }));
        return done.get(20, TimeUnit.SECONDS);
    }
}

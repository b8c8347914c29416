package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import dev.merapi.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The gRPC-web rules of {@link GrpcWeb}, without sockets; {@code GrpcWebIT} runs them against grpc-java. */
class GrpcWebTest {

    private static RequestHeader post(String contentType) {
        Headers h = new Headers();
        h.add("Host", "example.com").add("Content-Type", contentType);
        return RequestHeader.of("POST", "/pkg.Service/Method", HttpVersion.HTTP_1_1, h);
    }

    @Test
    void onlyAPostWithAGrpcWebTypeIsAGrpcWebCall() {
        assertThat(GrpcWeb.kind(post("application/grpc-web"))).isEqualTo(GrpcWeb.Kind.BINARY);
        assertThat(GrpcWeb.kind(post("application/grpc-web+proto"))).isEqualTo(GrpcWeb.Kind.BINARY);
        assertThat(GrpcWeb.kind(post("Application/GRPC-Web; charset=utf-8"))).isEqualTo(GrpcWeb.Kind.BINARY);
        assertThat(GrpcWeb.kind(post("application/grpc-web-text+proto"))).isEqualTo(GrpcWeb.Kind.TEXT);
        assertThat(GrpcWeb.kind(post("application/grpc"))).isEqualTo(GrpcWeb.Kind.NONE);
        assertThat(GrpcWeb.kind(post("application/grpc-webby"))).isEqualTo(GrpcWeb.Kind.NONE);
        Headers h = new Headers();
        h.add("Host", "example.com").add("Content-Type", "application/grpc-web");
        assertThat(GrpcWeb.kind(RequestHeader.of("GET", "/", HttpVersion.HTTP_1_1, h))).isEqualTo(GrpcWeb.Kind.NONE);
    }

    @Test
    void upstreamHeadBecomesGrpcWithTeTrailers() {
        Headers h = new Headers();
        h.add("Content-Type", "application/grpc-web+proto").add("TE", "gzip");
        GrpcWeb.toGrpc(h);
        assertThat(h.get("content-type")).hasValue("application/grpc+proto");
        assertThat(h.getAll("te")).containsExactly("trailers");
    }

    @Test
    void grpcResponseHeadBecomesGrpcWebWithoutContentLength() {
        ResponseHeader r = ResponseHeader.of(200);
        r.headers().add("Content-Type", "application/grpc+proto").add("Content-Length", "12");
        GrpcWeb.toGrpcWeb(r);
        assertThat(r.header("content-type")).hasValue("application/grpc-web+proto");
        assertThat(r.header("content-length")).isEmpty();

        ResponseHeader page = ResponseHeader.of(502);
        page.headers().add("Content-Type", "text/html");
        GrpcWeb.toGrpcWeb(page);
        assertThat(page.header("content-type")).as("not gRPC: kept").hasValue("text/html");
    }

    @Test
    void trailerFrameIsFlag0x80LengthThenLowerCaseLines() {
        Headers trailers = new Headers();
        trailers.add("Grpc-Status", "5").add("grpc-message", "not found");
        ByteBuf frame = GrpcWeb.trailerFrame(trailers, UnpooledByteBufAllocator.DEFAULT);
        try {
            assertThat(frame.readUnsignedByte()).isEqualTo((short) 0x80);
            int length = frame.readInt();
            assertThat(length).isEqualTo(frame.readableBytes());
            assertThat(frame.toString(StandardCharsets.UTF_8)).isEqualTo("grpc-status: 5\r\ngrpc-message: not found\r\n");
        } finally {
            frame.release();
        }
    }

    @Test
    void bridgedCallSpeaksHttp2ToAPeerLeftAtHttp1() {
        HttpPeer h1 = HttpPeer.of("127.0.0.1:50051");
        assertThat(GrpcWeb.overHttp2(h1).options().protocol()).isEqualTo(UpstreamProtocol.HTTP2);
        HttpPeer preferred = h1.withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2_PREFERRED).build());
        assertThat(GrpcWeb.overHttp2(preferred)).isSameAs(preferred);
    }
}

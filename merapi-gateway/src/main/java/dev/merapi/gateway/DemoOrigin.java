package dev.merapi.gateway;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import dev.merapi.gateway.admin.WholeRequest;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

/**
 * The built-in origin of the embedded default: answers every request with a short text that says what
 * served it. It reads and drops any request body. It runs on Merapi's own server runtime.
 */
final class DemoOrigin implements HttpServerApp {
    private final String version;

    DemoOrigin(String version) {
        this.version = version;
    }

    @Override
    public void onRequest(ServerSession session) {
        WholeRequest.thenAnswer(session, this::respond);
    }

    private void respond(ServerSession session) {
        String body = "Hello from the Merapi demo origin.\n"
                + "Served by: merapi-demo-origin " + version + "\n"
                + "Request: " + session.request().method() + " " + session.request().target() + "\n";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ResponseHeader h = ResponseHeader.of(200);
        h.headers().add(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        h.headers().add(HeaderNames.CONTENT_LENGTH, Integer.toString(bytes.length));
        h.headers().add("X-Served-By", "merapi-demo-origin");
        session.writeResponseHeader(h, false);
        session.writeBody(Unpooled.wrappedBuffer(bytes), true);
    }
}

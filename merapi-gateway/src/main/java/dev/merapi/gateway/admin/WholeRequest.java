package dev.merapi.gateway.admin;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.error.ProxyError;
import io.netty.buffer.ByteBuf;
import java.util.function.Consumer;

/**
 * For small built-in endpoints that answer after the request is read: reads and drops any request body, then
 * calls the answer once; a broken request is aborted unanswered. Runs on the session's event loop.
 */
public final class WholeRequest {
    private WholeRequest() {
    }

    /** Reads {@code session}'s body to its end, releasing each piece, then calls {@code answer}. */
    public static void thenAnswer(ServerSession session, Consumer<ServerSession> answer) {
        session.setHandler(new ServerSession.Handler() {
            @Override
            public void onBody(ByteBuf data, boolean endOfStream) {
                data.release();
                if (endOfStream) {
                    answer.accept(session);
                } else {
                    session.readBody();
                }
            }

            @Override
            public void onWritable() {
            }

            @Override
            public void onError(ProxyError error) {
                if (session.isOpen() && !session.isResponseStarted()) {
                    session.abort();
                }
            }
        });
        session.readBody();
    }
}

package dev.merapi.testkit;

import java.io.EOFException;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import dev.merapi.testkit.RequestReader.BadRequest;
import dev.merapi.testkit.RequestReader.Framing;
import dev.merapi.testkit.RequestReader.Head;
import dev.merapi.testkit.ResponseWriter.Outcome;

/**
 * One accepted connection of a {@link MockOrigin}: a straight-line loop that reads a request, records it and
 * writes the scripted response, until one side closes.
 *
 * <p>{@link #run()} runs on the connection's own virtual thread. {@link #closeIfIdle()} and {@link #abort()} may
 * be called from any thread.
 */
final class OriginConnection implements Runnable {

    /** Where the connection is in its request/response cycle, as far as {@link #closeIfIdle()} cares. */
    enum State {
        /** Waiting for the first byte of the next request. */
        IDLE,
        /** Reading a request or writing a response. */
        ACTIVE,
        /** The last bytes of a response that keeps the connection reusable are being written. */
        FINISHING,
        /** Closed or closing. */
        CLOSED
    }

    private final MockOrigin origin;
    private final Link link;
    private final int index;
    private final RequestReader reader;
    private final ResponseWriter writer;
    private final AtomicReference<State> state = new AtomicReference<>(State.IDLE);
    private int requests;

    OriginConnection(MockOrigin origin, Link link, int index, int maxHeadSize, int maxRetainedBody) {
        this.origin = origin;
        this.link = link;
        this.index = index;
        this.reader = new RequestReader(link.input(), maxHeadSize, maxRetainedBody);
        this.writer = new ResponseWriter(link.output(), () -> moveTo(State.FINISHING));
    }

    /** Serves requests until the peer leaves, a response or fault ends the connection, or the origin closes. */
    @Override
    public void run() {
        try {
            serve();
        } catch (IOException | InterruptedException ended) {
            // The peer left, a read timed out, or the origin closed the link: each simply ends the connection.
        } finally {
            moveTo(State.CLOSED);
            link.close();
            origin.connectionEnded();
        }
    }

    /** The connection's state now; it may change as soon as this returns. */
    State state() {
        return state.get();
    }

    /**
     * Closes the connection if it is waiting for its next request.
     *
     * @return whether this call closed it
     */
    boolean closeIfIdle() {
        if (state.compareAndSet(State.IDLE, State.CLOSED)) {
            link.close();
            return true;
        }
        return false;
    }

    /** Closes the connection whatever it is doing, which unblocks its thread. */
    void abort() {
        state.set(State.CLOSED);
        link.close();
    }

    private void serve() throws IOException, InterruptedException {
        while (awaitRequest()) {
            Outcome outcome;
            try {
                outcome = exchange();
            } catch (EOFException e) {
                origin.recordUnserved(new UnservedRequest(index, requests + 1, 0, String.valueOf(e.getMessage())));
                throw e;
            } catch (BadRequest e) {
                origin.recordUnserved(new UnservedRequest(index, requests + 1, e.status(), String.valueOf(e.getMessage())));
                writer.writeRejection(e.status(), String.valueOf(e.getMessage()));
                link.closeGracefully();
                return;
            }
            switch (outcome) {
                case KEEP_ALIVE -> {
                    // Loop for the next request on this connection.
                }
                case CLOSE -> {
                    link.closeGracefully();
                    return;
                }
                case RESET -> {
                    link.reset();
                    return;
                }
                case STALL -> {
                    link.awaitClosed();
                    return;
                }
            }
        }
    }

    /** Marks the connection idle unless a request already started, then blocks for its first byte. */
    private boolean awaitRequest() throws IOException {
        if (reader.hasBuffered()) {
            return moveTo(State.ACTIVE);
        }
        if (!moveTo(State.IDLE) || !reader.awaitByte()) {
            return false;
        }
        boolean active = state.compareAndSet(State.IDLE, State.ACTIVE);
        origin.connectionChanged();
        return active;
    }

    private Outcome exchange() throws IOException, InterruptedException, BadRequest {
        Head head = reader.readHead();
        if (head == null) {
            return Outcome.CLOSE;
        }
        Framing framing = Framing.of(head);
        if (framing.hasBody() && head.version().equals("HTTP/1.1")
                && head.tokens("Expect").contains("100-continue")) {
            writer.writeContinue();
        }
        RequestReader.Body body = reader.readBody(framing);
        RecordedRequest request = new RecordedRequest(head.method(), head.target(), head.version(), head.headers(),
                body.trailers(), body.retained(), body.size(), body.crc32(), framing.chunked(), body.chunks(), head.raw(), index,
                ++requests);
        origin.record(request);
        MockResponse response = origin.responseFor(request);
        boolean keepAlive = !framing.closeAfterResponse() && wantsKeepAlive(head);
        return writer.write(response, head.method().equals("HEAD"), keepAlive);
    }

    /** HTTP/1.1 stays open unless told to close; HTTP/1.0 closes unless told to keep alive (RFC 9112 §9.3). */
    private static boolean wantsKeepAlive(Head head) {
        List<String> connection = head.tokens("Connection");
        if (connection.contains("close")) {
            return false;
        }
        return head.version().equals("HTTP/1.1") || connection.contains("keep-alive");
    }

    /**
     * Moves to {@code next} unless already closed, and wakes waiters in {@link MockOrigin}.
     *
     * @return {@code false} if the connection was closed
     */
    private boolean moveTo(State next) {
        State current;
        do {
            current = state.get();
            if (current == State.CLOSED) {
                return false;
            }
        } while (!state.compareAndSet(current, next));
        origin.connectionChanged();
        return true;
    }
}

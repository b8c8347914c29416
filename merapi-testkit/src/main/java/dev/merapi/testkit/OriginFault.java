package dev.merapi.testkit;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A way for {@link MockOrigin} to misbehave instead of answering normally, attached to a response with
 * {@link MockResponse.Builder#fault(OriginFault)}.
 *
 * <p>Faults that act on the response body use the body of the response they are attached to. "Reset" means
 * {@code SO_LINGER 0} followed by close, which makes the kernel send a TCP RST; on a Unix domain socket,
 * which has no reset, it is a plain close.
 */
public sealed interface OriginFault {

    /**
     * Accepts the connection, then closes it without reading anything.
     *
     * <p>Applies when this response is at the head of the queue as a connection is accepted; if it instead
     * reaches a connection that already read a request (for example from a dispatcher), it behaves like
     * {@link CloseAfterRequest}.
     */
    record CloseImmediately() implements OriginFault {}

    /** Reads the whole request, then closes the connection without writing any response. */
    record CloseAfterRequest() implements OriginFault {}

    /** Reads the whole request, then resets the connection without writing any response. */
    record ResetAfterRequest() implements OriginFault {}

    /** Writes the response head, then closes the connection before any body byte. */
    record CloseAfterHeaders() implements OriginFault {}

    /**
     * Writes the head and the first {@code afterBytes} bytes of the body as framed on the wire, then resets.
     *
     * @param afterBytes how many body bytes to send before the reset, at least 0
     */
    record ResetMidBody(long afterBytes) implements OriginFault {
        public ResetMidBody {
            requireNonNegative(afterBytes, "afterBytes");
        }
    }

    /** Reads the request, then writes nothing until the origin is closed or the peer closes the connection. */
    record Stall() implements OriginFault {}

    /**
     * Writes the head and the first {@code afterBytes} bytes of the body as framed on the wire, then writes
     * nothing more until the origin is closed or the peer closes the connection.
     *
     * @param afterBytes how many body bytes to send before stalling, at least 0
     */
    record StallBody(long afterBytes) implements OriginFault {
        public StallBody {
            requireNonNegative(afterBytes, "afterBytes");
        }
    }

    /**
     * Declares {@code Content-Length: declared} in place of the real length, sends the real body, then closes.
     *
     * @param declared the length to declare, at least 0
     */
    record WrongContentLength(long declared) implements OriginFault {
        public WrongContentLength {
            requireNonNegative(declared, "declared");
        }
    }

    /** Sends the body with neither Content-Length nor chunked framing and ends it by closing the connection. */
    record CloseDelimitedBody() implements OriginFault {}

    /**
     * Writes exactly these bytes as the whole response, then closes the connection if {@code closeAfter}.
     *
     * @param bytes      the response bytes, copied
     * @param closeAfter whether to close the connection afterwards instead of waiting for the next request
     */
    record Raw(byte[] bytes, boolean closeAfter) implements OriginFault {
        public Raw {
            bytes = Objects.requireNonNull(bytes, "bytes").clone();
        }

        /** Returns a copy of the response bytes. */
        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Raw raw && closeAfter == raw.closeAfter && Arrays.equals(bytes, raw.bytes);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(bytes) + Boolean.hashCode(closeAfter);
        }

        @Override
        public String toString() {
            return "Raw[bytes=" + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 32))
                    + (bytes.length > 32 ? "...(" + bytes.length + " bytes)" : "") + ", closeAfter=" + closeAfter + "]";
        }
    }

    private static void requireNonNegative(long value, String name) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be at least 0: " + value);
        }
    }
}

package dev.merapi.error;

import java.util.Objects;

/**
 * What went wrong. A sealed type so that status mapping is an exhaustive {@code switch}:
 * a well-known {@link Kind}, an explicit {@link HttpStatus}, or a user-defined {@link Custom} name.
 */
public sealed interface ErrorType permits ErrorType.Kind, ErrorType.HttpStatus, ErrorType.Custom {

    /** A short, stable name for logs and metrics, such as {@code CONNECT_TIMEOUT} or {@code HTTP_404}. */
    String name();

    /** Well-known failures of the network, of the protocol and of Merapi itself. */
    enum Kind implements ErrorType {
        /** A TCP or Unix-socket connect did not finish within the peer's connect timeout. */
        CONNECT_TIMEOUT,
        /** The upstream refused the connection. */
        CONNECT_REFUSED,
        /** Any other failure to connect (unreachable, no route, name resolution). */
        CONNECT_ERROR,
        /** The upstream TLS handshake failed. */
        TLS_HANDSHAKE_FAILURE,
        /** Nothing was read within the read timeout. */
        READ_TIMEOUT,
        /** A write did not complete within the write timeout. */
        WRITE_TIMEOUT,
        /** Reading failed below HTTP (reset, I/O error). */
        READ_ERROR,
        /** Writing failed below HTTP (reset, broken pipe). */
        WRITE_ERROR,
        /** The peer closed the connection before the message was complete. */
        CONNECTION_CLOSED,
        /** A header, request line or status line broke the HTTP rules. */
        INVALID_HTTP_HEADER,
        /** The body framing (Content-Length, chunked encoding) broke the HTTP rules. */
        INVALID_HTTP_BODY,
        /** An HTTP/2 protocol error. */
        H2_ERROR,
        /**
         * The upstream refused an HTTP/2 stream before processing it: a REFUSED_STREAM reset, or a GOAWAY whose last
         * stream id is below the stream's (RFC 9113 §8.7). The origin did not act on the request, so it is safe to
         * send again whatever its method.
         */
        STREAM_REFUSED,
        /** The request was cancelled, for example because the client went away. */
        CANCELLED,
        /** No upstream peer could be chosen. */
        NO_UPSTREAM,
        /** A user phase failed with an unexpected exception. */
        FILTER_FAILED,
        /** A bug or an unexpected state inside Merapi. */
        INTERNAL_ERROR;

        /** Whether this kind is a timeout, which maps to 504 rather than 502 when upstream. */
        public boolean isTimeout() {
            return this == CONNECT_TIMEOUT || this == READ_TIMEOUT || this == WRITE_TIMEOUT;
        }
    }

    /**
     * Fail with exactly this HTTP status.
     *
     * @param code the status code, 100 to 599
     */
    record HttpStatus(int code) implements ErrorType {
        public HttpStatus {
            if (code < 100 || code > 599) {
                throw new IllegalArgumentException("HTTP status out of range: " + code);
            }
        }

        @Override
        public String name() {
            return "HTTP_" + code;
        }
    }

    /**
     * A failure named by user code.
     *
     * @param name a short, stable name, used in logs and metrics
     */
    record Custom(String name) implements ErrorType {
        public Custom {
            Objects.requireNonNull(name, "name");
        }
    }

    /** Shorthand for {@code new HttpStatus(code)}. */
    static ErrorType status(int code) {
        return new HttpStatus(code);
    }
}

package dev.merapi.http;

/** Special values of {@link RequestHeader#bodyLength()} and {@link ResponseHeader#bodyLength()}; zero or more is a Content-Length. */
public final class BodyLength {
    /** No body at all (a GET without Content-Length, a 204, a response to HEAD). */
    public static final long NONE = -1;
    /** A chunked body. */
    public static final long CHUNKED = -2;
    /** A response body that ends when the origin closes the connection. */
    public static final long UNTIL_CLOSE = -3;

    private BodyLength() {
    }
}

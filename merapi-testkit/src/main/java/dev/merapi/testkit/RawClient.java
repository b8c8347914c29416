package dev.merapi.testkit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A raw HTTP/1.1 client over a real socket, for tests that must send exact bytes and see exactly what comes
 * back, including whether the server closed the connection. Every read has a timeout, so nothing hangs.
 */
public final class RawClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int chunks; // of the response being read

    private RawClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream()); // one system call per byte made large bodies slow
        this.out = socket.getOutputStream();
    }

    /** Connects to {@code 127.0.0.1:port} with a 5-second read timeout. */
    public static RawClient connect(int port) throws IOException {
        return connect(new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(5));
    }

    /** Connects with the given read timeout. */
    public static RawClient connect(InetSocketAddress address, Duration readTimeout) throws IOException {
        Socket s = new Socket();
        s.connect(address, 5000);
        s.setSoTimeout((int) readTimeout.toMillis());
        s.setTcpNoDelay(true);
        return new RawClient(s);
    }

    /** Sends text as ISO-8859-1 bytes, exactly as given. */
    public RawClient send(String raw) throws IOException {
        return send(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Sends bytes exactly as given. */
    public RawClient send(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
        return this;
    }

    /** Closes the sending side only (half-close). */
    public void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    /** Sets the read timeout of later reads. */
    public void readTimeout(Duration timeout) throws SocketException {
        socket.setSoTimeout((int) timeout.toMillis());
    }

    /**
     * Reads one response: head, then a body framed by Content-Length or chunked coding, or until close when it
     * has neither (pass {@code head = true} for a response to HEAD). Interim 1xx responses are returned too,
     * one per call.
     */
    public Response readResponse(boolean head) throws IOException {
        String headText = readHead();
        String[] lines = headText.split("\r\n");
        String[] status = lines[0].split(" ", 3);
        int code = Integer.parseInt(status[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.merge(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim(),
                    (a, b) -> a + ", " + b);
        }
        byte[] body;
        chunks = 0;
        if (head || code < 200 || code == 204 || code == 304) {
            body = new byte[0];
        } else if (headers.containsKey("content-length")) {
            body = readExactly(Integer.parseInt(headers.get("content-length")));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = readChunked();
        } else {
            body = readToEnd();
        }
        return new Response(code, headText, headers, body, chunks);
    }

    /** Reads exactly {@code n} raw bytes, as after a response that switched protocols or opened a tunnel. */
    public byte[] readBytes(int n) throws IOException {
        return readExactly(n);
    }

    /** Reads one response to a request that is not HEAD. */
    public Response readResponse() throws IOException {
        return readResponse(false);
    }

    /**
     * Whether the server closed the connection: a read sees end-of-stream (or a reset) within {@code wait}.
     * Bytes that arrive first are kept for the next read.
     */
    public boolean isClosedByPeer(Duration wait) throws IOException {
        int old = socket.getSoTimeout();
        socket.setSoTimeout((int) wait.toMillis());
        try {
            int b = in.read();
            if (b < 0) {
                return true;
            }
            pending.write(b);
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset
        } finally {
            socket.setSoTimeout(old);
        }
    }

    /** Whether the server closed the connection within two seconds. */
    public boolean isClosedByPeer() throws IOException {
        return isClosedByPeer(Duration.ofSeconds(2));
    }

    private int read() throws IOException {
        if (pending.size() > 0) {
            byte[] p = pending.toByteArray();
            pending.reset();
            pending.write(p, 1, p.length - 1);
            return p[0] & 0xff;
        }
        return in.read();
    }

    private String readHead() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = read();
            if (b < 0) {
                throw new IOException("connection closed before a complete response head; got: "
                        + head.toString(StandardCharsets.ISO_8859_1));
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) ? state + 1 : (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String s = head.toString(StandardCharsets.ISO_8859_1);
        return s.substring(0, s.length() - 4);
    }

    private byte[] readExactly(long n) throws IOException {
        byte[] body = new byte[Math.toIntExact(n)];
        int i = 0;
        while (i < body.length && pending.size() > 0) {
            body[i++] = (byte) read();
        }
        int got = i + in.readNBytes(body, i, body.length - i);
        if (got < body.length) {
            throw new IOException("connection closed after " + got + " of " + n + " body bytes");
        }
        return body;
    }

    private String readLine() throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = read()) >= 0) {
            if (b == '\n') {
                return sb.toString().strip();
            }
            sb.append((char) b);
        }
        throw new IOException("connection closed in a chunked body");
    }

    private byte[] readChunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine();
            int semi = sizeLine.indexOf(';');
            long size = Long.parseLong(semi < 0 ? sizeLine : sizeLine.substring(0, semi), 16);
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            chunks++;
            body.writeBytes(readExactly(size));
            readLine();
        }
    }

    private byte[] readToEnd() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int b;
        while ((b = read()) >= 0) {
            body.write(b);
        }
        return body.toByteArray();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /**
     * One response as read off the wire.
     *
     * @param status the status code
     * @param head the head as received, without the final empty line
     * @param headers the headers, names lower-cased, repeated fields joined with ", "
     * @param body the body, de-chunked
     * @param chunks how many chunks with data a chunked body came in (the last, empty chunk not counted); 0 when it
     *     was not chunked
     */
    public record Response(int status, String head, Map<String, String> headers, byte[] body, int chunks) {
        /** The body as UTF-8 text. */
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** A header, by lower- or mixed-case name, if the response has it. */
        public Optional<String> header(String name) {
            return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
        }
    }
}

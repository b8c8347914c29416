package dev.merapi.testkit;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * A client connection that sends and reads raw bytes, with no HTTP library in between, so tests see exactly what
 * the origin wrote. Reads on TCP time out after 5 s so that a test can never hang on them.
 */
final class RawConnection implements AutoCloseable {

    static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

    private final Closeable transport;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawConnection(Closeable transport, Socket socket, InputStream in, OutputStream out) {
        this.transport = transport;
        this.socket = socket;
        this.in = in;
        this.out = out;
    }

    /** Connects to the origin's TCP port. */
    static RawConnection to(MockOrigin origin) throws IOException {
        Socket socket = new Socket();
        socket.connect(origin.address(), (int) READ_TIMEOUT.toMillis());
        socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
        socket.setTcpNoDelay(true);
        return new RawConnection(socket, socket, socket.getInputStream(), socket.getOutputStream());
    }

    /** Connects to a Unix domain socket; reads have no timeout, so the calling test must bound its time. */
    static RawConnection toUnix(Path path) throws IOException {
        SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(path));
        return new RawConnection(channel, null, Channels.newInputStream(channel), Channels.newOutputStream(channel));
    }

    /** Changes the TCP read timeout. */
    RawConnection readTimeout(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        return this;
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Reads one byte; -1 at end of stream. */
    int read() throws IOException {
        return in.read();
    }

    /** Reads a response or interim head up to and including its empty line. */
    String readHead() throws IOException {
        StringBuilder head = new StringBuilder();
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("end of stream inside a head: " + head);
            }
            head.append((char) b);
        }
        return head.toString();
    }

    byte[] readExactly(int length) throws IOException {
        byte[] bytes = in.readNBytes(length);
        if (bytes.length != length) {
            throw new EOFException("end of stream after " + bytes.length + " of " + length + " bytes");
        }
        return bytes;
    }

    /** Reads until the origin closes the connection. */
    byte[] readToEnd() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        return all.toByteArray();
    }

    /** Reads a whole response framed by Content-Length, or without body when there is none. */
    Response readResponse() throws IOException {
        String head = readHead();
        String length = Response.header(head, "Content-Length");
        byte[] body = length == null ? new byte[0] : in.readNBytes(Integer.parseInt(length));
        return new Response(head, body);
    }

    @Override
    public void close() throws IOException {
        transport.close();
    }

    /** A response as read off the wire. */
    record Response(String head, byte[] body) {

        int status() {
            return Integer.parseInt(head.substring(9, 12));
        }

        String header(String name) {
            return header(head, name);
        }

        String bodyUtf8() {
            return new String(body, StandardCharsets.UTF_8);
        }

        static String header(String head, String name) {
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).toLowerCase(Locale.ROOT)
                        .equals(name.toLowerCase(Locale.ROOT))) {
                    return line.substring(colon + 1).strip();
                }
            }
            return null;
        }
    }
}

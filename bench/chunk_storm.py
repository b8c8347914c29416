#!/usr/bin/python3
"""The origin and the client of bench/chunk-storm.sh (standard library only).

  chunk_storm.py origin PORT        serves on 127.0.0.1:PORT until killed:
                                    GET  -> 200, the body as CHUNKS one-byte chunks (Transfer-Encoding: chunked)
                                    POST -> 200, "<bytes> <crc32>" of the request body (Content-Length or chunked)
  chunk_storm.py measure --port P --pid PID --direction up|down --reps N [--warmup W]
                                    sends W unmeasured then N measured bodies through the proxy on P and prints, per
                                    measured body, the CPU seconds (user + system, /proc/PID/stat) the proxy spent on it

Every body is checked byte for byte (length and CRC32); a wrong one ends the run with status 1.
"""
import os
import socket
import socketserver
import sys
import time
import zlib

CHUNKS = 1_000_000
DATA = bytes((i * 7 + 3) % 251 for i in range(CHUNKS))
CRC = zlib.crc32(DATA)
STORM = b"".join(b"1\r\n" + DATA[i:i + 1] + b"\r\n" for i in range(CHUNKS)) + b"0\r\n\r\n"
TICK = os.sysconf("SC_CLK_TCK")


class Reader:
    """Buffered reads from a socket, with the line and chunked-body helpers both sides need."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        got = self.sock.recv(1 << 20)
        if not got:
            raise EOFError("connection closed")
        self.buf += got

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            self.fill()

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def head(self):
        lines = []
        while True:
            line = self.line()
            if not line:
                return lines
            lines.append(line)

    def body(self, headers):
        """The body as framed by the headers; returns (data, chunks)."""
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            chunks = 0
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    return b"".join(parts), chunks
                parts.append(self.exactly(size))
                chunks += 1
                if self.exactly(2) != b"\r\n":
                    raise ValueError("chunk data not followed by CRLF")
        return self.exactly(int(headers.get(b"content-length", b"0"))), 0


def fields(lines):
    out = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        out[name.strip().lower()] = value.strip()
    return out


class Origin(socketserver.BaseRequestHandler):
    def handle(self):
        r = Reader(self.request)
        try:
            while True:
                lines = r.head()
                method = lines[0].split(b" ")[0]
                headers = fields(lines)
                if method == b"GET":
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + STORM)
                else:
                    data, _ = r.body(headers)
                    answer = b"%d %d" % (len(data), zlib.crc32(data))
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
        except (EOFError, ConnectionError):
            pass


class OriginServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    parts = stat[stat.rindex(")") + 2:].split()
    return (int(parts[11]) + int(parts[12])) / TICK  # utime and stime, fields 14 and 15


def one(port, direction):
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    try:
        r = Reader(s)
        if direction == "up":
            s.sendall(b"POST /up HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n" + STORM)
        else:
            s.sendall(b"GET /down HTTP/1.1\r\nHost: bench\r\n\r\n")
        lines = r.head()
        if not lines[0].startswith(b"HTTP/1.1 200"):
            raise ValueError("status line %r" % lines[0])
        data, chunks = r.body(fields(lines))
        if direction == "up":
            if data != b"%d %d" % (CHUNKS, CRC):
                raise ValueError("the origin got %r, not %d bytes with CRC %d" % (data, CHUNKS, CRC))
        elif len(data) != CHUNKS or zlib.crc32(data) != CRC:
            raise ValueError("the client got %d bytes with CRC %d" % (len(data), zlib.crc32(data)))
        return chunks
    finally:
        s.close()


def measure(port, pid, direction, reps, warmup):
    for _ in range(warmup):
        one(port, direction)
    for _ in range(reps):
        before = cpu_seconds(pid)
        chunks = one(port, direction)
        time.sleep(0.2)  # let the proxy finish its side (logging, pooling) before the second reading
        print("%.3f %d" % (cpu_seconds(pid) - before, chunks), flush=True)


def main(argv):
    if argv[1] == "origin":
        OriginServer(("127.0.0.1", int(argv[2])), Origin).serve_forever()
        return 0
    if argv[1] == "measure":
        opts = dict(zip(argv[2::2], argv[3::2]))
        measure(int(opts["--port"]), int(opts["--pid"]), opts["--direction"], int(opts["--reps"]),
                int(opts.get("--warmup", "3")))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (ValueError, EOFError, OSError) as e:
        print("chunk_storm.py: %s" % e, file=sys.stderr)
        sys.exit(1)

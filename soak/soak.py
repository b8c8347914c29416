#!/usr/bin/python3
"""The soak test's origin and load driver (standard library only; run by soak/run.sh).

  soak.py origin PORT_FILE          serves on a free 127.0.0.1 port, writes the port to PORT_FILE, runs until killed
  soak.py drive --proxy PORT --pid PID --seconds N [--workers W] [--jcmd PATH]
                                    mixed traffic through the proxy for N seconds while sampling the proxy's RSS, heap
                                    and open file descriptors; prints a summary and exits 1 if a check fails

Origin endpoints: /tiny (2 bytes), /large?mib=N (N MiB, Content-Length), /chunked (chunked, 64 KiB pieces),
POST /upload (Content-Length or chunked; answers the byte count), /chunk-storm (GET: STORM_CHUNKS one-byte chunks;
POST: answers "<bytes> <chunks>" of a chunked body), /reset (resets the connection: the proxy answers
502), /close-early (promises 1 MiB, sends 16 KiB and closes: the proxy cuts the response). The driver also sends
requests without Host, which the proxy rejects with 400 (and a security event), and floods of 200 pipelined 4 KiB
requests on one connection, all of which must be answered.
"""
import http.client
import http.server
import os
import socket
import socketserver
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

PATTERN = b"0123456789abcdef" * 4096  # 64 KiB
MIB = 1024 * 1024
# a chunk storm: a body of one-byte chunks, 6 bytes on the wire for each byte of data
STORM_CHUNKS = 100_000
STORM_DATA = bytes(PATTERN[i % len(PATTERN)] for i in range(STORM_CHUNKS))
STORM_WIRE = b"".join(b"1\r\n" + STORM_DATA[i:i + 1] + b"\r\n" for i in range(STORM_CHUNKS)) + b"0\r\n\r\n"


# ---- origin

class OriginHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True

    def _send(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/tiny":
            self._send(200, b"ok")
        elif url.path == "/large":
            mib = int(urllib.parse.parse_qs(url.query).get("mib", ["4"])[0])
            self.send_response(200)
            self.send_header("Content-Length", str(mib * MIB))
            self.end_headers()
            for _ in range(mib * MIB // len(PATTERN)):
                self.wfile.write(PATTERN)
        elif url.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(16):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(PATTERN), PATTERN))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/chunk-storm":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(STORM_WIRE)
        elif url.path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif url.path == "/close-early":
            self.send_response(200)
            self.send_header("Content-Length", str(MIB))
            self.end_headers()
            self.wfile.write(PATTERN[:16384])
            self.wfile.flush()
            self.close_connection = True
        else:
            self._send(404, b"not found\n")

    def do_POST(self):
        n = 0
        chunks = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                n += len(self.rfile.read(size))
                chunks += 1
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                got = self.rfile.read(min(left, 256 * 1024))
                if not got:
                    self.close_connection = True
                    return
                n += len(got)
                left -= len(got)
        if self.path == "/chunk-storm":
            self._send(200, b"%d %d" % (n, chunks))
        else:
            self._send(200, str(n).encode())


class OriginServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def origin(port_file):
    server = OriginServer(("127.0.0.1", 0), OriginHandler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


# ---- load

class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.expected = {}
        self.unexpected = {}
        self.examples = []
        self.bytes = 0

    def add(self, table, name, nbytes=0, detail=None):
        with self.lock:
            table[name] = table.get(name, 0) + 1
            self.bytes += nbytes
            if detail and len(self.examples) < 10:
                self.examples.append("%s: %s" % (name, detail))


def conn(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def keep_alive(port, c):
    h = conn(port)
    try:
        for i in range(20):
            path = "/chunked" if i % 5 == 4 else "/tiny"
            h.request("GET", path)
            r = h.getresponse()
            body = r.read()
            want = PATTERN * 16 if path == "/chunked" else b"ok"
            if r.status != 200 or body != want:
                c.add(c.unexpected, "keep-alive", detail="status %d, %d bytes" % (r.status, len(body)))
                return
            if r.getheader("Connection", "").lower() == "close":
                c.add(c.unexpected, "keep-alive", detail="the proxy closed a keep-alive connection")
                return
            c.add(c.ok, "keep-alive", len(body))
    finally:
        h.close()


def connection_close(port, c):
    h = conn(port)
    try:
        h.request("GET", "/tiny", headers={"Connection": "close"})
        r = h.getresponse()
        body = r.read()
        if r.status == 200 and body == b"ok" and r.getheader("Connection", "").lower() == "close":
            c.add(c.ok, "connection-close", len(body))
        else:
            c.add(c.unexpected, "connection-close", detail="status %d, Connection %s" % (r.status, r.getheader("Connection")))
    finally:
        h.close()


def download(port, c, mib=4):
    h = conn(port)
    try:
        h.request("GET", "/large?mib=%d" % mib)
        r = h.getresponse()
        n = 0
        good = r.status == 200
        while True:
            piece = r.read(len(PATTERN))
            if not piece:
                break
            good = good and PATTERN.startswith(piece)
            n += len(piece)
        if good and n == mib * MIB:
            c.add(c.ok, "download", n)
        else:
            c.add(c.unexpected, "download", detail="status %d, %d bytes, content %s" % (r.status, n, "ok" if good else "wrong"))
    finally:
        h.close()


def upload(port, c, mib=4, chunked=False):
    name = "upload-chunked" if chunked else "upload"
    h = conn(port)
    try:
        if chunked:
            h.request("POST", "/upload", body=iter([PATTERN] * (mib * MIB // len(PATTERN))), encode_chunked=True)
        else:
            h.request("POST", "/upload", body=PATTERN * (mib * MIB // len(PATTERN)))
        r = h.getresponse()
        body = r.read()
        if r.status == 200 and body == str(mib * MIB).encode():
            c.add(c.ok, name, mib * MIB)
        else:
            c.add(c.unexpected, name, detail="status %d, body %r" % (r.status, body[:40]))
    finally:
        h.close()


def upload_chunked(port, c):
    upload(port, c, chunked=True)


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s


def abort_download(port, c):
    """Reads 64 KiB of an 8 MiB response, then resets the connection."""
    s = raw(port)
    try:
        s.sendall(b"GET /large?mib=8 HTTP/1.1\r\nHost: soak\r\n\r\n")
        got = 0
        while got < 65536:
            piece = s.recv(65536)
            if not piece:
                c.add(c.unexpected, "abort-download", detail="closed after %d bytes" % got)
                return
            got += len(piece)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.add(c.expected, "abort-download")
    finally:
        s.close()


def abort_upload(port, c):
    """Sends 1 MiB of an announced 8 MiB body, then closes."""
    s = raw(port)
    try:
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % (8 * MIB))
        for _ in range(16):
            s.sendall(PATTERN)
        c.add(c.expected, "abort-upload")
    finally:
        s.close()


def bad_request(port, c):
    """A request without Host: the proxy answers 400 and closes, and records a security event."""
    s = raw(port)
    try:
        s.sendall(b"GET /no-host HTTP/1.1\r\n\r\n")
        got = b""
        while True:
            piece = s.recv(4096)
            if not piece:
                break
            got += piece
        if got.startswith(b"HTTP/1.1 400 "):
            c.add(c.expected, "bad-request-400")
        else:
            c.add(c.unexpected, "bad-request", detail=repr(got[:40]))
    finally:
        s.close()


def origin_reset(port, c):
    h = conn(port)
    try:
        h.request("GET", "/reset")
        r = h.getresponse()
        r.read()
        if r.status == 502:
            c.add(c.expected, "origin-reset-502")
        else:
            c.add(c.unexpected, "origin-reset", detail="status %d" % r.status)
    finally:
        h.close()


def origin_close_early(port, c):
    h = conn(port)
    try:
        h.request("GET", "/close-early")
        r = h.getresponse()
        try:
            r.read()
            c.add(c.unexpected, "origin-close-early", detail="a cut response read as complete")
        except http.client.IncompleteRead:
            c.add(c.expected, "origin-close-early-cut")
    finally:
        h.close()


PIPELINED = 200


def pipeline_flood(port, c):
    """200 pipelined GETs of 4 KiB each (800 KiB, far more than the 64 KiB a client may be ahead of its connection)
    written as fast as the socket takes them while the answers are read: all must come back and memory stays flat.
    (Few requests, large ones: the origin answers each in two writes, which Nagle's algorithm spaces by the delayed
    ACK, so it serves a keep-alive connection at about 25 requests a second.)"""
    s = raw(port)
    try:
        request = b"GET /tiny HTTP/1.1\r\nHost: soak\r\nX-Pad: %s\r\n\r\n" % (b"p" * 4000)
        writer = threading.Thread(target=lambda: s.sendall(request * PIPELINED), daemon=True)
        writer.start()
        status = b"HTTP/1.1 200 OK\r\n"
        seen, tail = 0, b""
        while seen < PIPELINED:
            piece = s.recv(65536)
            if not piece:
                break
            data = tail + piece
            seen += data.count(status)
            tail = data[-(len(status) - 1):]  # a status line cut between two reads is counted once, with the rest
            if tail.find(status[:1]) < 0:
                tail = b""
        writer.join(30)
        if seen == PIPELINED:
            c.add(c.ok, "pipeline-flood", PIPELINED * 2)
        else:
            c.add(c.unexpected, "pipeline-flood", detail="%d of %d responses" % (seen, PIPELINED))
    finally:
        s.close()
def chunk_storm(port, c):
    """Uploads and downloads a body of STORM_CHUNKS one-byte chunks; the proxy must pass it on in far fewer chunks."""
    s = raw(port)
    try:
        s.sendall(b"POST /chunk-storm HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n" + STORM_WIRE)
        r = http.client.HTTPResponse(s)
        r.begin()
        got = r.read().split()
        if r.status != 200 or len(got) != 2 or int(got[0]) != STORM_CHUNKS or int(got[1]) > STORM_CHUNKS // 10:
            c.add(c.unexpected, "chunk-storm-up", detail="status %d, origin got %r" % (r.status, got))
        else:
            c.add(c.ok, "chunk-storm-up", STORM_CHUNKS)
    finally:
        s.close()
    h = conn(port)
    try:
        h.request("GET", "/chunk-storm")
        r = h.getresponse()
        body = r.read()
        if r.status == 200 and body == STORM_DATA:
            c.add(c.ok, "chunk-storm-down", len(body))
        else:
            c.add(c.unexpected, "chunk-storm-down", detail="status %d, %d bytes" % (r.status, len(body)))
    finally:
        h.close()


# one round of every kind, weighted towards the plain ones
ROUND = [keep_alive, connection_close, keep_alive, download, upload, connection_close, keep_alive,
         upload_chunked, abort_download, abort_upload, origin_reset, keep_alive,
         origin_close_early, connection_close, bad_request]
ROUND.append(pipeline_flood)
ROUND += [chunk_storm]


def worker(port, c, stop, index):
    i = index
    while not stop.is_set():
        op = ROUND[i % len(ROUND)]
        i += 1
        try:
            op(port, c)
        except Exception as e:  # anything a scenario did not expect
            c.add(c.unexpected, getattr(op, "__name__", "op"), detail=repr(e))


# ---- sampling

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def heap_kib(jcmd, pid):
    """live_heap_kib(), tried three times (an attach can time out on a loaded machine); None if it never worked."""
    for attempt in range(3):
        try:
            return live_heap_kib(jcmd, pid)
        except (subprocess.SubprocessError, OSError) as e:
            print("soak: jcmd failed (%s); %s" % (e, "retrying" if attempt < 2 else "no heap sample"), file=sys.stderr)
            time.sleep(1)
    return None


def live_heap_kib(jcmd, pid):
    """The live objects, in KiB: GC.class_histogram collects the whole heap first and counts what survives, in one
    call (GC.run then GC.heap_info would also count what the load allocates between the two calls)."""
    out = subprocess.run([jcmd, str(pid), "GC.class_histogram"], capture_output=True, text=True, timeout=60, check=True).stdout
    for line in reversed(out.splitlines()):
        if line.startswith("Total"):
            return int(line.split()[2]) // 1024
    raise subprocess.SubprocessError("no total in the class histogram")


def quarters(values):
    q = max(1, len(values) // 4)
    return values[:q], values[-q:]


def drive(args):
    port, pid, seconds = int(args["--proxy"]), int(args["--pid"]), int(args["--seconds"])
    workers = int(args.get("--workers", "4"))
    jcmd = args.get("--jcmd", "jcmd")
    warmup = max(20, seconds // 5)
    interval = max(2.0, (seconds - warmup) / 100)
    c = Counts()
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(port, c, stop, i * 3), daemon=True) for i in range(workers)]
    idle_fds = fds(pid)
    start = time.monotonic()
    for t in threads:
        t.start()
    samples = []  # (seconds, rss KiB, heap KiB, fds)
    time.sleep(warmup)
    while time.monotonic() - start < seconds:
        t0 = time.monotonic()
        samples.append((round(t0 - start), rss_kib(pid), heap_kib(jcmd, pid), fds(pid)))
        time.sleep(max(0.0, interval - (time.monotonic() - t0)))
    stop.set()
    for t in threads:
        t.join(60)
    stuck = sum(t.is_alive() for t in threads)
    elapsed = time.monotonic() - start
    # after the load: connections close, the fds return to what the proxy holds idle (plus its pooled upstreams)
    deadline = time.monotonic() + 10
    end_fds = fds(pid)
    while end_fds > idle_fds + 2 * workers + 8 and time.monotonic() < deadline:
        time.sleep(0.5)
        end_fds = fds(pid)

    failures = []
    total_ok, total_expected, total_unexpected = (sum(t.values()) for t in (c.ok, c.expected, c.unexpected))
    print("soak: %.0f s, %d workers, warm-up %d s, %d samples every %.1f s" % (elapsed, workers, warmup, len(samples), interval))
    print("soak: requests ok %d (%s)" % (total_ok, ", ".join("%s %d" % kv for kv in sorted(c.ok.items()))))
    print("soak: expected failures %d (%s)" % (total_expected, ", ".join("%s %d" % kv for kv in sorted(c.expected.items()))))
    print("soak: unexpected errors %d %s" % (total_unexpected, dict(sorted(c.unexpected.items()))))
    print("soak: body bytes checked %.1f MiB" % (c.bytes / MIB))
    for e in c.examples:
        print("soak:   e.g. " + e)
    if total_unexpected:
        failures.append("%d unexpected errors" % total_unexpected)
    if stuck:
        failures.append("%d workers did not stop" % stuck)
    if total_ok == 0 or not c.expected:
        failures.append("no traffic")
    if len(samples) < 4:
        failures.append("too few samples (%d)" % len(samples))
    else:
        for name, col, floor, stat in (("RSS", 1, 16 * 1024, "median"), ("live heap", 2, 4 * 1024, "median"),
                                       ("open fds", 3, 8, "median")):
            values = [s[col] for s in samples if s[col] is not None]
            if len(values) < 4:
                failures.append("too few %s samples (%d)" % (name, len(values)))
                continue
            first, last = quarters(values)
            f = statistics.median if stat == "median" else min
            a, b = f(first), f(last)
            limit = a + max(floor, a * 0.10)
            unit = "" if col == 3 else " KiB"
            ok = b <= limit
            print("soak: %-13s first quarter %s %d%s, last quarter %s %d%s, min %d, max %d, limit %d%s: %s"
                  % (name, stat, a, unit, stat, b, unit, min(values), max(values), limit, unit, "flat" if ok else "GROWING"))
            if not ok:
                failures.append("%s grew from %d to %d" % (name, a, b))
    print("soak: fds idle before %d, after the load %d (limit %d)" % (idle_fds, end_fds, idle_fds + 2 * workers + 8))
    if end_fds > idle_fds + 2 * workers + 8:
        failures.append("fds after the load: %d, before: %d" % (end_fds, idle_fds))
    print("soak: samples (s, RSS KiB, heap KiB, fds): " + " ".join("/".join(str(v) for v in s) for s in samples))
    if failures:
        print("soak: FAILED: " + "; ".join(failures))
        return 1
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "origin":
        origin(argv[1])
        return 0
    if argv and argv[0] == "drive":
        it = iter(argv[1:])
        return drive(dict(zip(it, it)))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

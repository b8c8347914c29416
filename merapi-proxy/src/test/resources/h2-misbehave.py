#!/usr/bin/python3
"""An HTTP/2 client that misbehaves on purpose, for Merapi's flood-defence tests.

Usage: h2-misbehave.py PORT SCENARIO [COUNT]
       h2-misbehave.py PORT streams PATH...   (a well-behaved client: one stream per path, all at once, on one
                                               connection; prints "response STREAM STATUS BODY" per stream,
                                               and "goaway LAST_STREAM CODE" if the server sends GOAWAY)
Writes frames by hand (HPACK from python3-hpack) over a plain socket to 127.0.0.1:PORT, then reads what the server
answers for at most 20 seconds and prints one line per notable frame: "goaway LAST_STREAM CODE", "rst STREAM CODE",
"status STREAM CODE", "ping" for a PING from the server, and "closed" when the server closed the connection. Bounded in frames and time; loopback only.
"""
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream) + payload


def request_block(encoder, method="GET", path="/", extra=()):
    return encoder.encode([(":method", method), (":scheme", "http"), (":path", path),
                           (":authority", "127.0.0.1")] + list(extra))


def read_frames(sock, seconds, ack_pings=False):
    sock.settimeout(0.5)
    decoder = hpack.Decoder()
    decoder.max_header_list_size = 1 << 20
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            print("closed", flush=True)
            return
        if not chunk:
            print("closed", flush=True)
            return
        buf += chunk
        while len(buf) >= 9:
            length = struct.unpack(">I", b"\0" + buf[:3])[0]
            if len(buf) < 9 + length:
                break
            kind, flags, stream = struct.unpack(">BBI", buf[3:9])
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            stream &= 0x7FFFFFFF
            if kind == PING and not flags & ACK:
                print("ping", flush=True)
                if ack_pings:
                    sock.sendall(frame(PING, ACK, 0, payload))
            elif kind == GOAWAY:
                last, code = struct.unpack(">II", payload[:8])
                print("goaway %d %d" % (last & 0x7FFFFFFF, code), flush=True)
            elif kind == DATA and flags & END_STREAM:
                print("end %d" % stream, flush=True)
            elif kind == RST_STREAM:
                print("rst %d %d" % (stream, struct.unpack(">I", payload)[0]), flush=True)
            elif kind == HEADERS:
                try:
                    fields = dict(decoder.decode(payload))
                    status = fields.get(":status", fields.get(b":status"))
                    if status is not None:
                        print("status %d %s" % (stream, status if isinstance(status, str) else status.decode()),
                              flush=True)
                    else:
                        print("trailers %d %s" % (stream, ",".join("%s=%s" % kv for kv in sorted(fields.items()))),
                              flush=True)
                except Exception as e:  # trailers or a block split over CONTINUATION: not needed here
                    print("headers %d undecoded %s" % (stream, e), flush=True)
    print("open", flush=True)


def streams(port, paths):
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    status, body, ended = {}, {}, set()
    for path in paths:
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", path),
                                (":authority", "127.0.0.1:%d" % port)], end_stream=True)
        body[sid] = b""
    sock.sendall(conn.data_to_send())
    deadline = time.monotonic() + 30
    while len(ended) < len(paths) and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status[event.stream_id] = dict(event.headers)[b":status"].decode()
            elif isinstance(event, h2.events.DataReceived):
                body[event.stream_id] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended.add(event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                print("goaway %d %d" % (event.last_stream_id, event.error_code), flush=True)
        sock.sendall(conn.data_to_send())
    for sid in sorted(body):
        print("response %d %s %s" % (sid, status.get(sid, "reset"), body[sid].decode(errors="replace")), flush=True)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()


def main():
    port, scenario = int(sys.argv[1]), sys.argv[2]
    if scenario == "streams":
        streams(port, sys.argv[3:])
        return
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    encoder = hpack.Encoder()
    out = [PREFACE, frame(SETTINGS, 0, 0)]
    if scenario == "rapid-reset":
        # CVE-2023-44487: open a stream and cancel it at once, over and over
        for i in range(count):
            sid = 1 + 2 * i
            out.append(frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block(encoder)))
            out.append(frame(RST_STREAM, 0, sid, struct.pack(">I", 8)))
    elif scenario == "get":
        # one well-formed GET of /slow, read with the raw reader (which, unlike python3-h2, reads on after GOAWAY)
        out.append(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(encoder, "GET", "/slow")))
    elif scenario == "post-trailers":
        # a body, then trailers that end the stream (as gRPC sends them)
        out.append(frame(HEADERS, END_HEADERS, 1, request_block(encoder, "POST", "/up", [("te", "trailers")])))
        out.append(frame(DATA, 0, 1, b"hello"))
        out.append(frame(HEADERS, END_HEADERS | END_STREAM, 1, encoder.encode([("x-checksum", "abc")])))
    elif scenario == "made-you-reset":
        # CVE-2025-55163: frames that make the server reset the stream itself (a WINDOW_UPDATE of 0)
        for i in range(count):
            sid = 1 + 2 * i
            out.append(frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block(encoder)))
            out.append(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", 0)))
    elif scenario == "empty-data":
        out.append(frame(HEADERS, END_HEADERS, 1, request_block(encoder, "POST", "/up")))
        for _ in range(count):
            out.append(frame(DATA, 0, 1))
    elif scenario == "continuation-flood":
        block = request_block(encoder, extra=[("x-big", "v" * 60)])
        out.append(frame(HEADERS, 0, 1, block[:1]))
        rest = block[1:]
        for _ in range(count):
            out.append(frame(CONTINUATION, 0, 1, rest[:1] if rest else b""))
            rest = rest[1:]
    elif scenario == "too-many-streams":
        for i in range(count):
            out.append(frame(HEADERS, END_HEADERS, 1 + 2 * i, request_block(encoder, "POST", "/slow")))
    elif scenario == "big-headers":
        fields = [("x-h%d" % i, "v" * 1000) for i in range(count)]
        block = request_block(encoder, extra=fields)
        out.append(frame(HEADERS, END_STREAM, 1, block[:16000]))
        rest = block[16000:]
        while rest:
            piece, rest = rest[:16000], rest[16000:]
            out.append(frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece))
    elif scenario == "closed-stream-headers":
        # RFC 9113 5.1: HEADERS again on a stream that ended normally (request and response both ended)
        sock.sendall(b"".join(out + [frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(encoder))]))
        time.sleep(1)
        out = [frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(encoder))]
    elif scenario == "lower-stream-id":
        # RFC 9113 5.1.1: a new stream numbered below one already opened
        out.append(frame(HEADERS, END_HEADERS | END_STREAM, 5, request_block(encoder)))
        out.append(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(encoder)))
    elif scenario == "late-frames-after-reset":
        # the server resets stream 1 (a WINDOW_UPDATE of 0 is a stream error); the client's DATA already on its way
        # to it must be ignored, not end the connection; stream 3 is then served
        out.append(frame(HEADERS, END_HEADERS, 1, request_block(encoder, "POST", "/up")))
        out.append(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0)))
        out.append(frame(DATA, 0, 1, b"late"))
        out.append(frame(DATA, END_STREAM, 1, b"later"))
        out.append(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(encoder)))
        sock.sendall(b"".join(out))
        read_frames(sock, 5)
        return
    elif scenario == "headers-never-completed":
        # stream 1 stays open (a POST whose body never comes), then a header block on stream 3 that never ends: no
        # CONTINUATION follows, and the connection can carry nothing else until it does
        out.append(frame(HEADERS, END_HEADERS, 1, request_block(encoder, "POST", "/slow")))
        block = request_block(encoder, extra=[("x-pad", "v" * 40)])
        out.append(frame(HEADERS, 0, 3, block[:10]))
    elif scenario in ("ignore-pings", "answer-pings"):
        # a stream stays open (a POST whose body never comes); the server's keepalive PINGs are printed, and answered
        # only by answer-pings, which reads for COUNT seconds
        out.append(frame(HEADERS, END_HEADERS, 1, request_block(encoder, "POST", "/slow")))
        sock.sendall(b"".join(out))
        read_frames(sock, count if scenario == "answer-pings" else 20, ack_pings=scenario == "answer-pings")
        return
    elif scenario == "ping-flood-no-read":
        # never reads: the server's acknowledgements pile up
        sock.sendall(b"".join(out))
        sock.settimeout(30)
        ping = frame(PING, 0, 0, b"12345678") * 512
        sent = 0
        deadline = time.monotonic() + 30
        try:
            while sent < count and time.monotonic() < deadline:
                sock.sendall(ping)
                sent += 512
        except (ConnectionResetError, BrokenPipeError, socket.timeout) as e:
            print("send stopped %s" % type(e).__name__, flush=True)
        read_frames(sock, 20)
        return
    else:
        raise SystemExit("unknown scenario " + scenario)
    try:
        sock.sendall(b"".join(out))
    except (ConnectionResetError, BrokenPipeError):
        pass
    read_frames(sock, 20)


if __name__ == "__main__":
    main()

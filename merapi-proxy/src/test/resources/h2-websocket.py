"""A WebSocket client over HTTP/2 (RFC 8441) for Merapi's tests, on Debian's python3-h2.

  h2-websocket.py PORT MODE    connects to 127.0.0.1:PORT with the HTTP/2 preface (h2c), prints the server's
                               SETTINGS_ENABLE_CONNECT_PROTOCOL, opens a stream with an extended CONNECT
                               (:protocol websocket, :path /echo) and prints the status. On a 200 it speaks
                               WebSocket over the stream, one "key value" line per step:
    echo          a text and a 1 MiB binary message echoed, then a close with code 4000 from this side
    server-close  asks the echo origin to close with 4001 ("close:4001") and waits for it
                               and last how the stream ended ("end stream-ended" or "end reset CODE").
  Exits within 60 s whatever the server does.
"""
import os
import socket
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.events = []
        self.data = bytearray()
        self.ended = None

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        for ev in self.conn.receive_data(chunk):
            if isinstance(ev, h2.events.DataReceived):
                self.data += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self.ended = self.ended or "stream-ended"
            elif isinstance(ev, h2.events.StreamReset):
                self.ended = self.ended or f"reset {ev.error_code}"
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.ended = self.ended or f"goaway {ev.error_code}"
            self.events.append(ev)
        self.flush()

    def wait_for(self, kind):
        while True:
            for i, ev in enumerate(self.events):
                if isinstance(ev, kind):
                    del self.events[: i + 1]
                    return ev
            self.pump()

    def send(self, sid, payload):
        view = memoryview(payload)
        while view:
            n = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size, len(view))
            if n == 0:
                self.pump()  # for a WINDOW_UPDATE
                continue
            self.conn.send_data(sid, bytes(view[:n]))
            self.flush()
            view = view[n:]

    def read_message(self):
        """The next whole WebSocket message from the server: (opcode, payload)."""
        parts, opcode = [], None
        while True:
            frame = parse(self.data)
            if frame is None:
                self.pump()
                continue
            fin, op, payload = frame
            if op in (0x9, 0xA):  # ping or pong: not a message
                continue
            opcode = op if opcode is None else opcode
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)


def frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", n)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


def parse(buf):
    if len(buf) < 2:
        return None
    fin, op, n, at = buf[0] & 0x80, buf[0] & 0x0F, buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = struct.unpack("!H", bytes(buf[2:4]))[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = struct.unpack("!Q", bytes(buf[2:10]))[0], 10
    if len(buf) < at + n:
        return None
    payload = bytes(buf[at : at + n])
    del buf[: at + n]
    return bool(fin), op, payload


def main(port, mode):
    c = Client(port)
    settings = c.wait_for(h2.events.RemoteSettingsChanged)
    changed = settings.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
    print(f"enable_connect_protocol {changed.new_value if changed else 0}", flush=True)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                              (":path", "/echo"), (":authority", f"127.0.0.1:{port}"), ("sec-websocket-version", "13")])
    c.flush()
    response = c.wait_for(h2.events.ResponseReceived)
    headers = dict(response.headers)
    print(f"status {headers[':status']}", flush=True)
    print(f"accept-header {'sec-websocket-accept' in headers}", flush=True)
    if headers[":status"] != "200":
        return
    if mode == "echo":
        c.send(sid, frame(0x1, b"hello over h2"))
        op, payload = c.read_message()
        print(f"text {payload.decode()}", flush=True)
        big = os.urandom(1024 * 1024)
        c.send(sid, frame(0x2, big))
        op, payload = c.read_message()
        print(f"binary {len(payload)} {payload == big}", flush=True)
        c.send(sid, frame(0x8, struct.pack("!H", 4000) + b"done"))
    else:
        c.send(sid, frame(0x1, b"close:4001"))
    op, payload = c.read_message()
    code = struct.unpack("!H", payload[:2])[0] if op == 0x8 and len(payload) >= 2 else -1
    if mode != "echo":
        c.send(sid, frame(0x8, struct.pack("!H", code)))  # the closing handshake's answer
    print(f"closed {code}", flush=True)
    while c.ended is None:
        try:
            c.pump()
        except EOFError:
            c.ended = c.ended or "connection-closed"
    print(f"end {c.ended}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])

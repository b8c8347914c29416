"""A WebSocket peer for Merapi's tests, on Debian's python3-websockets.

  ws_peer.py server LIMIT_SECONDS   echo server on 127.0.0.1:0; prints "port N", then "closed CODE" per connection;
                                    a text "close:CODE" makes it close with that code. Stops when stdin closes or
                                    after LIMIT_SECONDS.
  ws_peer.py client URL             text and 4 MiB binary echo, a ping, then a close with code 4000; prints one
                                    "key value" line per step and exits (after at most 60 s).
"""
import asyncio
import hashlib
import os
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("close:"):
                await ws.close(code=int(msg[6:]), reason="asked to")
                break
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        print(f"closed {ws.close_code}", flush=True)


async def server(limit):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_stdin():
        if not sys.stdin.buffer.read1(4096):
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=None) as srv:
        print(f"port {srv.sockets[0].getsockname()[1]}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), timeout=limit)
        except asyncio.TimeoutError:
            pass


async def client(url):
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send("hello through merapi")
        print(f"text {await ws.recv()}", flush=True)
        data = os.urandom(4 * 1024 * 1024)  # incompressible: permessage-deflate cannot shrink it
        await ws.send(data)
        back = await ws.recv()
        print(f"binary {len(back)} {hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()}", flush=True)
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, timeout=20)
        print("pong ok", flush=True)
        await ws.close(code=4000, reason="done")
        print(f"closed {ws.close_code}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server(float(sys.argv[2])))
    else:
        asyncio.run(asyncio.wait_for(client(sys.argv[2]), timeout=60))

"""The redis_websocket_api demo against corekv's /rwa, with the real `websockets` client.

The package's examples/demo.py fills two hashes and publishes a GeoJSON point every 0.1 s
(counter % 180, counter % 90); its examples/demo.html opens the WebSocket and sends, in
this order:

    PROJECTION epsg:3857
    BBOX 0 0 1500000 7000000
    GET example_channel_1
    GET example_channel_2
    SUB example_channel_1
    SUB example_channel_2

This script is both sides: the producer over RESP (a few lines of RESP below; the demo used
aioredis), the page's client with `websockets`. It checks every frame against what the
package would send: the envelope's fields and their order, json.dumps's exact text, the
epoch-millisecond float timestamp, the box applied to *projected* coordinates (PROJECTION
came first), Web Mercator coordinates from an independent formula, and exactly the
messages inside the box. Then the rest of the dialect: client_ref echo, PGET, DEL, unknown
commands, and corekv's error envelopes where the package would hang up.

usage: demo_client.py RESP_PORT WS_PORT   (exit status 0 only if every check passed)
"""

import asyncio
import json
import math
import socket
import sys
import time

from websockets.asyncio.client import connect

EXAMPLE_GEOJSON = """\
{{
    "type": "Feature",
    "properties": {{"id": {id}}},
    "geometry": {{
        "type": "Point",
        "coordinates": [{lon}, {lat}]
    }}
}}
"""
BOX = (0.0, 0.0, 1500000.0, 7000000.0)
MESSAGES = 200
CHECKS = 0


def check(ok, what):
    global CHECKS
    if not ok:
        raise AssertionError(what)
    CHECKS += 1


class Resp:
    """Just enough RESP to HSET, DEL and PUBLISH, as the demo's producer does."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        check(line[:1] in (b":", b"+"), f"RESP reply to {args[0]}: {line!r}")
        return line


def mercator(lon, lat):
    """EPSG:3857 by its definition (an oracle independent of corekv's code)."""
    r = 6378137.0
    return r * math.radians(lon), r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def inside(x, y):
    return BOX[0] < x < BOX[2] and BOX[1] < y < BOX[3]


async def envelope(ws, timeout=5):
    """The next frame, checked to be exactly what the package's _send writes."""
    try:
        text = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"no frame arrived within {timeout} s") from None
    check(isinstance(text, str), f"a text frame: {text!r}")
    env = json.loads(text)
    check(list(env) == ["source", "content", "timestamp", "client_reference"], f"fields: {text}")
    check(json.dumps(env) == text, f"json.dumps's exact text: {text}")
    check(isinstance(env["timestamp"], float), f"timestamp is a float: {text}")
    check(abs(env["timestamp"] - time.time() * 1000) < 60000, f"epoch ms: {text}")
    return env


async def pong(ws):
    """PING, and the next frame is its PONG: nothing else was pending."""
    await ws.send("PING")
    env = await envelope(ws)
    check((env["source"], env["content"]) == ("websocket", "PONG"), f"expected PONG, got {env}")


def near(a, b):
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


async def demo(resp_port, ws_port):
    producer = Resp(resp_port)
    producer.call("DEL", "example_channel_1", "example_channel_2")
    producer.call("HSET", "example_channel_1", "initial_data_1", '{"some_json": "no GeoJSON"}')
    initial = (7.8486934304237375, 47.9914151679489)
    producer.call("HSET", "example_channel_2", "initial_data_1",
                  EXAMPLE_GEOJSON.format(id=1, lon=initial[0], lat=initial[1]))

    async with connect(f"ws://127.0.0.1:{ws_port}/rwa") as ws:
        opened = await envelope(ws)
        check(opened["source"] == "websocket" and opened["content"] == {"status": "open"}
              and opened["client_reference"] is None, f"open envelope: {opened}")
        for line in ["PROJECTION epsg:3857", "BBOX 0 0 1500000 7000000",
                     "GET example_channel_1", "GET example_channel_2",
                     "SUB example_channel_1", "SUB example_channel_2"]:
            await ws.send(line)
        first = await envelope(ws)
        check(first["source"] == "example_channel_1"
              and first["content"] == {"some_json": "no GeoJSON"}, f"GET 1: {first}")
        second = await envelope(ws)
        check(second["source"] == "example_channel_2", f"GET 2: {second}")
        check(second["content"]["properties"] == {"id": 1}, f"GET 2: {second}")
        check(near(second["content"]["geometry"]["coordinates"], mercator(*initial)),
              f"GET 2 projected: {second}")
        await pong(ws)

        # The demo's producer loop.
        expected = []
        for counter in range(2, MESSAGES + 2):
            lon, lat = counter % 180, counter % 90
            message = EXAMPLE_GEOJSON.format(id=counter, lon=lon, lat=lat)
            producer.call("HSET", "example_channel_2", f"data_{counter}", message)
            producer.call("PUBLISH", "example_channel_2", message)
            if inside(*mercator(lon, lat)):
                expected.append((counter, mercator(lon, lat)))
            await asyncio.sleep(0.002)
        check(len(expected) == 25, f"the box keeps 25 of the demo's points, not {len(expected)}")
        for counter, xy in expected:
            env = await envelope(ws)
            check(env["source"] == "example_channel_2", f"source: {env}")
            check(env["content"]["properties"]["id"] == counter,
                  f"expected point {counter}, got {env['content']}")
            check(near(env["content"]["geometry"]["coordinates"], xy), f"projected: {env}")
        await pong(ws)

        # GET with a field and a client reference; PGET with its own projection.
        await ws.send("GET example_channel_2 data_5 client_ref=abc")
        env = await envelope(ws)
        check(env["source"] == "example_channel_2 data_5" and env["client_reference"] == "abc",
              f"GET field: {env}")
        check(near(env["content"]["geometry"]["coordinates"], mercator(5, 5)), f"GET field: {env}")
        await ws.send("PGET example_channel_2 initial_data_1 cref projection=epsg:4326")
        env = await envelope(ws)
        check(env["client_reference"] == "cref"
              and env["content"]["geometry"]["coordinates"] == list(initial), f"PGET: {env}")

        # DEL stops delivery; unknown commands are ignored.
        await ws.send("DEL example_channel_2")
        await ws.send("HGETALL example_channel_2")
        await pong(ws)
        producer.call("PUBLISH", "example_channel_2", EXAMPLE_GEOJSON.format(id=0, lon=5, lat=5))
        producer.call("PUBLISH", "example_channel_1", '{"still": "here"}')
        env = await envelope(ws)
        check(env["source"] == "example_channel_1" and env["content"] == {"still": "here"},
              f"after DEL: {env}")

        # Where the package hangs up, corekv answers an error envelope and stays connected.
        for bad in ["GET", "SUB a b", "BBOX 1 2 3", "PROJECTION epsg:99999", "SUB not_allowed"]:
            await ws.send(bad)
            env = await envelope(ws)
            check(env["source"] == "error" and "error" in env["content"], f"{bad}: {env}")
        producer.call("PUBLISH", "example_channel_1", "not json")
        env = await envelope(ws)
        check(env["source"] == "error" and env["content"]["channel"] == "example_channel_1",
              f"non-JSON message: {env}")
        await pong(ws)


def main():
    resp_port, ws_port = int(sys.argv[1]), int(sys.argv[2])
    try:
        asyncio.run(demo(resp_port, ws_port))
    except Exception as e:  # noqa: BLE001 - any failure is a failed check
        print(f"rwa_py: FAILED after {CHECKS} checks: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"rwa_py: the redis_websocket_api demo passed ({CHECKS} checks)")


if __name__ == "__main__":
    main()

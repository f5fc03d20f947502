#!/usr/bin/env python3
"""http_load.py - load and misbehaving clients for the HTTP API (tests, bench).

  http_load.py producers --url URL --path PATH [--connections N] [--requests R]
               [--records K] [--timeout S] [--token T]
      N keep-alive connections, each POSTing R JSON batches of K records
      ({"id": unique, "v": ...}) one after the other. Prints one JSON object:
      requests, ok, statuses, timeouts, refused (connect/reset), records,
      seconds, records_per_s, p50_ms, p99_ms.

  http_load.py stall --url URL [--connections N] [--hold S] [--trickle]
      N connections that send half a request header (or, with --trickle, the
      headers of a POST and then one body byte every 0.5 s) and stall, while
      a well-behaved client GETs / on fresh connections for --hold seconds.
      Prints: opened, closed_by_server (stalled connections the server ended
      within the hold), probes, probe_ok, probe_p99_ms, probe_max_ms.

Plain asyncio sockets and a minimal HTTP/1.1 client, so that it needs
nothing beyond python3."""
import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))
    return round(values[k], 1)


async def read_response(reader):
    """Status and body of one HTTP/1.1 response (Content-Length bodies)."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("closed by the server")
    status = int(line.split()[1])
    length = 0
    close = False
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, body, close


class Producers:
    def __init__(self, args):
        u = urlsplit(args.url)
        self.host, self.port = u.hostname, u.port or 80
        self.args = args
        self.latencies = []
        self.statuses = {}
        self.timeouts = 0
        self.refused = 0
        self.records = 0
        self.next_id = 0

    def body(self):
        recs = []
        for _ in range(self.args.records):
            self.next_id += 1
            recs.append({"id": self.next_id, "v": "x" * 20})
        return json.dumps(recs).encode()

    def request(self, body):
        auth = f"Authorization: Bearer {self.args.token}\r\n" if self.args.token else ""
        return (f"POST {self.args.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\n{auth}Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body

    async def producer(self, start):
        await start.wait()
        writer = None
        sent = 0
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.args.timeout)
            while sent < self.args.requests:
                body = self.body()
                t0 = time.monotonic()
                writer.write(self.request(body))
                await writer.drain()
                status, _, close = await asyncio.wait_for(read_response(reader),
                                                          self.args.timeout)
                self.latencies.append((time.monotonic() - t0) * 1000.0)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 200:
                    self.records += self.args.records
                sent += 1
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
        except asyncio.TimeoutError:
            self.timeouts += self.args.requests - sent
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            self.refused += self.args.requests - sent
        finally:
            if writer is not None:
                writer.close()

    async def run(self):
        start = asyncio.Event()
        tasks = [asyncio.create_task(self.producer(start)) for _ in range(self.args.connections)]
        await asyncio.sleep(0)
        t0 = time.monotonic()
        start.set()
        await asyncio.gather(*tasks)
        seconds = time.monotonic() - t0
        return {
            "connections": self.args.connections,
            "requests": self.args.connections * self.args.requests,
            "ok": self.statuses.get(200, 0),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "timeouts": self.timeouts,
            "refused": self.refused,
            "records": self.records,
            "seconds": round(seconds, 3),
            "records_per_s": round(self.records / seconds) if seconds > 0 else 0,
            "p50_ms": percentile(self.latencies, 50),
            "p99_ms": percentile(self.latencies, 99),
        }


async def stall(args):
    u = urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    conns = []
    for _ in range(args.connections):
        try:
            r, w = await asyncio.open_connection(host, port)
        except OSError:
            continue
        if args.trickle:
            w.write((f"POST /consumption/query HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{").encode())
        else:
            w.write(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
        conns.append((r, w))
    closed = 0

    async def watch(r, w):
        nonlocal closed
        deadline = time.monotonic() + args.hold
        try:
            while time.monotonic() < deadline:
                if args.trickle:
                    w.write(b" ")
                    await w.drain()
                try:
                    data = await asyncio.wait_for(r.read(4096), 0.5)
                except asyncio.TimeoutError:
                    continue
                if not data or r.at_eof():
                    closed += 1
                    return
        except (ConnectionError, OSError):
            closed += 1

    watchers = [asyncio.create_task(watch(r, w)) for r, w in conns]
    probes, ok, lat = 0, 0, []
    t_end = time.monotonic() + args.hold
    while time.monotonic() < t_end:
        probes += 1
        t0 = time.monotonic()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
            w.write(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            status, _, _ = await asyncio.wait_for(read_response(r), 10)
            w.close()
            if status == 200:
                ok += 1
                lat.append((time.monotonic() - t0) * 1000.0)
        except (asyncio.TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        await asyncio.sleep(0.1)
    await asyncio.gather(*watchers)
    for _, w in conns:
        w.close()
    return {"opened": len(conns), "closed_by_server": closed, "probes": probes,
            "probe_ok": ok, "probe_p99_ms": percentile(lat, 99),
            "probe_max_ms": round(max(lat), 1) if lat else None}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    pp = sub.add_parser("producers")
    pp.add_argument("--url", required=True)
    pp.add_argument("--path", required=True)
    pp.add_argument("--connections", type=int, default=1000)
    pp.add_argument("--requests", type=int, default=5)
    pp.add_argument("--records", type=int, default=20)
    pp.add_argument("--timeout", type=float, default=30.0)
    pp.add_argument("--token", default="")
    ps = sub.add_parser("stall")
    ps.add_argument("--url", required=True)
    ps.add_argument("--connections", type=int, default=1000)
    ps.add_argument("--hold", type=float, default=5.0)
    ps.add_argument("--trickle", action="store_true")
    args = p.parse_args()
    if args.mode == "producers":
        out = asyncio.run(Producers(args).run())
    else:
        out = asyncio.run(stall(args))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

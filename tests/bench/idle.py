#!/usr/bin/env python3
"""Idle freshness: one record at a time over HTTP, then poll the query API.

    idle.py --port PORT --domain D --endpoint E [--gold-table T] [--tries N]

Each try posts one record (POST /ingest/D/E, a fresh id) to a group that has
nothing else to do, takes the reply as the acknowledgement, then polls
GET /consumption/query (keep-alive, back to back) until silver holds the id
(max(id)) and, with --gold-table, until gold table T (a dependency job whose
column n counts silver's rows) reaches the count. Freshness = first poll that
sees it - ack. Between tries it waits until the group is idle again (gold
caught up, then a pause), so every try starts from an idle system. Prints
key=value lines: tries, silver_p50_ms, silver_p99_ms, silver_max_ms and the
gold_* ones."""
import argparse
import http.client
import json
import sys
import time
import urllib.parse


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, (len(v) * p + 99) // 100 - 1))]


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None):
        self.conn.request(method, path, body=body,
                          headers={"Content-Type": "application/json"} if body else {})
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
        return json.loads(data) if data else None

    def scalar(self, sql):
        q = urllib.parse.urlencode({"sql": sql})
        try:
            rows = self.call("GET", "/consumption/query?" + q)["data"]
        except RuntimeError:  # a table that does not exist yet
            return None
        return next(iter(rows[0].values())) if rows else None


def wait_until(client, sql, want, deadline_s=10.0):
    """Monotonic time of the first poll whose scalar is >= want, or None."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        v = client.scalar(sql)
        if v is not None and v >= want:
            return time.monotonic()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--gold-table")
    ap.add_argument("--tries", type=int, default=60)
    ap.add_argument("--pause-ms", type=int, default=300)
    a = ap.parse_args()
    ingest, poll = Client(a.port), Client(a.port)
    silver_sql = f"SELECT max(id) FROM {a.domain}.silver.{a.endpoint}"
    gold_sql = f"SELECT n FROM {a.domain}.gold.{a.gold_table}" if a.gold_table else None
    base = int(poll.scalar(silver_sql) or 0)
    silver, gold, missed = [], [], 0
    for i in range(1, a.tries + 1):
        rec = {"id": base + i, "date": "2001/01/01 10:00", "delay": i % 60,
               "distance": 500, "time": 1.5, "origin": "SEA", "destination": "SFO"}
        ingest.call("POST", f"/ingest/{a.domain}/{a.endpoint}", json.dumps({"data": rec}))
        acked = time.monotonic()
        seen = wait_until(poll, silver_sql, base + i)
        if seen is None:
            missed += 1
            continue
        silver.append((seen - acked) * 1000)
        if gold_sql:
            seen = wait_until(poll, gold_sql, base + i)
            if seen is None:
                missed += 1
            else:
                gold.append((seen - acked) * 1000)
        time.sleep(a.pause_ms / 1000)
    print(f"tries={a.tries}")
    print(f"missed={missed}")
    for name, v in (("silver", silver), ("gold", gold)):
        if v:
            print(f"{name}_p50_ms={pct(v, 50):.1f}")
            print(f"{name}_p99_ms={pct(v, 99):.1f}")
            print(f"{name}_max_ms={max(v):.1f}")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

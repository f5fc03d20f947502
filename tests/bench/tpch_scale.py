#!/usr/bin/env python3
"""The TPC-H input of the model phase: tests/data/tpch-dbt3 replicated.

    tpch_scale.py --src DIR --out DIR --scale N

Writes OUT/<table>.ndjson: every row of SRC/<table>.ndjson N times. Replica r
adds r * stride to every key column (a column named <x>_<kind>key; stride =
the largest key of that kind in the data + 1, so keys stay unique and every
relation holds inside its replica; l_linenumber is not a key). Also writes
OUT/<table>.update.ndjson, the 1 % update batch: every 100th row of the
replicated table (index 0, 100, ...), its comment column suffixed with " (u)"
and, where the table has one, its price column raised by 1.00. The batch only
updates existing rows (no inserts, no deletes). OUT/<table>.update2.ndjson is
a second such batch (index 50, 150, ...; suffix " (v)"). Prints key=value
lines: rows, update_rows. Deterministic: no randomness."""
import argparse
import json
import os
import re

TABLES = ["region", "nation", "customer", "supplier", "part", "partsupp", "orders", "lineitem"]
PRICE = {"customer": "c_acctbal", "supplier": "s_acctbal", "part": "p_retailprice",
         "partsupp": "ps_supplycost", "orders": "o_totalprice", "lineitem": "l_extendedprice"}
KEY = re.compile(r"^[a-z]+_([a-z]+key)$")
MARKS = {0: " (u)", 50: " (v)"}  # row index mod 100 -> the suffix of its batch


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", type=int, required=True)
    a = ap.parse_args()
    data = {t: read(os.path.join(a.src, t + ".ndjson")) for t in TABLES}
    stride = {}
    for rows in data.values():
        for row in rows:
            for col, v in row.items():
                m = KEY.match(col)
                if m and isinstance(v, int):
                    stride[m.group(1)] = max(stride.get(m.group(1), 0), v + 1)
    os.makedirs(a.out, exist_ok=True)
    total = updates = 0
    for t in TABLES:
        keys = [(c, stride[KEY.match(c).group(1)]) for c in data[t][0] if KEY.match(c)]
        comment = next(c for c in data[t][0] if c.endswith("_comment"))
        price = PRICE.get(t)
        with open(os.path.join(a.out, t + ".ndjson"), "w", encoding="utf-8") as full, \
                open(os.path.join(a.out, t + ".update.ndjson"), "w", encoding="utf-8") as upd, \
                open(os.path.join(a.out, t + ".update2.ndjson"), "w", encoding="utf-8") as upd2:
            i = 0
            for r in range(a.scale):
                for row in data[t]:
                    out = dict(row)
                    for col, s in keys:
                        if isinstance(out.get(col), int):
                            out[col] += r * s
                    full.write(json.dumps(out, separators=(",", ":")) + "\n")
                    if i % 100 in MARKS:
                        out[comment] = (out.get(comment) or "") + MARKS[i % 100]
                        if price and out.get(price) is not None:
                            out[price] = round(float(out[price]) + 1.0, 2)
                        line = json.dumps(out, separators=(",", ":")) + "\n"
                        (upd if i % 100 == 0 else upd2).write(line)
                        updates += i % 100 == 0
                    i += 1
                    total += 1
    print(f"rows={total}")
    print(f"update_rows={updates}")


if __name__ == "__main__":
    main()

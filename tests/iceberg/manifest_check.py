"""manifest_check.py MANIFEST SPEC LIST LIST_SPEC - the second Avro reader
(Debian's python3-avro): header metadata keys, the field ids as the parsed
schema keeps them, entry counts, explicit sequence numbers of EXISTING /
DELETED entries, and sizes equal to the files' real sizes. Prints PASS/FAIL
lines like tests/lib.sh."""
import json
import os
import sys

import avro.datafile
import avro.io

failures = 0


def check(name, ok, why=""):
    global failures
    if ok:
        print(f"PASS {name}")
    else:
        failures += 1
        print(f"FAIL {name}: {why}")


def read(path):
    with open(path, "rb") as f:
        reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        meta = {k: reader.get_meta(k) for k in reader.meta}
        schema = reader.datum_reader.writers_schema
        records = list(reader)
        reader.close()
    return meta, schema, records


def field_ids(schema):
    """name -> field-id of the top-level fields, as the parsed schema keeps them"""
    return {f.name: f.other_props.get("field-id") for f in schema.fields}


manifest, spec_path, mlist, list_spec_path = sys.argv[1:5]
spec = json.load(open(spec_path))
meta, schema, records = read(manifest)
for key in ["schema", "schema-id", "partition-spec", "partition-spec-id", "format-version", "content"]:
    check(f"python-avro manifest key {key}", key in meta, sorted(meta))
check("python-avro manifest content", meta.get("content") == (spec.get("content") or "data").encode(), meta.get("content"))
ids = field_ids(schema)
want = {"status": 0, "snapshot_id": 1, "sequence_number": 3, "file_sequence_number": 4, "data_file": 2}
check("python-avro manifest field ids", ids == want, ids)
data_file = schema.fields_dict["data_file"].type
dids = field_ids(data_file)
check("python-avro data_file field ids",
      all(dids.get(k) == v for k, v in {"content": 134, "file_path": 100, "file_format": 101, "partition": 102,
                                         "record_count": 103, "file_size_in_bytes": 104, "column_sizes": 108,
                                         "value_counts": 109, "null_value_counts": 110, "nan_value_counts": 137,
                                         "lower_bounds": 125, "upper_bounds": 128}.items()), dids)
check("python-avro manifest entry count", len(records) == len(spec["entries"]), len(records))
for i, (r, e) in enumerate(zip(records, spec["entries"])):
    if r["status"] != 1:
        check(f"python-avro entry {i} explicit sequence numbers",
              r["sequence_number"] == e["sequence_number"] and r["file_sequence_number"] == e["file_sequence_number"],
              (r["sequence_number"], r["file_sequence_number"]))
    check(f"python-avro entry {i} file size",
          r["data_file"]["file_size_in_bytes"] == os.path.getsize(e["file"]["path"]), r["data_file"]["file_size_in_bytes"])

list_spec = json.load(open(list_spec_path))
meta, schema, records = read(mlist)
check("python-avro list keys", all(k in meta for k in ["snapshot-id", "sequence-number", "format-version"]), sorted(meta))
lids = field_ids(schema)
check("python-avro list field ids",
      all(lids.get(k) == v for k, v in {"manifest_path": 500, "manifest_length": 501, "partition_spec_id": 502,
                                         "content": 517, "sequence_number": 515, "min_sequence_number": 516,
                                         "added_snapshot_id": 503, "partitions": 507}.items()), lids)
check("python-avro list entry count", len(records) == len(list_spec["manifests"]), len(records))
for i, (r, m) in enumerate(zip(records, list_spec["manifests"])):
    check(f"python-avro list entry {i} manifest_length", r["manifest_length"] == os.path.getsize(m["path"]),
          r["manifest_length"])
sys.exit(1 if failures else 0)

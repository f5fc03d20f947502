/* iceberg_meta.h - Iceberg v2 table metadata (metadata/v<N>.metadata.json):
 * the mapping from the project's column types to Iceberg types, schemas with
 * field ids and identifier fields, snapshots with their summary, and the
 * whole metadata document of an unpartitioned, unsorted table. Pure logic
 * (jansson): the exporter keeps the state (field ids, snapshots, logs) and
 * builds each version from it.
 *
 * Type mapping: integer -> long; float -> double; boolean, date -> same;
 * timestamp -> timestamptz (microseconds, UTC; a value without a zone is
 * UTC); decimal with 1 <= precision <= 38 and a declared scale -> decimal(P,S);
 * a decimal of unbounded precision or scale (0 in the schema), json, array,
 * string -> string. Metadata columns: _seq -> long, _insert_date ->
 * timestamptz, _schema_version -> int, _rescued, _batch_id -> string.
 * Identifier fields (the primary key) must be required and not double:
 * a float key is left out of identifier-field-ids.
 * Ids: snapshot ids are random, positive and below 2^53 (JSON readers in
 * JavaScript read numbers as doubles); sequence numbers count from 1. */
#ifndef LAKEHOUSE_ICEBERG_META_H
#define LAKEHOUSE_ICEBERG_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"
#include "names.h"
#include "parquet.h"
#include "schema.h"

#define ICEBERG_FORMAT_VERSION 2
#define ICEBERG_TYPE_MAX 24
#define ICEBERG_UUID_MAX 37

/* One column of an Iceberg schema and how the Parquet writer stores it. */
struct iceberg_field {
    int32_t id;
    char name[NAMES_MAX];
    bool required;
    bool identifier;               /* part of identifier-field-ids */
    char type[ICEBERG_TYPE_MAX];   /* "long", "decimal(12,2)", ... */
    enum parquet_kind kind;
    int precision, scale;          /* decimal */
};

/* The Iceberg field of a project column (id, identifier left to the caller).
 * Every schema type maps to something. */
void iceberg_field_from_column(const struct schema_column *col, struct iceberg_field *out);
/* A field of one of the metadata columns (_seq, _insert_date,
 * _schema_version, _rescued, _batch_id; anything else: string). */
void iceberg_field_metadata(const char *name, struct iceberg_field *out);
/* The Parquet column definition of a field (name borrowed from f). */
void iceberg_field_parquet(const struct iceberg_field *f, struct parquet_column *out);

/* The schema object {"type":"struct","schema-id":..,"identifier-field-ids":
 * [..],"fields":[..]}. Caller owns the reference. */
json_t *iceberg_schema_json(int32_t schema_id, const struct iceberg_field *fields, size_t n);

/* A random snapshot id in [1, 2^53). */
int64_t iceberg_random_snapshot_id(void);
/* A random (version 4) UUID as text. */
void iceberg_random_uuid(char out[ICEBERG_UUID_MAX]);

struct iceberg_snapshot {
    int64_t snapshot_id;
    int64_t parent_id;          /* < 0: none */
    int64_t sequence_number;
    int64_t timestamp_ms;       /* the project snapshot's commit time */
    const char *manifest_list;
    int32_t schema_id;
    const char *operation;      /* "append", "overwrite", "delete", "replace" */
    int64_t lakehouse_snapshot_id;
    json_t *summary_extra;      /* borrowed; more summary keys (string values), or NULL */
};

/* The snapshot object of table metadata. Caller owns the reference. */
json_t *iceberg_snapshot_json(const struct iceberg_snapshot *s);

struct iceberg_metadata_log {
    int64_t timestamp_ms;
    const char *file;
};

struct iceberg_table {
    const char *uuid;
    const char *location;
    int64_t last_sequence_number;
    int64_t last_updated_ms;
    int32_t last_column_id;
    int32_t current_schema_id;
    json_t *schemas;            /* borrowed: array of iceberg_schema_json */
    const struct iceberg_snapshot *snapshots; /* oldest first */
    size_t nsnapshots;
    int64_t current_snapshot_id; /* < 0: none */
    const struct iceberg_metadata_log *metadata_log; /* earlier versions, oldest first */
    size_t nmetadata_log;
    json_t *properties;         /* borrowed; string values, or NULL */
};

/* The whole v2 metadata document. NULL with err when the table breaks a rule
 * (a current snapshot that is not listed, an id out of range). Caller owns
 * the reference. */
json_t *iceberg_table_json(const struct iceberg_table *t, char err[ERROR_MAX]);

#endif

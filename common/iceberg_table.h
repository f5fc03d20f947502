/* iceberg_table.h - the files of one Iceberg table in its store
 * (iceberg_store.h: local disk or S3), the table named by its key <key>:
 * <key>/data/<n>-<uuid>.parquet (rolled at a target size), the manifest and manifest
 * list of a snapshot in <key>/metadata/, metadata/v<N>.metadata.json
 * (created exclusively: a second writer of the same version fails; on S3 a
 * PUT with If-None-Match: *) and metadata/version-hint.text (replaced
 * atomically). Every file is durable (fsync'd, or stored by S3) before the
 * call returns, so a caller can commit in order: data files, manifests,
 * metadata version, its own pointer, the version hint. Paths written into
 * manifests and returned are the store's locations (iceberg_store_uri). The
 * caller (the exporter) owns the table state and the order of the steps. */
#ifndef LAKEHOUSE_ICEBERG_TABLE_H
#define LAKEHOUSE_ICEBERG_TABLE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"
#include "iceberg_manifest.h"
#include "iceberg_meta.h"
#include "iceberg_store.h"
#include "parquet.h"

struct iceberg_write_options {
    enum parquet_codec codec;
    uint64_t target_file_bytes; /* 0: 128 MiB; a data file is closed past this size */
    size_t row_group_bytes;     /* 0: the Parquet writer's default */
    const char *schema_json;    /* the table schema, as "iceberg.schema" in each file's
                                 * footer (NULL: none); borrowed while writing */
};

/* One written data file. */
struct iceberg_file {
    char path[PATH_MAX]; /* its location (iceberg_store_uri) */
    int64_t size, rows;
    struct iceberg_metrics *metrics; /* one per field, owned */
    size_t nmetrics;
};

/* The data files of one snapshot being written. */
struct iceberg_files;

/* Start writing data files of fields under <key>/data of st (built where
 * iceberg_store_stage says, put when closed). NULL with err. Caller owns
 * (iceberg_files_free); st must outlive it. */
struct iceberg_files *iceberg_files_open(struct iceberg_store *st, const char *key,
                                         const struct iceberg_field *fields, size_t n,
                                         const struct iceberg_write_options *opt,
                                         char err[ERROR_MAX]);
/* The Parquet writer for the next row (a new file when needed): add one
 * value per field (field order = column order), parquet_end_row, then
 * iceberg_files_row_done. NULL with err. */
struct parquet_writer *iceberg_files_row(struct iceberg_files *f, char err[ERROR_MAX]);
/* Where the row being added goes: the index of its file (in the order of
 * iceberg_files_list) and its position in that file. After
 * iceberg_files_row, before iceberg_files_row_done. */
void iceberg_files_position(const struct iceberg_files *f, size_t *file_no, int64_t *pos);
/* After parquet_end_row: closes the file once it reached the target size. */
int iceberg_files_row_done(struct iceberg_files *f, char err[ERROR_MAX]);
/* Close the open file. Afterwards the files are listed by iceberg_files_list. */
int iceberg_files_finish(struct iceberg_files *f, char err[ERROR_MAX]);
const struct iceberg_file *iceberg_files_list(const struct iceberg_files *f, size_t *n);
int64_t iceberg_files_rows(const struct iceberg_files *f);
/* Free; with remove, also delete every file written (a failed export). */
void iceberg_files_free(struct iceberg_files **f, bool remove);

/* Write the snapshot's manifest (every file ADDED, sequence numbers
 * inherited) and manifest list (that one manifest: a snapshot that replaces
 * the table's content) under <key>/metadata. manifest_path and list_path
 * get their locations. 0, or -1 with err (files written so far removed). */
int iceberg_write_snapshot(struct iceberg_store *st, const char *key,
                           const struct iceberg_files *files,
                           const struct iceberg_manifest_info *info, int64_t snapshot_id,
                           int64_t parent_id, int64_t sequence_number,
                           char manifest_path[PATH_MAX], char list_path[PATH_MAX],
                           char err[ERROR_MAX]);

/* One manifest of the snapshot's files (content: info->content; every
 * file ADDED, sequence numbers inherited) as <key>/metadata/<uuid>-m<k>.avro;
 * *out describes it for the manifest list (its location: path). */
int iceberg_write_manifest(struct iceberg_store *st, const char *key,
                           const struct iceberg_files *files,
                           const struct iceberg_manifest_info *info, int64_t snapshot_id,
                           int64_t sequence_number, int k, char path[PATH_MAX],
                           struct iceberg_manifest_file *out, char err[ERROR_MAX]);
/* The manifest list of a snapshot, <key>/metadata/snap-<id>-1-<uuid>.avro:
 * manifests m[0..n) (new ones and those carried from the parent). */
int iceberg_write_manifest_list(struct iceberg_store *st, const char *key, int64_t snapshot_id,
                                int64_t parent_id, int64_t sequence_number,
                                const struct iceberg_manifest_file *m, size_t n,
                                char path[PATH_MAX], char err[ERROR_MAX]);

/* "<dir>/metadata/v<version>.metadata.json" and "<dir>/metadata/version-hint.text":
 * where a table's versions and its hint are, for writers and readers (dir: a
 * table's key or location). 0, or -1 with err when the path does not fit. */
int iceberg_metadata_path(char path[PATH_MAX], const char *dir, int64_t version,
                          char err[ERROR_MAX]);
int iceberg_version_hint_path(char path[PATH_MAX], const char *dir, char err[ERROR_MAX]);
/* The version the hint of the table at key names: > 0, or -1 with err when
 * there is no readable hint. */
int64_t iceberg_read_version_hint(struct iceberg_store *st, const char *key,
                                  char err[ERROR_MAX]);

/* metadata/v<version>.metadata.json, created exclusively. path gets its
 * location. A version that exists already fails with kind ERROR_CONFLICT
 * (error.h); other failures carry the store's kind (S3 refused, down). */
int iceberg_write_metadata(struct iceberg_store *st, const char *key, int64_t version,
                           const json_t *metadata, char path[PATH_MAX], char err[ERROR_MAX]);
/* metadata/version-hint.text = "<version>" (atomic replace). */
int iceberg_write_version_hint(struct iceberg_store *st, const char *key, int64_t version,
                               char err[ERROR_MAX]);

#endif

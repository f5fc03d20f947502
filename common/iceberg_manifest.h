/* iceberg_manifest.h - Iceberg v2 manifests and manifest lists (Avro files
 * with the spec's field ids and header metadata), and the per-column metrics
 * a manifest carries for each data file (from the Parquet writer's
 * statistics, serialised as the spec's single-value binary form). The
 * exporter decides what goes in them; this module only writes them. */
#ifndef LAKEHOUSE_ICEBERG_MANIFEST_H
#define LAKEHOUSE_ICEBERG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binenc.h"
#include "error.h"
#include "parquet.h"

/* String bounds keep this many code points (the upper bound is then raised
 * so that it stays above every value), like Iceberg's default truncate(16). */
#define ICEBERG_STRING_BOUND_CHARS 16
#define ICEBERG_BOUND_MAX (ICEBERG_STRING_BOUND_CHARS * 4)

enum iceberg_status { ICEBERG_EXISTING = 0, ICEBERG_ADDED = 1, ICEBERG_DELETED = 2 };
enum iceberg_content { ICEBERG_DATA = 0, ICEBERG_POSITION_DELETES = 1 };

/* Metrics of one column of one data file. */
struct iceberg_metrics {
    int32_t field_id;
    int64_t column_size, value_count, null_count;
    int64_t nan_count; /* < 0: not recorded (not a floating-point column) */
    bool has_lower, has_upper;
    uint8_t lower[ICEBERG_BOUND_MAX], upper[ICEBERG_BOUND_MAX];
    size_t lower_len, upper_len;
};

/* The manifest metrics of a Parquet column from its writer statistics. */
void iceberg_metrics_from_parquet(const struct parquet_column *col,
                                  const struct parquet_column_stats *st,
                                  struct iceberg_metrics *out);

struct iceberg_data_file {
    enum iceberg_content content;
    const char *path;        /* the location readers open (absolute path or URI) */
    const char *format;      /* "PARQUET" */
    int64_t record_count;
    int64_t file_size;       /* the file's real size */
    const struct iceberg_metrics *metrics;
    size_t nmetrics;
};

struct iceberg_manifest_entry {
    enum iceberg_status status;
    int64_t snapshot_id;
    /* < 0: null, inherited from the manifest list (only for ADDED entries:
     * EXISTING and DELETED entries must carry both explicitly) */
    int64_t sequence_number, file_sequence_number;
    struct iceberg_data_file file;
};

/* What a manifest's header says about the table. */
struct iceberg_manifest_info {
    const char *schema_json;         /* the table schema (Iceberg JSON) */
    int32_t schema_id;
    const char *partition_spec_json; /* the spec's fields array, "[]" unpartitioned */
    int32_t partition_spec_id;
    enum iceberg_content content;
};

/* Encode a manifest (Avro container) into out. 0, or -1 with err (an entry
 * that breaks the spec's rules, e.g. EXISTING without sequence numbers). */
int iceberg_manifest_encode(struct strbuf *out, const struct iceberg_manifest_info *info,
                            const struct iceberg_manifest_entry *entries, size_t n,
                            char err[ERROR_MAX]);

/* One manifest as the manifest list records it. */
struct iceberg_manifest_file {
    const char *path;
    int64_t length;            /* the manifest's real size */
    int32_t partition_spec_id;
    enum iceberg_content content;
    int64_t sequence_number, min_sequence_number;
    int64_t added_snapshot_id;
    int32_t added_files, existing_files, deleted_files;
    int64_t added_rows, existing_rows, deleted_rows;
};

/* Encode a manifest list for snapshot_id (parent < 0: none) at
 * sequence_number. 0, or -1 with err. */
int iceberg_manifest_list_encode(struct strbuf *out, int64_t snapshot_id, int64_t parent_id,
                                 int64_t sequence_number, const struct iceberg_manifest_file *m,
                                 size_t n, char err[ERROR_MAX]);

#endif

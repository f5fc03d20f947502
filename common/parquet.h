/* parquet.h - a streaming writer of Apache Parquet files for flat tables:
 * one leaf column per table column, each REQUIRED or OPTIONAL, each with a
 * field_id (Iceberg matches columns by it). Owns the file layout only; which
 * table goes into which file is the exporter's business.
 *
 * What it writes (choices that keep every common reader happy):
 *   - data pages v1, PLAIN values, definition levels (OPTIONAL columns) in the
 *     RLE/bit-packed hybrid; no dictionary pages;
 *   - codec UNCOMPRESSED, SNAPPY or ZSTD for every column;
 *   - logical types beside the legacy converted types: date = INT32 DATE;
 *     timestamptz = INT64 TIMESTAMP(UTC, MICROS) + TIMESTAMP_MICROS; decimal
 *     (precision 1..38) = INT32 (P <= 9), INT64 (P <= 18) or
 *     FIXED_LEN_BYTE_ARRAY of the fewest bytes that hold P digits, with
 *     DECIMAL(P,S); string = BYTE_ARRAY STRING + UTF8; long = INT64; int =
 *     INT32; double = DOUBLE; boolean = BOOLEAN;
 *   - column chunk statistics with null_count and min_value/max_value in the
 *     type's order (column_orders = TYPE_ORDER): doubles ignore NaN and write
 *     -0.0 / +0.0 for a zero bound; strings longer than
 *     PARQUET_STRING_STAT_MAX bytes get a shortened min (a prefix, flagged
 *     inexact) and no max, so the bounds always cover every value;
 *   - pages of about page_bytes, row groups flushed when the buffered column
 *     chunks reach row_group_bytes: memory stays bounded by that, whatever
 *     the number of rows.
 * The file is created exclusively (never overwrites) and fsync'd by close;
 * a failed or aborted writer removes its file. */
#ifndef LAKEHOUSE_PARQUET_H
#define LAKEHOUSE_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binenc.h"
#include "error.h"

enum parquet_kind {
    PARQUET_LONG,
    PARQUET_INT,
    PARQUET_DOUBLE,
    PARQUET_BOOLEAN,
    PARQUET_DATE,        /* days since 1970-01-01 */
    PARQUET_TIMESTAMPTZ, /* microseconds since 1970-01-01T00:00Z */
    PARQUET_DECIMAL,     /* unscaled value, precision 1..38 */
    PARQUET_STRING       /* UTF-8 */
};

enum parquet_codec { PARQUET_CODEC_UNCOMPRESSED, PARQUET_CODEC_SNAPPY, PARQUET_CODEC_ZSTD };

#define PARQUET_DECIMAL_PRECISION_MAX 38
#define PARQUET_STRING_STAT_MAX 64

struct parquet_column {
    const char *name;     /* copied by open */
    enum parquet_kind kind;
    int32_t field_id;
    bool required;        /* REQUIRED (no nulls accepted) or OPTIONAL */
    int precision, scale; /* decimal only: 1 <= precision <= 38, 0 <= scale <= precision */
};

struct parquet_options {
    enum parquet_codec codec;
    size_t page_bytes;      /* 0: 1 MiB of values per page */
    size_t row_group_bytes; /* 0: 64 MiB buffered per row group */
    int zstd_level;         /* 0: 3 */
    /* one key_value_metadata pair of the footer (Iceberg's "iceberg.schema":
     * readers map columns by the field ids of the schema the file was
     * written with), or NULL; borrowed until the writer is closed */
    const char *kv_key, *kv_value;
};

/* Bounds and counts of one column over the whole file, for Iceberg's
 * manifest metrics. Bounds are present when at least one non-null (non-NaN
 * for doubles) value was written; the field that holds them follows the kind:
 * min_i/max_i (long, int, date, timestamptz, boolean as 0/1), min_d/max_d
 * (double), min_dec/max_dec (decimal, unscaled), min_s/max_s (string: the
 * whole values, malloc'd, owned by the struct: parquet_stats_free). */
struct parquet_column_stats {
    int64_t values;      /* rows, nulls included */
    int64_t nulls;
    int64_t nans;        /* doubles */
    uint64_t bytes;      /* compressed size of the column's chunks, page headers included */
    bool has_bounds;
    int64_t min_i, max_i;
    double min_d, max_d;
    __int128 min_dec, max_dec;
    char *min_s, *max_s;
    size_t min_len, max_len;
};

struct parquet_writer;

/* Create path (O_EXCL, mode 0640) and write the header. columns: ncols >= 1,
 * names unique (not checked here: the schema is). Returns the writer (caller
 * owns: parquet_writer_close or parquet_writer_abort), or NULL with err. */
struct parquet_writer *parquet_writer_open(const char *path, const struct parquet_column *columns,
                                           size_t ncols, const struct parquet_options *options,
                                           char err[ERROR_MAX]);

/* Values of the current row, one per column (in any order). long/int/date/
 * timestamptz use add_int (int and date must fit 32 bits), boolean add_bool,
 * double add_double, string add_string, decimal add_decimal (unscaled; must
 * fit the precision) or add_decimal_text. Each returns 0, or -1 with err
 * naming the column (wrong kind, out of range, null in a REQUIRED column,
 * two values for one column, out of memory); after an error the writer can
 * only be aborted. */
int parquet_add_null(struct parquet_writer *w, size_t col, char err[ERROR_MAX]);
int parquet_add_int(struct parquet_writer *w, size_t col, int64_t v, char err[ERROR_MAX]);
int parquet_add_bool(struct parquet_writer *w, size_t col, bool v, char err[ERROR_MAX]);
int parquet_add_double(struct parquet_writer *w, size_t col, double v, char err[ERROR_MAX]);
int parquet_add_string(struct parquet_writer *w, size_t col, const char *s, size_t len,
                       char err[ERROR_MAX]);
int parquet_add_decimal(struct parquet_writer *w, size_t col, __int128 unscaled,
                        char err[ERROR_MAX]);
int parquet_add_decimal_text(struct parquet_writer *w, size_t col, const char *text,
                             char err[ERROR_MAX]);
/* Close the current row: every column must have had its value. May flush a
 * row group to the file. 0 or -1 with err. */
int parquet_end_row(struct parquet_writer *w, char err[ERROR_MAX]);

/* Bytes the file will have before its footer: written plus buffered. */
uint64_t parquet_writer_bytes(const struct parquet_writer *w);

/* Flush the last row group, write the footer, fsync, close. On success
 * *file_size is the file's size and, when stats is not NULL, stats[0..ncols)
 * are filled (free each with parquet_stats_free). On error the file is
 * removed. *w is freed and set to NULL in both cases. 0 or -1 with err. */
int parquet_writer_close(struct parquet_writer **w, uint64_t *file_size,
                         struct parquet_column_stats *stats, char err[ERROR_MAX]);
/* Give up: close and remove the file. NULL-safe; sets *w to NULL. */
void parquet_writer_abort(struct parquet_writer **w);

void parquet_stats_free(struct parquet_column_stats *stats);

/* A decimal literal [+-]digits[.digits] as the unscaled value at scale,
 * within precision digits. Fraction digits beyond the scale must be zeros.
 * 0, or -1 (not a literal, or does not fit). */
int parquet_decimal_parse(const char *text, int precision, int scale, __int128 *unscaled);
/* Bytes of the FIXED_LEN_BYTE_ARRAY that holds any precision-digit decimal. */
int parquet_decimal_fixed_bytes(int precision);

/* Page layout helpers, exposed for the unit tests. */
/* Definition levels (0 = null, 1 = value) of n values in the RLE/bit-packed
 * hybrid with bit width 1, without the 4-byte length prefix. */
void parquet_encode_levels(struct strbuf *out, const uint8_t *levels, size_t n);

#endif

/* parquet_internal.h - what the parts of the Parquet writer (parquet.c: pages,
 * values, statistics; parquet_footer.c: the file metadata in Thrift compact
 * protocol) share: parquet.thrift's numbers and the writer's state. Only
 * those two files include it. */
#ifndef LAKEHOUSE_PARQUET_INTERNAL_H
#define LAKEHOUSE_PARQUET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "binenc.h"
#include "parquet.h"

/* Physical types, encodings, codecs and converted types as parquet.thrift
 * numbers them. */
enum { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FIXED = 7 };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_RLE = 3 };
enum { PQ_CT_UTF8 = 0, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIMESTAMP_MICROS = 10 };
enum { PQ_LT_STRING = 1, PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIMESTAMP = 8 };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1 };

/* A page holds at most this many values (like other writers' row-count
 * limit), which also bounds its definition-level buffer. */
#define PQ_PAGE_VALUES_MAX 20000
#define PQ_MAGIC "PAR1"

struct pq_minmax {
    bool set;
    int64_t min_i, max_i;
    double min_d, max_d;
    __int128 min_dec, max_dec;
    struct strbuf min_s, max_s;
};

/* One column chunk as the footer describes it. */
struct pq_chunk_meta {
    int64_t num_values, nulls;
    uint64_t uncompressed, compressed;
    uint64_t data_page_offset;
    struct strbuf min, max;
    bool has_min, has_max, min_exact;
};

struct pq_row_group {
    int64_t rows;
    uint64_t offset, uncompressed, compressed;
    struct pq_chunk_meta *chunks; /* ncols */
};

struct pq_col {
    struct parquet_column def;
    int phys;
    int type_length; /* FIXED_LEN_BYTE_ARRAY only */
    struct strbuf values, levels;
    uint32_t page_values, page_nonnull;
    struct strbuf chunk; /* finished pages of the current row group */
    uint64_t chunk_uncompressed;
    int64_t chunk_values, chunk_nulls;
    struct pq_minmax chunk_mm, file_mm;
    int64_t file_values, file_nulls, file_nans;
    uint64_t file_bytes;
    bool has_value; /* in the current row */
};

struct parquet_writer {
    char *path;
    FILE *f;
    uint64_t offset;
    struct pq_col *cols;
    size_t ncols;
    struct parquet_options opt;
    int64_t rg_rows, total_rows;
    uint64_t pending;     /* bytes in the open pages of all columns */
    uint64_t chunk_bytes; /* bytes in the finished pages of the current row group */
    struct pq_row_group *groups;
    size_t ngroups, groups_cap;
    struct strbuf page, packed, header;
    bool failed;
};

/* The footer of w's file (FileMetaData, its length, the magic) appended to
 * out; out->failed when memory ran out. */
void parquet_footer_encode(const struct parquet_writer *w, struct strbuf *out);

#endif

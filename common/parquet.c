/* parquet.c - streaming Parquet writer (parquet.h). */
#include "parquet.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "parquet_internal.h"
#include "thrift_compact.h"

/* ---- decimals ------------------------------------------------------------ */

static __int128 pq_pow10(int n)
{
    __int128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

int parquet_decimal_fixed_bytes(int precision)
{
    /* fewest bytes whose signed range holds 10^precision - 1 */
    __int128 limit = pq_pow10(precision);
    for (int n = 1; n < 16; n++) {
        __int128 max = ((__int128)1 << (8 * n - 1)) - 1;
        if (max >= limit - 1)
            return n;
    }
    return 16;
}

int parquet_decimal_parse(const char *text, int precision, int scale, __int128 *unscaled)
{
    if (precision < 1 || precision > PARQUET_DECIMAL_PRECISION_MAX || scale < 0 || scale > precision)
        return -1;
    const char *p = text;
    bool negative = false;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    while (*p == '0' && p[1] >= '0' && p[1] <= '9')
        p++;
    __int128 v = 0;
    int int_digits = 0, any = 0;
    for (; *p >= '0' && *p <= '9'; p++, any++) {
        if (v != 0 || *p != '0')
            int_digits++;
        if (int_digits > precision - scale)
            return -1;
        v = v * 10 + (*p - '0');
    }
    int frac_digits = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, any++) {
            if (frac_digits < scale) {
                v = v * 10 + (*p - '0');
                frac_digits++;
            } else if (*p != '0') {
                return -1; /* a digit the scale cannot hold */
            }
        }
    }
    if (*p != '\0' || any == 0)
        return -1;
    v *= pq_pow10(scale - frac_digits);
    *unscaled = negative ? -v : v;
    return 0;
}

/* ---- page layout ----------------------------------------------------------- */

void parquet_encode_levels(struct strbuf *out, const uint8_t *levels, size_t n)
{
    size_t ones = 0;
    for (size_t i = 0; i < n; i++)
        ones += levels[i];
    if (ones == n || ones == 0) { /* one RLE run: count << 1, then the value */
        binenc_uvarint(out, (uint64_t)n << 1);
        binenc_byte(out, ones ? 1 : 0);
        return;
    }
    /* one bit-packed run of ceil(n/8) groups of 8 values, LSB first; the
     * padding of the last group is never read (num_values says how many) */
    size_t groups = (n + 7) / 8;
    binenc_uvarint(out, (uint64_t)groups << 1 | 1);
    if (!strbuf_reserve(out, groups))
        return;
    uint8_t *dst = (uint8_t *)out->s + out->len;
    memset(dst, 0, groups);
    for (size_t i = 0; i < n; i++)
        dst[i / 8] |= (uint8_t)(levels[i] << (i % 8));
    out->len += groups;
}

static int pq_compress(const struct parquet_writer *w, const struct strbuf *in, struct strbuf *out,
                       char err[ERROR_MAX])
{
    strbuf_cut(out, 0);
    switch (w->opt.codec) {
    case PARQUET_CODEC_UNCOMPRESSED:
        strbuf_append(out, in->s, in->len);
        break;
    case PARQUET_CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(in->len);
        if (!strbuf_reserve(out, cap))
            break;
        size_t n = cap;
        if (snappy_compress((const char *)in->s, in->len, (char *)out->s, &n) != SNAPPY_OK)
            return error_set(err, "%s: snappy compression failed", w->path);
        out->len = n;
        break;
    }
    case PARQUET_CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(in->len);
        if (!strbuf_reserve(out, cap))
            break;
        size_t n = ZSTD_compress(out->s, cap, in->s, in->len, w->opt.zstd_level);
        if (ZSTD_isError(n))
            return error_set(err, "%s: zstd compression failed: %s", w->path, ZSTD_getErrorName(n));
        out->len = n;
        break;
    }
    }
    if (out->failed)
        return error_set(err, "%s: out of memory", w->path);
    return 0;
}

/* Close the open page of c: levels + values, compressed, behind a v1 data
 * page header, appended to the column's chunk. */
static int pq_page_flush(struct parquet_writer *w, struct pq_col *c, char err[ERROR_MAX])
{
    if (c->page_values == 0)
        return 0;
    struct strbuf *page = &w->page;
    strbuf_cut(page, 0);
    if (!c->def.required) {
        binenc_u32le(page, 0); /* length, patched below */
        size_t start = page->len;
        parquet_encode_levels(page, binenc_bytes(&c->levels), c->levels.len);
        if (!page->failed) {
            uint32_t n = (uint32_t)(page->len - start);
            for (int i = 0; i < 4; i++)
                page->s[start - 4 + i] = (uint8_t)(n >> (8 * i));
        }
    }
    strbuf_append(page, c->values.s, c->values.len);
    if (page->failed)
        return error_set(err, "%s: out of memory", w->path);
    if (page->len > INT32_MAX)
        return error_set(err, "%s: column '%s': page too large", w->path, c->def.name);
    if (pq_compress(w, page, &w->packed, err) < 0)
        return -1;

    strbuf_cut(&w->header, 0);
    struct thrift_writer t;
    thrift_writer_init(&t, &w->header);
    thrift_field_i32(&t, 1, 0); /* DATA_PAGE */
    thrift_field_i32(&t, 2, (int32_t)page->len);
    thrift_field_i32(&t, 3, (int32_t)w->packed.len);
    thrift_field_struct_begin(&t, 5);
    thrift_field_i32(&t, 1, (int32_t)c->page_values);
    thrift_field_i32(&t, 2, PQ_ENC_PLAIN);
    thrift_field_i32(&t, 3, PQ_ENC_RLE);
    thrift_field_i32(&t, 4, PQ_ENC_RLE);
    thrift_struct_end(&t);
    thrift_struct_end(&t);

    size_t before = c->chunk.len;
    strbuf_append(&c->chunk, w->header.s, w->header.len);
    strbuf_append(&c->chunk, w->packed.s, w->packed.len);
    if (c->chunk.failed || w->header.failed)
        return error_set(err, "%s: out of memory", w->path);
    c->chunk_uncompressed += w->header.len + page->len;
    c->chunk_values += c->page_values;
    w->chunk_bytes += c->chunk.len - before;
    w->pending -= c->values.len + c->levels.len;
    strbuf_cut(&c->values, 0);
    strbuf_cut(&c->levels, 0);
    c->page_values = c->page_nonnull = 0;
    return 0;
}

/* ---- statistics ------------------------------------------------------------ */

static int pq_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n > 0 ? memcmp(a, b, n) : 0; /* an empty bound has no bytes (p may be NULL) */
    if (r != 0)
        return r;
    return an < bn ? -1 : an > bn;
}

static void pq_mm_int(struct pq_minmax *m, int64_t v)
{
    if (!m->set || v < m->min_i)
        m->min_i = v;
    if (!m->set || v > m->max_i)
        m->max_i = v;
    m->set = true;
}

static void pq_mm_double(struct pq_minmax *m, double v)
{
    if (isnan(v))
        return; /* NaN has no place in min/max; nans are counted */
    if (!m->set || v < m->min_d)
        m->min_d = v;
    if (!m->set || v > m->max_d)
        m->max_d = v;
    m->set = true;
}

static void pq_mm_dec(struct pq_minmax *m, __int128 v)
{
    if (!m->set || v < m->min_dec)
        m->min_dec = v;
    if (!m->set || v > m->max_dec)
        m->max_dec = v;
    m->set = true;
}

static void pq_mm_string(struct pq_minmax *m, const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    if (!m->set || pq_bytes_cmp(u, len, binenc_bytes(&m->min_s), m->min_s.len) < 0) {
        strbuf_cut(&m->min_s, 0);
        strbuf_append(&m->min_s, s, len);
    }
    if (!m->set || pq_bytes_cmp(u, len, binenc_bytes(&m->max_s), m->max_s.len) > 0) {
        strbuf_cut(&m->max_s, 0);
        strbuf_append(&m->max_s, s, len);
    }
    m->set = true;
}

static void pq_mm_clear(struct pq_minmax *m)
{
    strbuf_free(&m->min_s);
    strbuf_free(&m->max_s);
    memset(m, 0, sizeof *m);
}

static void pq_put_be(struct strbuf *out, __int128 v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        binenc_byte(out, (uint8_t)(v >> (8 * i)));
}

/* PLAIN form of one bound (no length prefix for byte arrays). */
static void pq_encode_bound(const struct pq_col *c, const struct pq_minmax *m, bool max,
                            struct strbuf *out)
{
    switch (c->def.kind) {
    case PARQUET_LONG:
    case PARQUET_TIMESTAMPTZ:
        binenc_u64le(out, (uint64_t)(max ? m->max_i : m->min_i));
        break;
    case PARQUET_INT:
    case PARQUET_DATE:
        binenc_u32le(out, (uint32_t)(max ? m->max_i : m->min_i));
        break;
    case PARQUET_BOOLEAN:
        binenc_byte(out, (uint8_t)(max ? m->max_i : m->min_i));
        break;
    case PARQUET_DOUBLE: {
        double d = max ? m->max_d : m->min_d;
        if (d == 0)
            d = max ? 0.0 : -0.0; /* a zero bound covers both zeros */
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        binenc_u64le(out, bits);
        break;
    }
    case PARQUET_DECIMAL: {
        __int128 v = max ? m->max_dec : m->min_dec;
        if (c->phys == PQ_INT32)
            binenc_u32le(out, (uint32_t)(int32_t)v);
        else if (c->phys == PQ_INT64)
            binenc_u64le(out, (uint64_t)(int64_t)v);
        else
            pq_put_be(out, v, c->type_length);
        break;
    }
    case PARQUET_STRING: {
        const struct strbuf *s = max ? &m->max_s : &m->min_s;
        strbuf_append(out, s->s, s->len);
        break;
    }
    }
}

/* The chunk's bounds into meta. A long string min becomes a prefix (cut at a
 * UTF-8 character start), a long string max is left out. */
static void pq_chunk_bounds(const struct pq_col *c, struct pq_chunk_meta *meta)
{
    const struct pq_minmax *m = &c->chunk_mm;
    if (!m->set)
        return;
    meta->has_min = meta->has_max = meta->min_exact = true;
    if (c->def.kind == PARQUET_STRING) {
        size_t n = m->min_s.len;
        if (n > PARQUET_STRING_STAT_MAX) {
            n = PARQUET_STRING_STAT_MAX;
            while (n > 0 && ((uint8_t)m->min_s.s[n] & 0xc0) == 0x80)
                n--;
            meta->min_exact = false;
        }
        strbuf_append(&meta->min, m->min_s.s, n);
        if (m->max_s.len > PARQUET_STRING_STAT_MAX)
            meta->has_max = false;
        else
            strbuf_append(&meta->max, m->max_s.s, m->max_s.len);
        return;
    }
    pq_encode_bound(c, m, false, &meta->min);
    pq_encode_bound(c, m, true, &meta->max);
}

/* ---- open and values -------------------------------------------------------- */

static int pq_col_setup(struct pq_col *c, const struct parquet_column *def, char err[ERROR_MAX])
{
    c->def = *def;
    c->def.name = strdup(def->name);
    if (c->def.name == NULL)
        return error_set(err, "out of memory");
    switch (def->kind) {
    case PARQUET_LONG:
    case PARQUET_TIMESTAMPTZ:
        c->phys = PQ_INT64;
        break;
    case PARQUET_INT:
    case PARQUET_DATE:
        c->phys = PQ_INT32;
        break;
    case PARQUET_DOUBLE:
        c->phys = PQ_DOUBLE;
        break;
    case PARQUET_BOOLEAN:
        c->phys = PQ_BOOLEAN;
        break;
    case PARQUET_STRING:
        c->phys = PQ_BYTE_ARRAY;
        break;
    case PARQUET_DECIMAL:
        if (def->precision < 1 || def->precision > PARQUET_DECIMAL_PRECISION_MAX ||
            def->scale < 0 || def->scale > def->precision)
            return error_set(err, "column '%s': decimal(%d,%d) is not a Parquet decimal", def->name,
                             def->precision, def->scale);
        if (def->precision <= 9) {
            c->phys = PQ_INT32;
        } else if (def->precision <= 18) {
            c->phys = PQ_INT64;
        } else {
            c->phys = PQ_FIXED;
            c->type_length = parquet_decimal_fixed_bytes(def->precision);
        }
        break;
    default:
        return error_set(err, "column '%s': unknown kind %d", def->name, (int)def->kind);
    }
    return 0;
}

static void pq_free(struct parquet_writer *w)
{
    for (size_t i = 0; i < w->ncols; i++) {
        struct pq_col *c = &w->cols[i];
        free((char *)c->def.name);
        strbuf_free(&c->values);
        strbuf_free(&c->levels);
        strbuf_free(&c->chunk);
        pq_mm_clear(&c->chunk_mm);
        pq_mm_clear(&c->file_mm);
    }
    for (size_t g = 0; g < w->ngroups; g++) {
        for (size_t i = 0; i < w->ncols; i++) {
            strbuf_free(&w->groups[g].chunks[i].min);
            strbuf_free(&w->groups[g].chunks[i].max);
        }
        free(w->groups[g].chunks);
    }
    free(w->groups);
    free(w->cols);
    strbuf_free(&w->page);
    strbuf_free(&w->packed);
    strbuf_free(&w->header);
    free(w->path);
    free(w);
}

static int pq_write(struct parquet_writer *w, const void *p, size_t n, char err[ERROR_MAX])
{
    if (n > 0 && fwrite(p, 1, n, w->f) != n)
        return error_set(err, "%s: write failed: %s", w->path, strerror(errno));
    w->offset += n;
    return 0;
}

struct parquet_writer *parquet_writer_open(const char *path, const struct parquet_column *columns,
                                           size_t ncols, const struct parquet_options *options,
                                           char err[ERROR_MAX])
{
    if (ncols == 0) {
        error_set(err, "%s: a Parquet file needs at least one column", path);
        return NULL;
    }
    struct parquet_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    w->opt = *options;
    if (w->opt.page_bytes == 0)
        w->opt.page_bytes = 1 << 20;
    if (w->opt.row_group_bytes == 0)
        w->opt.row_group_bytes = 64 << 20;
    if (w->opt.zstd_level == 0)
        w->opt.zstd_level = 3;
    w->path = strdup(path);
    w->cols = calloc(ncols, sizeof *w->cols);
    if (w->path == NULL || w->cols == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    w->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        if (pq_col_setup(&w->cols[i], &columns[i], err) < 0)
            goto fail;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        error_set(err, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    w->f = fdopen(fd, "wb");
    if (w->f == NULL) {
        error_set(err, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        goto fail;
    }
    if (pq_write(w, PQ_MAGIC, 4, err) < 0) {
        parquet_writer_abort(&w);
        return NULL;
    }
    return w;
fail:
    pq_free(w);
    return NULL;
}

static struct pq_col *pq_value_col(struct parquet_writer *w, size_t col, bool null,
                                   char err[ERROR_MAX])
{
    if (w->failed) {
        error_set(err, "%s: the writer failed before", w->path);
        return NULL;
    }
    if (col >= w->ncols) {
        error_set(err, "%s: no column %zu", w->path, col);
        return NULL;
    }
    struct pq_col *c = &w->cols[col];
    if (c->has_value) {
        error_set(err, "%s: column '%s': two values in one row", w->path, c->def.name);
        return NULL;
    }
    if (null && c->def.required) {
        error_set(err, "%s: column '%s': null in a required column", w->path, c->def.name);
        return NULL;
    }
    if (!c->def.required) {
        size_t before = c->levels.len;
        binenc_byte(&c->levels, null ? 0 : 1);
        w->pending += c->levels.len - before;
    }
    c->has_value = true;
    c->page_values++;
    c->chunk_nulls += null;
    c->file_values++;
    c->file_nulls += null;
    return c;
}

/* After a value: memory check, page full? */
static int pq_value_done(struct parquet_writer *w, struct pq_col *c, size_t added,
                         char err[ERROR_MAX])
{
    w->pending += added;
    if (c->values.failed || c->levels.failed) {
        w->failed = true;
        return error_set(err, "%s: out of memory", w->path);
    }
    if (c->values.len >= w->opt.page_bytes || c->page_values >= PQ_PAGE_VALUES_MAX) {
        if (pq_page_flush(w, c, err) < 0) {
            w->failed = true;
            return -1;
        }
    }
    return 0;
}

static int pq_kind_error(struct parquet_writer *w, struct pq_col *c, const char *what,
                         char err[ERROR_MAX])
{
    w->failed = true;
    return error_set(err, "%s: column '%s': %s", w->path, c->def.name, what);
}

int parquet_add_null(struct parquet_writer *w, size_t col, char err[ERROR_MAX])
{
    struct pq_col *c = pq_value_col(w, col, true, err);
    if (c == NULL)
        return -1;
    return pq_value_done(w, c, 0, err);
}

int parquet_add_int(struct parquet_writer *w, size_t col, int64_t v, char err[ERROR_MAX])
{
    if (col < w->ncols) {
        enum parquet_kind k = w->cols[col].def.kind;
        if (k != PARQUET_LONG && k != PARQUET_INT && k != PARQUET_DATE && k != PARQUET_TIMESTAMPTZ)
            return pq_kind_error(w, &w->cols[col], "not an integer column", err);
        if (w->cols[col].phys == PQ_INT32 && (v < INT32_MIN || v > INT32_MAX))
            return pq_kind_error(w, &w->cols[col], "value out of the 32-bit range", err);
    }
    struct pq_col *c = pq_value_col(w, col, false, err);
    if (c == NULL)
        return -1;
    size_t before = c->values.len;
    if (c->phys == PQ_INT32)
        binenc_u32le(&c->values, (uint32_t)(int32_t)v);
    else
        binenc_u64le(&c->values, (uint64_t)v);
    pq_mm_int(&c->chunk_mm, v);
    pq_mm_int(&c->file_mm, v);
    c->page_nonnull++;
    return pq_value_done(w, c, c->values.len - before, err);
}

int parquet_add_bool(struct parquet_writer *w, size_t col, bool v, char err[ERROR_MAX])
{
    if (col < w->ncols && w->cols[col].def.kind != PARQUET_BOOLEAN)
        return pq_kind_error(w, &w->cols[col], "not a boolean column", err);
    struct pq_col *c = pq_value_col(w, col, false, err);
    if (c == NULL)
        return -1;
    size_t before = c->values.len;
    /* PLAIN booleans: one bit each, LSB first */
    if (c->page_nonnull % 8 == 0)
        binenc_byte(&c->values, 0);
    if (v && !c->values.failed)
        c->values.s[c->values.len - 1] |= (uint8_t)(1 << (c->page_nonnull % 8));
    pq_mm_int(&c->chunk_mm, v);
    pq_mm_int(&c->file_mm, v);
    c->page_nonnull++;
    return pq_value_done(w, c, c->values.len - before, err);
}

int parquet_add_double(struct parquet_writer *w, size_t col, double v, char err[ERROR_MAX])
{
    if (col < w->ncols && w->cols[col].def.kind != PARQUET_DOUBLE)
        return pq_kind_error(w, &w->cols[col], "not a double column", err);
    struct pq_col *c = pq_value_col(w, col, false, err);
    if (c == NULL)
        return -1;
    size_t before = c->values.len;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    binenc_u64le(&c->values, bits);
    pq_mm_double(&c->chunk_mm, v);
    pq_mm_double(&c->file_mm, v);
    c->file_nans += isnan(v) != 0;
    c->page_nonnull++;
    return pq_value_done(w, c, c->values.len - before, err);
}

int parquet_add_string(struct parquet_writer *w, size_t col, const char *s, size_t len,
                       char err[ERROR_MAX])
{
    if (col < w->ncols && w->cols[col].def.kind != PARQUET_STRING)
        return pq_kind_error(w, &w->cols[col], "not a string column", err);
    if (col < w->ncols && len > INT32_MAX)
        return pq_kind_error(w, &w->cols[col], "string longer than 2 GiB", err);
    struct pq_col *c = pq_value_col(w, col, false, err);
    if (c == NULL)
        return -1;
    size_t before = c->values.len;
    binenc_u32le(&c->values, (uint32_t)len);
    strbuf_append(&c->values, s, len);
    pq_mm_string(&c->chunk_mm, s, len);
    pq_mm_string(&c->file_mm, s, len);
    if (c->chunk_mm.min_s.failed || c->chunk_mm.max_s.failed || c->file_mm.min_s.failed ||
        c->file_mm.max_s.failed)
        c->values.failed = true;
    c->page_nonnull++;
    return pq_value_done(w, c, c->values.len - before, err);
}

int parquet_add_decimal(struct parquet_writer *w, size_t col, __int128 unscaled,
                        char err[ERROR_MAX])
{
    if (col < w->ncols) {
        struct pq_col *c = &w->cols[col];
        if (c->def.kind != PARQUET_DECIMAL)
            return pq_kind_error(w, c, "not a decimal column", err);
        __int128 limit = pq_pow10(c->def.precision);
        if (unscaled >= limit || unscaled <= -limit)
            return pq_kind_error(w, c, "decimal does not fit the precision", err);
    }
    struct pq_col *c = pq_value_col(w, col, false, err);
    if (c == NULL)
        return -1;
    size_t before = c->values.len;
    if (c->phys == PQ_INT32)
        binenc_u32le(&c->values, (uint32_t)(int32_t)unscaled);
    else if (c->phys == PQ_INT64)
        binenc_u64le(&c->values, (uint64_t)(int64_t)unscaled);
    else
        pq_put_be(&c->values, unscaled, c->type_length);
    pq_mm_dec(&c->chunk_mm, unscaled);
    pq_mm_dec(&c->file_mm, unscaled);
    c->page_nonnull++;
    return pq_value_done(w, c, c->values.len - before, err);
}

int parquet_add_decimal_text(struct parquet_writer *w, size_t col, const char *text,
                             char err[ERROR_MAX])
{
    if (col >= w->ncols || w->cols[col].def.kind != PARQUET_DECIMAL)
        return parquet_add_decimal(w, col, 0, err); /* reports the error */
    const struct parquet_column *d = &w->cols[col].def;
    __int128 v;
    if (parquet_decimal_parse(text, d->precision, d->scale, &v) < 0) {
        w->failed = true;
        return error_set(err, "%s: column '%s': '%.40s' is not a decimal(%d,%d)", w->path, d->name,
                         text, d->precision, d->scale);
    }
    return parquet_add_decimal(w, col, v, err);
}

/* ---- row groups and footer -------------------------------------------------- */

static int pq_row_group_flush(struct parquet_writer *w, char err[ERROR_MAX])
{
    if (w->rg_rows == 0)
        return 0;
    for (size_t i = 0; i < w->ncols; i++) {
        if (pq_page_flush(w, &w->cols[i], err) < 0)
            return -1;
    }
    if (w->ngroups == w->groups_cap) {
        size_t cap = w->groups_cap ? w->groups_cap * 2 : 8;
        struct pq_row_group *g = realloc(w->groups, cap * sizeof *g);
        if (g == NULL)
            return error_set(err, "out of memory");
        w->groups = g;
        w->groups_cap = cap;
    }
    struct pq_row_group *g = &w->groups[w->ngroups];
    memset(g, 0, sizeof *g);
    g->chunks = calloc(w->ncols, sizeof *g->chunks);
    if (g->chunks == NULL)
        return error_set(err, "out of memory");
    w->ngroups++;
    g->rows = w->rg_rows;
    g->offset = w->offset;
    for (size_t i = 0; i < w->ncols; i++) {
        struct pq_col *c = &w->cols[i];
        struct pq_chunk_meta *m = &g->chunks[i];
        m->num_values = c->chunk_values;
        m->nulls = c->chunk_nulls;
        m->uncompressed = c->chunk_uncompressed;
        m->compressed = c->chunk.len;
        m->data_page_offset = w->offset;
        pq_chunk_bounds(c, m);
        if (m->min.failed || m->max.failed)
            return error_set(err, "out of memory");
        if (pq_write(w, c->chunk.s, c->chunk.len, err) < 0)
            return -1;
        g->uncompressed += m->uncompressed;
        g->compressed += m->compressed;
        c->file_bytes += c->chunk.len;
        strbuf_cut(&c->chunk, 0);
        c->chunk_uncompressed = 0;
        c->chunk_values = c->chunk_nulls = 0;
        pq_mm_clear(&c->chunk_mm);
    }
    w->chunk_bytes = 0;
    w->rg_rows = 0;
    return 0;
}

int parquet_end_row(struct parquet_writer *w, char err[ERROR_MAX])
{
    if (w->failed)
        return error_set(err, "%s: the writer failed before", w->path);
    for (size_t i = 0; i < w->ncols; i++) {
        if (!w->cols[i].has_value) {
            w->failed = true;
            return error_set(err, "%s: column '%s': no value in row %lld", w->path,
                             w->cols[i].def.name, (long long)w->total_rows);
        }
        w->cols[i].has_value = false;
    }
    w->rg_rows++;
    w->total_rows++;
    if (w->pending + w->chunk_bytes >= w->opt.row_group_bytes && pq_row_group_flush(w, err) < 0) {
        w->failed = true;
        return -1;
    }
    return 0;
}

static int pq_footer(struct parquet_writer *w, char err[ERROR_MAX])
{
    struct strbuf out = {0};
    parquet_footer_encode(w, &out);
    int rc = out.failed ? error_set(err, "out of memory") : pq_write(w, out.s, out.len, err);
    strbuf_free(&out);
    return rc;
}

uint64_t parquet_writer_bytes(const struct parquet_writer *w)
{
    return w->offset + w->chunk_bytes + w->pending;
}

static void pq_fill_stats(const struct pq_col *c, struct parquet_column_stats *s)
{
    memset(s, 0, sizeof *s);
    s->values = c->file_values;
    s->nulls = c->file_nulls;
    s->nans = c->file_nans;
    s->bytes = c->file_bytes;
    const struct pq_minmax *m = &c->file_mm;
    s->has_bounds = m->set;
    s->min_i = m->min_i;
    s->max_i = m->max_i;
    s->min_d = m->min_d;
    s->max_d = m->max_d;
    s->min_dec = m->min_dec;
    s->max_dec = m->max_dec;
    if (m->set && c->def.kind == PARQUET_STRING) {
        s->min_s = strndup(m->min_s.len ? (const char *)m->min_s.s : "", m->min_s.len);
        s->max_s = strndup(m->max_s.len ? (const char *)m->max_s.s : "", m->max_s.len);
        s->min_len = m->min_s.len;
        s->max_len = m->max_s.len;
        if (s->min_s == NULL || s->max_s == NULL) {
            parquet_stats_free(s); /* out of memory: no bounds rather than wrong ones */
            s->has_bounds = false;
        }
    }
}

int parquet_writer_close(struct parquet_writer **wp, uint64_t *file_size,
                         struct parquet_column_stats *stats, char err[ERROR_MAX])
{
    struct parquet_writer *w = *wp;
    *wp = NULL;
    if (w->failed) {
        error_set(err, "%s: the writer failed before", w->path);
        goto fail;
    }
    for (size_t i = 0; i < w->ncols; i++) {
        if (w->cols[i].has_value) {
            error_set(err, "%s: the last row was not ended", w->path);
            goto fail;
        }
    }
    if (pq_row_group_flush(w, err) < 0 || pq_footer(w, err) < 0)
        goto fail;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) {
        error_set(err, "%s: write failed: %s", w->path, strerror(errno));
        goto fail;
    }
    int rc = fclose(w->f);
    w->f = NULL;
    if (rc != 0) {
        error_set(err, "%s: close failed: %s", w->path, strerror(errno));
        goto fail;
    }
    *file_size = w->offset;
    if (stats != NULL) {
        for (size_t i = 0; i < w->ncols; i++)
            pq_fill_stats(&w->cols[i], &stats[i]);
    }
    pq_free(w);
    return 0;
fail:
    parquet_writer_abort(&w);
    return -1;
}

void parquet_writer_abort(struct parquet_writer **wp)
{
    struct parquet_writer *w = *wp;
    if (w == NULL)
        return;
    *wp = NULL;
    if (w->f != NULL)
        fclose(w->f);
    unlink(w->path);
    pq_free(w);
}

void parquet_stats_free(struct parquet_column_stats *stats)
{
    free(stats->min_s);
    free(stats->max_s);
    stats->min_s = stats->max_s = NULL;
}

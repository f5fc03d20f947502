/* parquet_footer.c - the FileMetaData of a Parquet file (parquet_internal.h):
 * the schema elements with field ids and logical + converted types, the row
 * groups and their column chunks with statistics, the column orders. */
#include "parquet_internal.h"

#include "thrift_compact.h"

static void pq_schema_element(struct thrift_writer *t, const struct pq_col *c)
{
    const struct parquet_column *d = &c->def;
    thrift_elem_struct_begin(t);
    thrift_field_i32(t, 1, c->phys);
    if (c->phys == PQ_FIXED)
        thrift_field_i32(t, 2, c->type_length);
    thrift_field_i32(t, 3, d->required ? PQ_REQUIRED : PQ_OPTIONAL);
    thrift_field_string(t, 4, d->name);
    int converted = -1;
    switch (d->kind) {
    case PARQUET_STRING: converted = PQ_CT_UTF8; break;
    case PARQUET_DATE: converted = PQ_CT_DATE; break;
    case PARQUET_TIMESTAMPTZ: converted = PQ_CT_TIMESTAMP_MICROS; break;
    case PARQUET_DECIMAL: converted = PQ_CT_DECIMAL; break;
    default: break;
    }
    if (converted >= 0)
        thrift_field_i32(t, 6, converted);
    if (d->kind == PARQUET_DECIMAL) {
        thrift_field_i32(t, 7, d->scale);
        thrift_field_i32(t, 8, d->precision);
    }
    thrift_field_i32(t, 9, d->field_id);
    if (converted >= 0) {
        thrift_field_struct_begin(t, 10); /* LogicalType (a union) */
        switch (d->kind) {
        case PARQUET_STRING:
            thrift_field_struct_begin(t, PQ_LT_STRING);
            thrift_struct_end(t);
            break;
        case PARQUET_DATE:
            thrift_field_struct_begin(t, PQ_LT_DATE);
            thrift_struct_end(t);
            break;
        case PARQUET_TIMESTAMPTZ:
            thrift_field_struct_begin(t, PQ_LT_TIMESTAMP);
            thrift_field_bool(t, 1, true); /* isAdjustedToUTC */
            thrift_field_struct_begin(t, 2); /* unit: TimeUnit union */
            thrift_field_struct_begin(t, 2); /* MICROS */
            thrift_struct_end(t);
            thrift_struct_end(t);
            thrift_struct_end(t);
            break;
        case PARQUET_DECIMAL:
            thrift_field_struct_begin(t, PQ_LT_DECIMAL);
            thrift_field_i32(t, 1, d->scale);
            thrift_field_i32(t, 2, d->precision);
            thrift_struct_end(t);
            break;
        default:
            break;
        }
        thrift_struct_end(t);
    }
    thrift_struct_end(t);
}

static void pq_column_chunk(struct thrift_writer *t, const struct parquet_writer *w,
                            const struct pq_col *c, const struct pq_chunk_meta *m)
{
    thrift_elem_struct_begin(t);
    thrift_field_i64(t, 2, 0); /* file_offset: no metadata outside the footer */
    thrift_field_struct_begin(t, 3);
    thrift_field_i32(t, 1, c->phys);
    thrift_field_list_begin(t, 2, THRIFT_I32, 2);
    thrift_elem_i32(t, PQ_ENC_PLAIN);
    thrift_elem_i32(t, PQ_ENC_RLE);
    thrift_field_list_begin(t, 3, THRIFT_BINARY, 1);
    thrift_elem_string(t, c->def.name);
    int codec = w->opt.codec == PARQUET_CODEC_SNAPPY ? 1 : w->opt.codec == PARQUET_CODEC_ZSTD ? 6 : 0;
    thrift_field_i32(t, 4, codec);
    thrift_field_i64(t, 5, m->num_values);
    thrift_field_i64(t, 6, (int64_t)m->uncompressed);
    thrift_field_i64(t, 7, (int64_t)m->compressed);
    thrift_field_i64(t, 9, (int64_t)m->data_page_offset);
    thrift_field_struct_begin(t, 12);
    thrift_field_i64(t, 3, m->nulls);
    if (m->has_max)
        thrift_field_binary(t, 5, m->max.s, m->max.len);
    if (m->has_min)
        thrift_field_binary(t, 6, m->min.s, m->min.len);
    if (m->has_max)
        thrift_field_bool(t, 7, true);
    if (m->has_min)
        thrift_field_bool(t, 8, m->min_exact);
    thrift_struct_end(t);
    thrift_struct_end(t);
    thrift_struct_end(t);
}

void parquet_footer_encode(const struct parquet_writer *w, struct strbuf *out)
{
    struct thrift_writer t;
    thrift_writer_init(&t, out);
    thrift_field_i32(&t, 1, 1); /* version */
    thrift_field_list_begin(&t, 2, THRIFT_STRUCT, w->ncols + 1);
    thrift_elem_struct_begin(&t);
    thrift_field_string(&t, 4, "schema");
    thrift_field_i32(&t, 5, (int32_t)w->ncols);
    thrift_struct_end(&t);
    for (size_t i = 0; i < w->ncols; i++)
        pq_schema_element(&t, &w->cols[i]);
    thrift_field_i64(&t, 3, w->total_rows);
    thrift_field_list_begin(&t, 4, THRIFT_STRUCT, w->ngroups);
    for (size_t g = 0; g < w->ngroups; g++) {
        const struct pq_row_group *rg = &w->groups[g];
        thrift_elem_struct_begin(&t);
        thrift_field_list_begin(&t, 1, THRIFT_STRUCT, w->ncols);
        for (size_t i = 0; i < w->ncols; i++)
            pq_column_chunk(&t, w, &w->cols[i], &rg->chunks[i]);
        thrift_field_i64(&t, 2, (int64_t)rg->uncompressed);
        thrift_field_i64(&t, 3, rg->rows);
        thrift_field_i64(&t, 5, (int64_t)rg->offset);
        thrift_field_i64(&t, 6, (int64_t)rg->compressed);
        thrift_field_i16(&t, 7, (int16_t)g);
        thrift_struct_end(&t);
    }
    if (w->opt.kv_key != NULL && w->opt.kv_value != NULL) {
        thrift_field_list_begin(&t, 5, THRIFT_STRUCT, 1);
        thrift_elem_struct_begin(&t); /* KeyValue */
        thrift_field_string(&t, 1, w->opt.kv_key);
        thrift_field_string(&t, 2, w->opt.kv_value);
        thrift_struct_end(&t);
    }
    thrift_field_string(&t, 6, "lakehouse");
    thrift_field_list_begin(&t, 7, THRIFT_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        thrift_elem_struct_begin(&t); /* ColumnOrder union */
        thrift_field_struct_begin(&t, 1); /* TYPE_ORDER */
        thrift_struct_end(&t);
        thrift_struct_end(&t);
    }
    thrift_struct_end(&t);
    binenc_u32le(out, (uint32_t)out->len);
    strbuf_append(out, PQ_MAGIC, 4);
}

/* avro.c - Avro encoding and object container files (avro.h). */
#include "avro.h"

#include <string.h>
#include <sys/random.h>

#include "fsutil.h"

void avro_put_long(struct strbuf *b, int64_t v)
{
    binenc_zigzag(b, v);
}

void avro_put_bool(struct strbuf *b, bool v)
{
    binenc_byte(b, v ? 1 : 0);
}

void avro_put_bytes(struct strbuf *b, const void *p, size_t n)
{
    binenc_zigzag(b, (int64_t)n);
    strbuf_append(b, p, n);
}

void avro_put_string(struct strbuf *b, const char *s)
{
    avro_put_bytes(b, s, strlen(s));
}

void avro_put_union(struct strbuf *b, int branch)
{
    binenc_zigzag(b, branch);
}

void avro_put_block(struct strbuf *b, int64_t count)
{
    binenc_zigzag(b, count);
}

int avro_file_encode(struct strbuf *out, const char *schema_json, const struct avro_meta *meta,
                     size_t nmeta, const struct strbuf *records, int64_t count,
                     char err[ERROR_MAX])
{
    uint8_t sync[16];
    if (getrandom(sync, sizeof sync, 0) != (ssize_t)sizeof sync)
        return error_set(err, "no random bytes for the Avro sync marker");
    strbuf_append(out, "Obj\x01", 4);
    /* header metadata: a map<bytes> of one block */
    avro_put_block(out, (int64_t)nmeta + 2);
    avro_put_string(out, "avro.schema");
    avro_put_string(out, schema_json);
    avro_put_string(out, "avro.codec");
    avro_put_string(out, "null");
    for (size_t i = 0; i < nmeta; i++) {
        avro_put_string(out, meta[i].key);
        avro_put_string(out, meta[i].value);
    }
    avro_put_block(out, 0);
    strbuf_append(out, sync, sizeof sync);
    if (count > 0) {
        avro_put_long(out, count);
        avro_put_long(out, (int64_t)records->len);
        strbuf_append(out, records->s, records->len);
        strbuf_append(out, sync, sizeof sync);
    }
    if (out->failed || records->failed)
        return error_set(err, "out of memory");
    return 0;
}

int avro_file_write(const char *path, const char *schema_json, const struct avro_meta *meta,
                    size_t nmeta, const struct strbuf *records, int64_t count,
                    uint64_t *file_size, char err[ERROR_MAX])
{
    struct strbuf out = {0};
    int rc = avro_file_encode(&out, schema_json, meta, nmeta, records, count, err);
    if (rc == 0)
        rc = fsutil_write_file_exclusive(path, out.s, out.len, 0640, err);
    if (rc == 0)
        *file_size = out.len;
    strbuf_free(&out);
    return rc;
}

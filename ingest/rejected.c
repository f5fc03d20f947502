/* rejected.c - the rejected/ files of refused records (see rejected.h). */
#include "rejected.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "fsutil.h"
#include "layout.h"
#include "log.h"

void rejected_file_init(struct rejected_file *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

void rejected_file_close(struct rejected_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    rejected_file_init(f);
}

static json_t *rejected_base64(const unsigned char *p, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t out_len = (n + 2) / 3 * 4;
    char *out = malloc(out_len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    json_t *s = json_stringn(out, o);
    free(out);
    return s;
}

/* A message cut at ERROR_MAX may end inside a UTF-8 sequence: drop the
 * partial character rather than lose the message. */
static json_t *rejected_reason(const char *reason)
{
    size_t n = strlen(reason);
    for (size_t cut = 0; cut < 4 && cut <= n; cut++) {
        json_t *s = json_stringn(reason, n - cut);
        if (s != NULL)
            return s;
    }
    return json_string("(reason is not valid UTF-8)");
}

int rejected_format(struct strbuf *buf, const char *rejected_at, const char *batch_id,
                    uint64_t index, const char *reason, const json_t *record, const char *raw,
                    size_t raw_len, bool base64_only)
{
    json_t *line = json_object();
    if (line == NULL)
        return -1;
    json_object_set_new(line, "rejected_at", json_string(rejected_at));
    json_object_set_new(line, "batch_id", batch_id[0] ? json_string(batch_id) : json_null());
    json_object_set_new(line, "index", json_integer((json_int_t)index));
    json_object_set_new(line, "reason", rejected_reason(reason));
    if (record != NULL) {
        /* json_object_set only takes a reference: the record is not modified. */
        json_object_set(line, "record", (json_t *)record);
    } else {
        json_t *text = base64_only ? NULL : json_stringn(raw, raw_len);
        if (text != NULL)
            json_object_set_new(line, "record", text);
        else
            json_object_set_new(line, "record_base64",
                                rejected_base64((const unsigned char *)raw, raw_len));
    }
    size_t need = json_dumpb(line, NULL, 0, JSON_COMPACT);
    int rc = -1;
    if (need > 0 && strbuf_reserve(buf, need + 1)) {
        json_dumpb(line, buf->s + buf->len, need, JSON_COMPACT);
        buf->len += need;
        buf->s[buf->len++] = '\n';
        rc = 0;
    }
    json_decref(line);
    return rc;
}

/* A crash during a write may leave an unterminated last line: cut it, so
 * that the next line does not glue onto it. Those lines were never
 * acknowledged (the group had not synced). */
static int rejected_cut_torn_tail(int fd, const char *path, off_t *size, char err[ERROR_MAX])
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return error_set(err, "stat %s: %s", path, strerror(errno));
    off_t end = st.st_size;
    char chunk[4096];
    while (end > 0) {
        off_t start = end > (off_t)sizeof chunk ? end - (off_t)sizeof chunk : 0;
        ssize_t n = pread(fd, chunk, (size_t)(end - start), start);
        if (n != end - start)
            return error_set(err, "read %s: %s", path, n < 0 ? strerror(errno) : "short read");
        char *nl = memrchr(chunk, '\n', (size_t)n);
        if (nl != NULL) {
            end = start + (nl - chunk) + 1;
            break;
        }
        end = start;
    }
    if (end != st.st_size) {
        log_warn("rejected_torn_tail_cut file=%s kept=%lld dropped=%lld", path, (long long)end,
                 (long long)(st.st_size - end));
        if (ftruncate(fd, end) < 0 || fdatasync(fd) < 0)
            return error_set(err, "truncate %s: %s", path, strerror(errno));
    }
    *size = end;
    return 0;
}

int rejected_write(struct rejected_file *f, const char *data_dir, const char *domain,
                   const char *endpoint, const char *date, const void *data, size_t len,
                   char err[ERROR_MAX])
{
    if (f->fd >= 0 && strcmp(f->date, date) != 0)
        rejected_file_close(f); /* a new day, a new file */
    if (f->fd < 0) {
        char rel[PATH_MAX], path[PATH_MAX];
        if (layout_rejected_rel(rel, sizeof rel, domain, endpoint, date, err) < 0 ||
            layout_path(path, sizeof path, data_dir, rel, err) < 0)
            return -1;
        /* O_RDWR: the torn-tail check reads the file. */
        int fd = files_create_durable(path, O_RDWR | O_APPEND, LAYOUT_FILE_MODE, 3, err);
        if (fd < 0)
            return -1;
        off_t size = 0;
        if (rejected_cut_torn_tail(fd, path, &size, err) < 0) {
            close(fd);
            return -1;
        }
        f->fd = fd;
        snprintf(f->date, sizeof f->date, "%s", date);
        f->synced = f->written = size;
    }
    if (fsutil_write_all(f->fd, data, len, err) < 0) {
        error_prefix(err, "rejected/%s/%s/%s.ndjson", domain, endpoint, date);
        return -1;
    }
    f->written += (off_t)len;
    return 0;
}

int rejected_sync(struct rejected_file *f, char err[ERROR_MAX])
{
    if (f->fd < 0 || f->synced == f->written)
        return 0;
    if (fdatasync(f->fd) < 0)
        return error_set(err, "fdatasync rejected file of %s: %s", f->date, strerror(errno));
    f->synced = f->written;
    return 0;
}

void rejected_rollback(struct rejected_file *f)
{
    if (f->fd < 0 || f->synced == f->written)
        return;
    if (ftruncate(f->fd, f->synced) < 0) {
        /* The file may now hold lines of an unacknowledged batch; close it
         * so that the next open cuts a torn tail at least. */
        log_error("rejected_rollback_failed date=%s reason=\"%s\"", f->date, strerror(errno));
        rejected_file_close(f);
        return;
    }
    f->written = f->synced;
}

void rejected_cut(struct rejected_file *f, off_t size)
{
    if (f->fd < 0 || size > f->written)
        return;
    if (ftruncate(f->fd, size) < 0 || fdatasync(f->fd) < 0) {
        log_error("rejected_cut_failed date=%s reason=\"%s\"", f->date, strerror(errno));
        rejected_file_close(f);
        return;
    }
    f->written = f->synced = size;
}

bool rejected_line_has_batch(const char *text, size_t len, const char *batch_id)
{
    char want[1024];
    json_t *id = json_string(batch_id);
    char *quoted = id != NULL ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    json_decref(id);
    if (quoted == NULL)
        return false;
    int n = snprintf(want, sizeof want, "\"batch_id\":%s", quoted);
    free(quoted);
    if (n < 0 || (size_t)n >= sizeof want)
        return false;
    const char *at = memmem(text, len, "\"batch_id\":", 11);
    return at != NULL && (size_t)(text + len - at) >= (size_t)n && memcmp(at, want, (size_t)n) == 0;
}

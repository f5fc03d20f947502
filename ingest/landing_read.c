/* landing_read.c - a dropped file's records, one NDJSON line each, through
 * the common record reader (record_reader.h). */
#include "landing_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void landing_reader_close(struct landing_reader *r)
{
    record_reader_close(&r->records);
    if (r->in != NULL)
        fclose(r->in);
    r->in = NULL;
}

int landing_reader_open(struct landing_reader *r, int fd, enum record_format format, size_t max,
                        char err[ERROR_MAX])
{
    memset(r, 0, sizeof *r);
    int dup_fd = dup(fd);
    if (dup_fd < 0)
        return error_set(err, "dup: %s", strerror(errno));
    if (lseek(dup_fd, 0, SEEK_SET) < 0 || (r->in = fdopen(dup_fd, "r")) == NULL) {
        error_set(err, "read: %s", strerror(errno));
        close(dup_fd);
        return -1;
    }
    /* A chunk holds at least one record, so batch_max_bytes caps one. */
    r->records = record_reader_open(r->in, format, NULL, max, "batch_max_bytes", err);
    if (r->records == NULL) {
        landing_reader_close(r);
        return -1;
    }
    return 0;
}

int landing_reader_next(struct landing_reader *r, char err[ERROR_MAX])
{
    if (r->held) {
        r->held = false;
        return 1;
    }
    switch (record_reader_next(r->records, &r->rec, &r->len, err)) {
    case RECORD_READ_OK: return 1;
    case RECORD_READ_END: return 0;
    default: return -1; /* a record too large fails the file too */
    }
}

enum record_format landing_detect(int fd, const char *name)
{
    enum record_format format = record_format_from_extension(name);
    if (format != RECORD_FORMAT_AUTO)
        return format;
    unsigned char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    return record_format_sniff(buf, n > 0 ? (size_t)n : 0);
}

/* bronze.c - spool/bronze file names, torn-tail detection, sealing a spool
 * into an LZ4 frame, and the streaming reader of sealed files (see bronze.h).
 * Memory stays bounded: sealing and reading work in fixed chunks, and the
 * reader holds at most one line (BRONZE_LINE_MAX) plus one chunk. */
#include "bronze.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <lz4frame.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "layout.h"
#include "names.h"

/* Read/compress granularity: big enough to amortise syscalls, small enough
 * that sealing a large spool costs a fixed, small amount of memory. */
#define BRONZE_CHUNK (64u * 1024u)

/* ---------------------------------------------------------------- names */

/* YYYY-MM-DD with digits where digits belong and a plausible month/day. */
static bool bronze_is_date(const char *s, size_t n)
{
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (size_t i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Exactly 20 decimal digits (the zero-padded width that makes names sort
 * numerically), within uint64_t. */
static bool bronze_parse_seq(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int bronze_parse_name(const char *basename, uint64_t *first_seq, uint64_t *last_seq)
{
    /* <20 digits>-<20 digits>.ndjson.lz4 */
    size_t n = strlen(basename);
    size_t suffix = strlen(BRONZE_SUFFIX);
    if (n != 41 + suffix || basename[20] != '-' || strcmp(basename + 41, BRONZE_SUFFIX) != 0)
        return -1;
    uint64_t first, last;
    if (!bronze_parse_seq(basename, &first) || !bronze_parse_seq(basename + 21, &last))
        return -1;
    if (first > last)
        return -1;
    *first_seq = first;
    *last_seq = last;
    return 0;
}

int spool_parse_name(const char *basename, uint64_t *first_seq, char date[11])
{
    /* <20 digits>-<YYYY-MM-DD>.ndjson */
    size_t n = strlen(basename);
    size_t suffix = strlen(SPOOL_SUFFIX);
    if (n != 31 + suffix || basename[20] != '-' || strcmp(basename + 31, SPOOL_SUFFIX) != 0)
        return -1;
    uint64_t first;
    if (!bronze_parse_seq(basename, &first) || !bronze_is_date(basename + 21, 10))
        return -1;
    *first_seq = first;
    memcpy(date, basename + 21, 10);
    date[10] = '\0';
    return 0;
}

int bronze_relative_path(char *out, size_t out_size, const char *domain, const char *endpoint,
                         const char *date, uint64_t first_seq, uint64_t last_seq)
{
    if (!names_is_valid_object(domain) || !names_is_valid_object(endpoint) ||
        !bronze_is_date(date, strlen(date)) || first_seq > last_seq)
        return -1;
    char date_dir[16], name[64];
    snprintf(date_dir, sizeof date_dir, "dt=%s", date);
    snprintf(name, sizeof name, "%020" PRIu64 "-%020" PRIu64 "%s", first_seq, last_seq,
             BRONZE_SUFFIX);
    return layout_bronze_rel(out, out_size, domain, endpoint, date_dir, name, NULL);
}

int bronze_parse_relative_path(const char *rel, char *domain, char *endpoint, char *date,
                               uint64_t *first_seq, uint64_t *last_seq)
{
    /* bronze/<domain>/<endpoint>/dt=<date>/<name>: exactly five components. */
    const char *part[5];
    size_t len[5];
    const char *p = rel;
    for (int i = 0; i < 5; i++) {
        part[i] = p;
        len[i] = strcspn(p, "/");
        p += len[i];
        if (i < 4) {
            if (*p != '/')
                return -1;
            p++;
        }
    }
    if (*p != '\0')
        return -1;
    if (len[0] != 6 || memcmp(part[0], "bronze", 6) != 0)
        return -1;
    if (len[1] >= NAMES_MAX || len[2] >= NAMES_MAX)
        return -1;
    if (len[3] != 13 || memcmp(part[3], "dt=", 3) != 0 || !bronze_is_date(part[3] + 3, 10))
        return -1;
    char d[NAMES_MAX], e[NAMES_MAX];
    memcpy(d, part[1], len[1]);
    d[len[1]] = '\0';
    memcpy(e, part[2], len[2]);
    e[len[2]] = '\0';
    if (!names_is_valid_object(d) || !names_is_valid_object(e))
        return -1;
    uint64_t first, last;
    if (bronze_parse_name(part[4], &first, &last) < 0)
        return -1;
    memcpy(domain, d, len[1] + 1);
    memcpy(endpoint, e, len[2] + 1);
    memcpy(date, part[3] + 3, 10);
    date[10] = '\0';
    *first_seq = first;
    *last_seq = last;
    return 0;
}

/* ------------------------------------------------------------ torn tail */

size_t bronze_valid_prefix(const char *buf, size_t len)
{
    size_t kept = 0;
    while (kept < len) {
        const char *nl = memchr(buf + kept, '\n', len - kept);
        if (nl == NULL)
            break; /* unterminated last line: torn write */
        size_t n = (size_t)(nl - (buf + kept));
        json_error_t jerr;
        /* \u0000 is valid JSON; records carrying it must not be cut. */
        json_t *obj = json_loadb(buf + kept, n, JSON_ALLOW_NUL, &jerr);
        bool ok = obj != NULL && json_is_object(obj);
        json_decref(obj);
        if (!ok)
            break;
        kept += n + 1;
    }
    return kept;
}

/* ------------------------------------------------------------- sealing */

static int bronze_read_full(int fd, char *buf, size_t want, size_t *got, const char *path,
                            char err[ERROR_MAX])
{
    size_t done = 0;
    while (done < want) {
        ssize_t n = read(fd, buf + done, want - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_set(err, "read %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

/* Directory part of path into out ("." when there is none). */
static int bronze_dirname(const char *path, char *out, size_t out_size, char err[ERROR_MAX])
{
    if (fsutil_path(out, out_size, err, "%s", path) < 0)
        return -1;
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        snprintf(out, out_size, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
    return 0;
}

/* How many trailing components of dir do not exist yet (0 if dir exists).
 * Each directory created for a new file must itself be made durable in its
 * parent, or a crash could lose the whole dt= directory after the spool
 * was unlinked. */
static int bronze_missing_levels(const char *dir)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    int levels = 0;
    struct stat st;
    while (stat(buf, &st) < 0 && errno == ENOENT) {
        char *slash = strrchr(buf, '/');
        if (slash == NULL || slash == buf)
            break;
        *slash = '\0';
        levels++;
    }
    return levels;
}

static int bronze_write_lz4(int fd, const void *buf, size_t n, const char *path,
                            char err[ERROR_MAX])
{
    if (n == 0)
        return 0;
    if (fsutil_write_all(fd, buf, n, err) < 0)
        return error_prefix(err, "seal %s", path);
    return 0;
}

/* LZ4 frame settings of bronze files holding len bytes. */
static void bronze_prefs(LZ4F_preferences_t *prefs, size_t len)
{
    memset(prefs, 0, sizeof *prefs);
    prefs->frameInfo.blockSizeID = LZ4F_max256KB;
    prefs->frameInfo.blockMode = LZ4F_blockLinked;
    /* Both checksums: a flipped bit anywhere is detected by the reader, and
     * the content size in the header makes truncation unambiguous. */
    prefs->frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs->frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    prefs->frameInfo.contentSize = (unsigned long long)len;
    prefs->compressionLevel = 0;
}

/* Make the written tmp file durable, close fd (always) and rename tmp to path. */
static int bronze_commit_tmp(int fd, const char *tmp, const char *path, char err[ERROR_MAX])
{
    if (fsync(fd) < 0) {
        error_set(err, "fsync %s: %s", tmp, strerror(errno));
        close(fd);
        return -1;
    }
    if (close(fd) < 0)
        return error_set(err, "close %s: %s", tmp, strerror(errno));
    if (rename(tmp, path) < 0)
        return error_set(err, "rename %s -> %s: %s", tmp, path, strerror(errno));
    return 0;
}

/* fsync dir, then each of the `levels` directories above it that the seal
 * created, in its parent. */
static int bronze_fsync_created(const char *dir, int levels, char err[ERROR_MAX])
{
    if (fsutil_fsync_dir(dir, err) < 0)
        return -1;
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", dir);
    for (int i = 0; i < levels; i++) {
        char *slash = strrchr(up, '/');
        if (slash == NULL || slash == up)
            break;
        *slash = '\0';
        if (fsutil_fsync_dir(up, err) < 0)
            return -1;
    }
    return 0;
}

/* Compress the first len bytes of in_fd into out_fd (tmp), chunk by chunk;
 * they must end with a complete line. */
static int bronze_seal_body(int in_fd, int out_fd, LZ4F_cctx *cctx, char *in_buf, char *out_buf,
                            size_t out_cap, size_t len, const char *spool_path,
                            const char *bronze_path, const char *tmp, char err[ERROR_MAX])
{
    size_t remaining = len;
    char last = '\n';
    while (remaining > 0) {
        size_t want = remaining < BRONZE_CHUNK ? remaining : BRONZE_CHUNK;
        size_t got = 0;
        if (bronze_read_full(in_fd, in_buf, want, &got, spool_path, err) < 0)
            return -1;
        if (got < want) {
            error_set(err, "seal %s: spool %s shrank while sealing", bronze_path, spool_path);
            return -1;
        }
        last = in_buf[got - 1];
        size_t rc = LZ4F_compressUpdate(cctx, out_buf, out_cap, in_buf, got, NULL);
        if (LZ4F_isError(rc)) {
            error_set(err, "seal %s: %s", bronze_path, LZ4F_getErrorName(rc));
            return -1;
        }
        if (bronze_write_lz4(out_fd, out_buf, rc, tmp, err) < 0)
            return -1;
        remaining -= got;
    }
    /* Bronze holds complete lines only; the reader would reject the file. */
    if (last != '\n') {
        error_set(err, "seal %s: the first %zu bytes of %s do not end with a complete line",
                  bronze_path, len, spool_path);
        return -1;
    }
    return 0;
}

int bronze_seal(const char *spool_path, size_t len, const char *bronze_path, char err[ERROR_MAX])
{
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    int in_fd = -1;
    int out_fd = -1;
    bool tmp_created = false;
    LZ4F_cctx *cctx = NULL;
    char *in_buf = NULL;
    char *out_buf = NULL;
    int ret = -1;

    if (fsutil_path(tmp, sizeof tmp, err, "%s.tmp", bronze_path) < 0 ||
        bronze_dirname(bronze_path, dir, sizeof dir, err) < 0)
        return -1;

    in_fd = open(spool_path, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0)
        return error_set(err, "open spool %s: %s", spool_path, strerror(errno));
    struct stat st;
    if (fstat(in_fd, &st) < 0) {
        error_set(err, "stat spool %s: %s", spool_path, strerror(errno));
        goto fail;
    }
    if ((uint64_t)st.st_size < (uint64_t)len) {
        error_set(err, "seal %s: spool has %jd bytes, %zu requested", spool_path,
                  (intmax_t)st.st_size, len);
        goto fail;
    }

    int levels = bronze_missing_levels(dir);
    if (fsutil_mkdirs(dir, LAYOUT_DIR_MODE, err) < 0)
        goto fail;

    LZ4F_preferences_t prefs;
    bronze_prefs(&prefs, len);

    size_t out_cap = LZ4F_compressBound(BRONZE_CHUNK, &prefs);
    if (out_cap < LZ4F_HEADER_SIZE_MAX)
        out_cap = LZ4F_HEADER_SIZE_MAX;
    in_buf = malloc(BRONZE_CHUNK);
    out_buf = malloc(out_cap);
    if (in_buf == NULL || out_buf == NULL) {
        error_set(err, "seal %s: out of memory", bronze_path);
        goto fail;
    }
    size_t rc = LZ4F_createCompressionContext(&cctx, LZ4F_VERSION);
    if (LZ4F_isError(rc)) {
        error_set(err, "seal %s: %s", bronze_path, LZ4F_getErrorName(rc));
        goto fail;
    }

    out_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, LAYOUT_FILE_MODE);
    if (out_fd < 0) {
        error_set(err, "create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    tmp_created = true;

    rc = LZ4F_compressBegin(cctx, out_buf, out_cap, &prefs);
    if (LZ4F_isError(rc)) {
        error_set(err, "seal %s: %s", bronze_path, LZ4F_getErrorName(rc));
        goto fail;
    }
    if (bronze_write_lz4(out_fd, out_buf, rc, tmp, err) < 0)
        goto fail;

    if (bronze_seal_body(in_fd, out_fd, cctx, in_buf, out_buf, out_cap, len, spool_path,
                         bronze_path, tmp, err) < 0)
        goto fail;
    rc = LZ4F_compressEnd(cctx, out_buf, out_cap, NULL);
    if (LZ4F_isError(rc)) {
        error_set(err, "seal %s: %s", bronze_path, LZ4F_getErrorName(rc));
        goto fail;
    }
    if (bronze_write_lz4(out_fd, out_buf, rc, tmp, err) < 0)
        goto fail;
    int fd = out_fd;
    out_fd = -1;
    if (bronze_commit_tmp(fd, tmp, bronze_path, err) < 0)
        goto fail;
    tmp_created = false;
    if (bronze_fsync_created(dir, levels, err) < 0)
        goto fail;
    ret = 0;
fail:
    if (out_fd >= 0)
        close(out_fd);
    if (tmp_created)
        unlink(tmp);
    if (in_fd >= 0)
        close(in_fd);
    LZ4F_freeCompressionContext(cctx);
    free(in_buf);
    free(out_buf);
    return ret;
}

/* -------------------------------------------------------------- reader */

struct bronze_reader {
    int fd;
    char path[PATH_MAX];
    LZ4F_dctx *dctx;
    char *in;            /* compressed input, BRONZE_CHUNK bytes */
    size_t in_pos, in_len;
    uint64_t file_off;   /* compressed bytes read from the file so far */
    char *buf;           /* decompressed bytes: [start, end) pending */
    size_t cap, start, end;
    size_t scanned;      /* bytes after start already known to hold no '\n' */
    uint64_t line_no;    /* lines returned so far */
    bool frame_done;
    bool failed;
    char error[ERROR_MAX];
};

/* Room kept free for each decompression step, and the largest buffer: one
 * maximal line (without its '\n' counted separately) plus that room. */
#define BRONZE_ROOM BRONZE_CHUNK
#define BRONZE_BUF_MAX ((size_t)BRONZE_LINE_MAX + 1 + BRONZE_ROOM)

struct bronze_reader *bronze_reader_open(const char *path, char err[ERROR_MAX])
{
    struct bronze_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        error_set(err, "bronze %s: out of memory", path);
        return NULL;
    }
    r->fd = -1;
    if (fsutil_path(r->path, sizeof r->path, err, "%s", path) < 0)
        goto fail;
    r->cap = 4 * BRONZE_CHUNK;
    r->in = malloc(BRONZE_CHUNK);
    r->buf = malloc(r->cap);
    if (r->in == NULL || r->buf == NULL) {
        error_set(err, "bronze %s: out of memory", path);
        goto fail;
    }
    size_t rc = LZ4F_createDecompressionContext(&r->dctx, LZ4F_VERSION);
    if (LZ4F_isError(rc)) {
        r->dctx = NULL;
        error_set(err, "bronze %s: %s", path, LZ4F_getErrorName(rc));
        goto fail;
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        error_set(err, "open %s: %s", path, strerror(errno));
        goto fail;
    }
    return r;
fail:
    bronze_reader_close(&r);
    return NULL;
}

void bronze_reader_close(struct bronze_reader **reader)
{
    if (reader == NULL || *reader == NULL)
        return;
    struct bronze_reader *r = *reader;
    if (r->fd >= 0)
        close(r->fd);
    if (r->dctx != NULL)
        LZ4F_freeDecompressionContext(r->dctx);
    free(r->in);
    free(r->buf);
    free(r);
    *reader = NULL;
}

/* Remember the first error: every later call repeats it. */
static int bronze_reader_fail(struct bronze_reader *r, char err[ERROR_MAX], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bronze_reader_fail(struct bronze_reader *r, char err[ERROR_MAX], const char *fmt, ...)
{
    char msg[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->error, sizeof r->error, "bronze %s: %s", r->path, msg);
    r->failed = true;
    return error_set(err, "%s", r->error);
}

/* Read the next chunk of compressed input. 1: got bytes, 0: end of file. */
static int bronze_reader_read(struct bronze_reader *r, char err[ERROR_MAX])
{
    for (;;) {
        ssize_t n = read(r->fd, r->in, BRONZE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return bronze_reader_fail(r, err, "read at byte %" PRIu64 ": %s", r->file_off,
                                      strerror(errno));
        r->in_pos = 0;
        r->in_len = (size_t)n;
        r->file_off += (uint64_t)n;
        return n > 0;
    }
}

/* Make room after `end`: drop consumed bytes, grow up to BRONZE_BUF_MAX. */
static int bronze_reader_make_room(struct bronze_reader *r, char err[ERROR_MAX])
{
    if (r->start > 0) {
        size_t pending = r->end - r->start;
        memmove(r->buf, r->buf + r->start, pending);
        r->start = 0;
        r->end = pending;
    }
    if (r->cap - r->end >= BRONZE_ROOM || r->cap >= BRONZE_BUF_MAX)
        return 0;
    size_t cap = r->cap * 2;
    if (cap > BRONZE_BUF_MAX)
        cap = BRONZE_BUF_MAX;
    char *b = realloc(r->buf, cap);
    if (b == NULL)
        return bronze_reader_fail(r, err, "out of memory for a line of %zu bytes",
                                  r->end - r->start);
    r->buf = b;
    r->cap = cap;
    return 0;
}

/* Decompress more bytes into buf. 1: some bytes added, 0: frame complete and
 * nothing more, -1: error. */
static int bronze_reader_fill(struct bronze_reader *r, char err[ERROR_MAX])
{
    if (bronze_reader_make_room(r, err) < 0)
        return -1;
    while (!r->frame_done) {
        if (r->in_pos == r->in_len) {
            int got = bronze_reader_read(r, err);
            if (got < 0)
                return -1;
            if (got == 0)
                return bronze_reader_fail(r, err,
                                          "truncated LZ4 frame (file ends after %" PRIu64
                                          " bytes, frame incomplete)",
                                          r->file_off);
        }
        size_t dst = r->cap - r->end;
        size_t src = r->in_len - r->in_pos;
        size_t hint = LZ4F_decompress(r->dctx, r->buf + r->end, &dst, r->in + r->in_pos, &src,
                                      NULL);
        if (LZ4F_isError(hint))
            return bronze_reader_fail(r, err, "corrupt LZ4 frame near byte %" PRIu64 ": %s",
                                      r->file_off - (r->in_len - r->in_pos),
                                      LZ4F_getErrorName(hint));
        r->in_pos += src;
        r->end += dst;
        if (hint == 0) {
            r->frame_done = true;
            /* One frame per file: anything after it is damage, not data. */
            if (r->in_pos < r->in_len)
                return bronze_reader_fail(r, err, "unexpected bytes after the LZ4 frame");
            int got = bronze_reader_read(r, err);
            if (got < 0)
                return -1;
            if (got > 0)
                return bronze_reader_fail(r, err, "unexpected bytes after the LZ4 frame");
        }
        if (dst > 0)
            return 1;
    }
    return 0;
}

int bronze_reader_next(struct bronze_reader *reader, const char **line, size_t *len,
                       char err[ERROR_MAX])
{
    struct bronze_reader *r = reader;
    if (r->failed)
        return error_set(err, "%s", r->error);
    for (;;) {
        size_t from = r->start + r->scanned;
        const char *nl = from < r->end ? memchr(r->buf + from, '\n', r->end - from) : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            if (n > BRONZE_LINE_MAX)
                return bronze_reader_fail(r, err, "line %" PRIu64 " is longer than %u bytes",
                                          r->line_no + 1, (unsigned)BRONZE_LINE_MAX);
            *line = r->buf + r->start;
            *len = n;
            r->start += *len + 1;
            r->scanned = 0;
            r->line_no++;
            return 1;
        }
        size_t pending = r->end - r->start;
        r->scanned = pending;
        if (pending > BRONZE_LINE_MAX)
            return bronze_reader_fail(r, err, "line %" PRIu64 " is longer than %u bytes",
                                      r->line_no + 1, (unsigned)BRONZE_LINE_MAX);
        int got = bronze_reader_fill(r, err);
        if (got < 0)
            return -1;
        if (got == 0) {
            if (pending > 0)
                return bronze_reader_fail(r, err, "last line (line %" PRIu64
                                                  ") has no newline (%zu bytes)",
                                          r->line_no + 1, pending);
            return 0;
        }
    }
}

/* landing_recover.c - at start, resolve the chunk whose commit a crash left
 * in doubt, from the spool, its bronze file and rejected/ (see landing.h). */
#include "landing_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "bronze.h"
#include "endpoints.h"
#include "files.h"
#include "fsutil.h"
#include "ingest.h"
#include "jsonsplit.h"
#include "layout.h"
#include "log.h"
#include "rejected.h"
#include "spool.h"
#include "timeutil.h"

/* ------------------------------------------------------------ recovery */

/* Does the line that starts at `start` in fd (ending before `limit`) end
 * with `suffix` (which includes the '\n')? 1 yes, 0 no (or no complete
 * line), -1 I/O error. */
static int landing_line_ends_with(int fd, off_t start, off_t limit, const char *suffix)
{
    char buf[LANDING_READ_CHUNK];
    size_t slen = strlen(suffix);
    char tail[256];
    size_t tlen = 0;
    if (slen > sizeof tail)
        return 0;
    for (off_t pos = start; pos < limit;) {
        size_t want = (size_t)(limit - pos) < sizeof buf ? (size_t)(limit - pos) : sizeof buf;
        ssize_t n = pread(fd, buf, want, pos);
        if (n < 0)
            return errno == EINTR ? 0 : -1;
        if (n == 0)
            return 0;
        char *nl = memchr(buf, '\n', (size_t)n);
        size_t use = nl != NULL ? (size_t)(nl - buf) + 1 : (size_t)n;
        /* keep the last slen bytes seen */
        if (use >= slen) {
            memcpy(tail, buf + use - slen, slen);
            tlen = slen;
        } else {
            size_t keep = tlen + use > slen ? slen - use : tlen;
            memmove(tail, tail + tlen - keep, keep);
            memcpy(tail + keep, buf, use);
            tlen = keep + use;
        }
        if (nl != NULL)
            return tlen == slen && memcmp(tail, suffix, slen) == 0;
        pos += n;
    }
    return 0;
}

/* The 'n'-byte window ending at `end` equals suffix? */
static bool landing_ends_at(int fd, off_t end, const char *suffix)
{
    size_t slen = strlen(suffix);
    char buf[256];
    if (slen > sizeof buf || end < (off_t)slen)
        return false;
    return pread(fd, buf, slen, end - (off_t)slen) == (ssize_t)slen &&
           memcmp(buf, suffix, slen) == 0;
}

/* Is the rejected/ line starting at `start` one of this batch's? */
static bool landing_rejected_line_is(int fd, off_t start, const char *id)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf, start);
    return n > 0 && rejected_line_has_batch(buf, (size_t)n, id);
}

/* Did a sealed bronze file made of `spool_rel` receive the batch? */
static int landing_sealed_has(const struct landing *l, const struct landing_intent *in,
                              const char *suffix_line, char err[ERROR_MAX])
{
    const char *base = strrchr(in->spool, '/');
    base = base != NULL ? base + 1 : in->spool;
    uint64_t first;
    char date[11];
    if (spool_parse_name(base, &first, date) < 0)
        return 0;
    char dir[PATH_MAX], prefix[32];
    if (layout_bronze_date_dir(dir, sizeof dir, l->data_dir, in->item.domain, in->item.endpoint,
                               date, err) < 0)
        return -1;
    snprintf(prefix, sizeof prefix, "%020" PRIu64 "-", first);
    char **names = NULL;
    size_t count = 0;
    if (files_list(dir, &names, &count, err) < 0)
        return -1;
    int found = 0;
    size_t slen = strlen(suffix_line) - 1; /* without '\n' */
    for (size_t i = 0; i < count && !found; i++) {
        uint64_t a, b;
        if (strncmp(names[i], prefix, strlen(prefix)) != 0 || bronze_parse_name(names[i], &a, &b) < 0)
            continue;
        char path[PATH_MAX];
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, names[i]) < 0) {
            found = -1;
            break;
        }
        struct bronze_reader *r = bronze_reader_open(path, err);
        if (r == NULL) {
            found = -1;
            break;
        }
        const char *line;
        size_t len;
        int rc;
        while ((rc = bronze_reader_next(r, &line, &len, err)) == 1) {
            if (len >= slen && memcmp(line + len - slen, suffix_line, slen) == 0) {
                found = 1;
                break;
            }
        }
        if (rc < 0)
            found = -1;
        bronze_reader_close(&r);
    }
    files_list_free(names, count);
    return found;
}

/* Resolve the chunk of an intent: 1 committed, 0 not (any partial part cut
 * off), -1 error (left for the next start). */
static int landing_resolve(struct landing *l, const struct landing_intent *in, char err[ERROR_MAX])
{
    char spool[PATH_MAX], rejected[PATH_MAX];
    if (layout_path(spool, sizeof spool, l->data_dir, in->spool, err) < 0 ||
        layout_path(rejected, sizeof rejected, l->data_dir, in->rejected, err) < 0)
        return -1;
    char suffix[256];
    if (spool_line_suffix(in->id, suffix, sizeof suffix) == 0)
        return error_set(err, "batch id %s too long", in->id);
    bool partial = false;
    int committed = 0;
    bool spool_lines = in->spool_after > in->spool_before;
    if (spool_lines) {
        int fd = open(spool, O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
            return error_set(err, "open %s: %s", spool, strerror(errno));
        if (fd < 0) {
            /* Sealed since (or never created): look in its bronze file. */
            committed = landing_sealed_has(l, in, suffix, err);
            if (committed != 0)
                return committed;
        }
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) < 0) {
            close(fd);
            return error_set(err, "stat %s: %s", spool, strerror(errno));
        }
        if (fd < 0) {
            /* not committed: only its rejected lines may be there */
        } else if (st.st_size >= in->spool_after && landing_ends_at(fd, in->spool_after, suffix)) {
            committed = 1;
        } else if (st.st_size > in->spool_before) {
            int ours = landing_line_ends_with(fd, in->spool_before, st.st_size, suffix);
            /* Our first line, or no complete line at all (a torn tail):
             * the chunk's own bytes, cut them. Complete lines of others
             * (acknowledged producer records) are never cut. */
            if (ours == 1) {
                partial = true;
            } else if (ours == 0) {
                char c;
                bool any_newline = false;
                for (off_t p = in->spool_before; p < st.st_size && !any_newline; p++)
                    any_newline = pread(fd, &c, 1, p) == 1 && c == '\n';
                partial = !any_newline;
            }
            if (partial && ftruncate(fd, in->spool_before) < 0) {
                error_set(err, "truncate %s: %s", spool, strerror(errno));
                close(fd);
                return -1;
            }
            if (partial && fdatasync(fd) < 0) {
                error_set(err, "fdatasync %s: %s", spool, strerror(errno));
                close(fd);
                return -1;
            }
        }
        if (fd >= 0)
            close(fd);
        if (committed)
            return committed;
    }
    /* Rejected lines are made durable before the spool lines (spool.c): with
     * spool lines, the chunk is not committed here, so its rejected lines
     * (all or some of them) are cut; without, the rejected file alone
     * decides. */
    if (in->rejected_after <= in->rejected_before)
        return 0;
    int fd = open(rejected, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : error_set(err, "open %s: %s", rejected, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = error_set(err, "stat %s: %s", rejected, strerror(errno));
    } else if (st.st_size > in->rejected_before &&
               landing_rejected_line_is(fd, in->rejected_before, in->id)) {
        if (!spool_lines && st.st_size >= in->rejected_after) {
            rc = 1;
        } else if (ftruncate(fd, in->rejected_before) < 0 || fdatasync(fd) < 0) {
            rc = error_set(err, "truncate %s: %s", rejected, strerror(errno));
        }
    }
    close(fd);
    return rc;
}

int landing_recover(struct landing *l, char err[ERROR_MAX])
{
    struct landing_intent in;
    int rc = landing_db_get_intent(l, &in, err);
    if (rc <= 0)
        return rc;
    rc = landing_resolve(l, &in, err);
    if (rc < 0)
        return error_prefix(err, "resolving the chunk of %s/%s/%s", in.item.domain,
                            in.item.endpoint, in.item.name);
    if (rc == 1) {
        if (landing_db_settle(l, &in.item, in.sha, in.done_after, in.accepted_after,
                              in.refused_after, err) < 0)
            return -1;
    } else if (landing_db_exec(l, "DELETE FROM intent", err) < 0) {
        return -1;
    }
    log_info("landing_recovered file=landing/%s/%s/%s batch=%s chunk=%s", in.item.domain,
             in.item.endpoint, in.item.name, in.id,
             rc == 1 ? "stored" : "not stored (ingested again)");
    return 0;
}

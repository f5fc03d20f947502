/* scan.c - sorted listings of the bronze tree.
 *
 * Reconcile and replay walk bronze/<domain>/<endpoint>/dt=<date>/<file> level
 * by level. Each level is listed, filtered to names that follow the layout
 * (anything else - temporary files, stray directories - is ignored) and
 * sorted by byte order, which for bronze names is arrival order. */
#include "processor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze.h"
#include "growarray.h"

int strlist_push(struct strlist *list, const char *item)
{
    char **items = growarray_room(list->items, &list->cap, list->count, sizeof *items, 16);
    if (items == NULL)
        return -1;
    list->items = items;
    char *copy = strdup(item);
    if (copy == NULL)
        return -1;
    list->items[list->count++] = copy;
    return 0;
}

void strlist_clear(struct strlist *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
    list->cap = 0;
}

static int scan_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool strlist_contains_sorted(const struct strlist *list, const char *s)
{
    if (list->count == 0)
        return false;
    return bsearch(&s, list->items, list->count, sizeof *list->items, scan_compare) != NULL;
}

/* "dt=YYYY-MM-DD" with digits where digits belong (calendar checks are
 * left to the date comparison: a bad date simply sorts somewhere). */
static bool scan_is_date_dir(const char *name)
{
    static const char shape[] = "dt=dddd-dd-dd";
    if (strlen(name) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' && i > 2) {
            if (name[i] < '0' || name[i] > '9')
                return false;
        } else if (name[i] != shape[i]) {
            return false;
        }
    }
    return true;
}

static bool scan_accept(int dirfd, const char *name, enum scan_kind kind)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return false; /* vanished meanwhile */
    switch (kind) {
    case SCAN_OBJECT_DIRS:
        return S_ISDIR(st.st_mode) && names_is_valid_object(name);
    case SCAN_DATE_DIRS:
        return S_ISDIR(st.st_mode) && scan_is_date_dir(name);
    case SCAN_BRONZE_FILES: {
        uint64_t first, last;
        return S_ISREG(st.st_mode) && bronze_parse_name(name, &first, &last) == 0;
    }
    }
    return false;
}

int scan_dir(const char *dir, enum scan_kind kind, struct strlist *out, char err[ERROR_MAX])
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return error_set(err, "cannot list %s: %s", dir, strerror(errno));
    }
    int rc = 0;
    struct dirent *ent;
    errno = 0;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        if (!scan_accept(dirfd(d), ent->d_name, kind))
            continue;
        if (strlist_push(out, ent->d_name) < 0) {
            rc = error_set(err, "cannot list %s: out of memory", dir);
            break;
        }
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = error_set(err, "cannot list %s: %s", dir, strerror(errno));
    closedir(d);
    if (rc == 0 && out->count > 1)
        qsort(out->items, out->count, sizeof *out->items, scan_compare);
    return rc;
}

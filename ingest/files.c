/* files.c - durable file creation and sorted listings (see files.h). */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "layout.h"

/* Cut the last component off path in place; false when there is none. */
static bool files_dirname(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return false;
    *slash = '\0';
    return true;
}

int files_create_durable(const char *path, int flags, mode_t mode, int levels,
                         char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    if (fsutil_path(dir, sizeof dir, err, "%s", path) < 0 || !files_dirname(dir))
        return error_set(err, "create %s: not a path with a directory", path);
    struct stat st;
    bool dir_existed = stat(dir, &st) == 0;
    if (!dir_existed && fsutil_mkdirs(dir, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    bool file_existed = !(flags & O_EXCL) && stat(path, &st) == 0;
    int fd = open(path, flags | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0)
        return error_set(err, "create %s: %s", path, strerror(errno));
    if (file_existed)
        return fd;
    /* The new entry, then (if directories were made) each parent above. */
    int depth = dir_existed ? 1 : levels;
    for (int i = 0; i < depth; i++) {
        if (fsutil_fsync_dir(dir, err) < 0) {
            close(fd);
            return -1;
        }
        if (!files_dirname(dir))
            break;
    }
    return fd;
}

static int files_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int files_list(const char *dir, char ***names, size_t *count, char err[ERROR_MAX])
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return error_set(err, "opendir %s: %s", dir, strerror(errno));
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(*names, cap * sizeof *p);
            if (p == NULL)
                goto oom;
            *names = p;
        }
        if (((*names)[*count] = strdup(de->d_name)) == NULL)
            goto oom;
        (*count)++;
    }
    closedir(d);
    if (*count > 0)
        qsort(*names, *count, sizeof **names, files_name_cmp);
    return 0;
oom:
    closedir(d);
    for (size_t i = 0; i < *count; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *count = 0;
    return error_set(err, "listing %s: out of memory", dir);
}

void files_list_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}


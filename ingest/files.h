/* files.h - filesystem helpers ingest needs beyond fsutil.h: creating a
 * file so that its existence survives a crash, and sorted directory listings
 * (recovery walks spool/ and bronze/ in name order).
 *
 * fdatasync on a new file makes its data durable but not its directory
 * entry; for a file that holds acknowledged records (spool, rejected) the
 * directory must be fsync'd too, and so must every directory created on the
 * way. fsutil_mkdirs does not do that, hence this helper. */
#ifndef INGEST_FILES_H
#define INGEST_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* open(path, flags | O_CREAT | O_CLOEXEC, mode), creating missing parent
 * directories (LAYOUT_DIR_MODE). When the file is new, its directory is
 * fsync'd; when directories were created, also their parents, up to `levels`
 * directories above the file (e.g. 3 for spool/<d>/<e>/<file>). Returns the
 * fd, or -1 with err. */
int files_create_durable(const char *path, int flags, mode_t mode, int levels,
                         char err[ERROR_MAX]);

/* Names of the entries of dir (no dot files), sorted by strcmp. Caller frees
 * with files_list_free. A missing directory is an empty list; -1 with err on
 * other errors. */
int files_list(const char *dir, char ***names, size_t *count, char err[ERROR_MAX]);
void files_list_free(char **names, size_t count);

#endif

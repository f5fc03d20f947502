/* error.h - the error-message convention shared by every module.
 *
 * Functions that can fail because of a user or a peer return -1 and fill a
 * caller-provided buffer `char err[ERROR_MAX]` with a message that says what
 * went wrong and where (file, table, field, record index...). The caller logs
 * it or sends it back; libraries never exit(). */
#ifndef LAKEHOUSE_ERROR_H
#define LAKEHOUSE_ERROR_H

#include <stddef.h>

#define ERROR_MAX 512

/* printf-style write into err (ERROR_MAX bytes, always NUL-terminated).
 * err may be NULL (then nothing is written). Always returns -1 so that
 * `return error_set(err, "...")` reads naturally. */
int error_set(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix an existing message in place: "<prefix>: <old message>". Returns -1. */
int error_prefix(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

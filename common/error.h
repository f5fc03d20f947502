/* error.h - the error-message convention shared by every module.
 *
 * Functions that can fail because of a user or a peer return -1 and fill a
 * caller-provided buffer `char err[ERROR_MAX]` with a message that says what
 * went wrong and where (file, table, field, record index...). The caller logs
 * it or sends it back; libraries never exit().
 *
 * What a caller decides (an HTTP status, a retry) comes from the error's kind,
 * never from its text. A function whose failures differ in kind returns
 * -(int)kind (error_fail), so that `rc < 0` still means failure and plain -1
 * is ERROR_INTERNAL; error_kind_of(rc) reads the kind back. */
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

/* The kinds of failure callers tell apart. Names (error_kind_name) travel on
 * the wire in control replies: only add at the end. */
enum error_kind {
    ERROR_NONE = 0,
    ERROR_INTERNAL = 1, /* a bug, a storage or system failure: not the caller's to fix */
    ERROR_INVALID,      /* the request itself is wrong */
    ERROR_NOT_FOUND,    /* what it names does not exist */
    ERROR_CONFLICT,     /* it contradicts what is stored (an incompatible schema change) */
    ERROR_BUSY,         /* something holds what it needs: retry shortly */
    ERROR_TIMEOUT,      /* a time limit was reached */
    ERROR_NO_SPACE,     /* the disk is full */
    ERROR_TOO_LARGE,    /* it needs more than a configured bound allows (a query's memory) */
    ERROR_DENIED,       /* a peer refused the credentials or the access */
    ERROR_UNAVAILABLE,  /* a peer does not answer: retry later */
    ERROR_KIND_COUNT
};

/* error_set, returning -(int)kind. */
int error_fail(char *err, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The kind a return value carries: ERROR_NONE for rc >= 0, ERROR_INTERNAL
 * for a negative value that names no kind. */
enum error_kind error_kind_of(int rc);
/* "internal", "invalid", "not_found", "conflict", "busy", "timeout", "no_space", "too_large",
 * "denied", "unavailable" ("" for none). */
const char *error_kind_name(enum error_kind kind);
/* The kind of a name; -1 for a name that is none. */
int error_kind_from_name(const char *name, enum error_kind *out);

#endif

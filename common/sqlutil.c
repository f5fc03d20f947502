/* sqlutil.c - SQLite steps shared by every database module (see sqlutil.h). */
#include "sqlutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* err = "<what>: <msg>" (or msg alone when what is NULL). Returns -1. */
static int sqlutil_fail(char err[ERROR_MAX], const char *what, va_list ap, const char *msg)
{
    if (what == NULL)
        return error_set(err, "%s", msg);
    char prefix[ERROR_MAX];
    vsnprintf(prefix, sizeof prefix, what, ap);
    return error_set(err, "%s: %s", prefix, msg);
}

static int sqlutil_exec_v(sqlite3 *db, const char *sql, char err[ERROR_MAX], const char *what,
                          va_list ap)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    sqlutil_fail(err, what, ap, msg != NULL ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

int sqlutil_exec(sqlite3 *db, const char *sql, char err[ERROR_MAX], const char *what, ...)
{
    va_list ap;
    va_start(ap, what);
    int rc = sqlutil_exec_v(db, sql, err, what, ap);
    va_end(ap);
    return rc;
}

int sqlutil_exec_buf(sqlite3 *db, struct strbuf *b, char err[ERROR_MAX], const char *what, ...)
{
    va_list ap;
    va_start(ap, what);
    int rc = 0;
    if (b->failed)
        rc = sqlutil_fail(err, what, ap, "out of memory");
    else if (b->s != NULL)
        rc = sqlutil_exec_v(db, b->s, err, what, ap);
    va_end(ap);
    strbuf_free(b);
    return rc;
}

int sqlutil_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, char err[ERROR_MAX],
                    const char *what, ...)
{
    *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, stmt, NULL) == SQLITE_OK)
        return 0;
    va_list ap;
    va_start(ap, what);
    sqlutil_fail(err, what, ap, sqlite3_errmsg(db));
    va_end(ap);
    return -1;
}

int sqlutil_step_done(sqlite3 *db, sqlite3_stmt *stmt, char err[ERROR_MAX], const char *what, ...)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        va_list ap;
        va_start(ap, what);
        sqlutil_fail(err, what, ap, sqlite3_errmsg(db));
        va_end(ap);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int sqlutil_bind(sqlite3_stmt *st, int first, const struct sqlutil_value *values, size_t n)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        const struct sqlutil_value *v = &values[i];
        int at = first + (int)i;
        rc = v->is_integer     ? sqlite3_bind_int64(st, at, v->integer)
             : v->text != NULL ? sqlite3_bind_text(st, at, v->text, -1, SQLITE_STATIC)
                               : sqlite3_bind_null(st, at);
    }
    return rc;
}

static int sqlutil_run_v(sqlite3 *db, const char *sql, const struct sqlutil_value *values,
                         size_t nvalues, int64_t *out, char err[ERROR_MAX], const char *what,
                         va_list ap)
{
    sqlite3_stmt *st = NULL;
    if (out != NULL)
        *out = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && st == NULL)
        return 0; /* SQL text without a statement */
    size_t nparams = rc == SQLITE_OK ? (size_t)sqlite3_bind_parameter_count(st) : 0;
    if (rc == SQLITE_OK)
        rc = sqlutil_bind(st, 1, values, nvalues < nparams ? nvalues : nparams);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out != NULL)
        *out = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE && out != NULL && sqlite3_column_count(st) == 0)
        *out = sqlite3_changes64(db);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sqlutil_fail(err, what, ap, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int sqlutil_run_values(sqlite3 *db, const char *sql, const struct sqlutil_value *values,
                       size_t nvalues, int64_t *out, char err[ERROR_MAX], const char *what, ...)
{
    va_list ap;
    va_start(ap, what);
    int rc = sqlutil_run_v(db, sql, values, nvalues, out, err, what, ap);
    va_end(ap);
    return rc;
}

#define SQLUTIL_BINDS_MAX 8

int sqlutil_run(sqlite3 *db, const char *sql, const char *const *binds, size_t nbinds,
                int64_t *out, char err[ERROR_MAX], const char *what, ...)
{
    struct sqlutil_value values[SQLUTIL_BINDS_MAX];
    if (nbinds > SQLUTIL_BINDS_MAX)
        return error_set(err, "sqlutil_run: more than %d parameters", SQLUTIL_BINDS_MAX);
    for (size_t i = 0; i < nbinds; i++)
        values[i] = SQLUTIL_TEXT(binds[i]);
    va_list ap;
    va_start(ap, what);
    int rc = sqlutil_run_v(db, sql, values, nbinds, out, err, what, ap);
    va_end(ap);
    return rc;
}

int sqlutil_int64(sqlite3 *db, const char *sql, int64_t *out, char err[ERROR_MAX],
                  const char *what, ...)
{
    int64_t v = 0;
    va_list ap;
    va_start(ap, what);
    int rc = sqlutil_run_v(db, sql, NULL, 0, &v, err, what, ap);
    va_end(ap);
    *out = rc == 1 ? v : 0;
    return rc;
}

int sqlutil_text(sqlite3 *db, const char *sql, char *out, size_t size, char err[ERROR_MAX],
                 const char *what, ...)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    const char *msg = NULL;
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        size_t n = t != NULL ? strlen((const char *)t) : 0;
        if (n >= size)
            msg = "value too long";
        else if (t != NULL)
            memcpy(out, t, n + 1);
    } else if (rc != SQLITE_DONE) {
        msg = sqlite3_errmsg(db);
    }
    if (msg == NULL) {
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? 1 : 0;
    }
    va_list ap;
    va_start(ap, what);
    sqlutil_fail(err, what, ap, msg);
    va_end(ap);
    sqlite3_finalize(st);
    return -1;
}

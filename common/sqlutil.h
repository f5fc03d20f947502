/* sqlutil.h - the few SQLite steps every database module needs: run SQL text
 * (given or built in a strbuf), prepare a statement, step a one-shot
 * statement, read one integer or one text value.
 *
 * Each helper takes a printf-style `what` (the database or the action, e.g.
 * "silver/%s.db") and on failure writes "<what>: <SQLite's message>" into err
 * and returns -1. what may be NULL: then err holds SQLite's message alone. */
#ifndef LAKEHOUSE_SQLUTIL_H
#define LAKEHOUSE_SQLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "error.h"
#include "strbuf.h"

#define SQLUTIL_FMT(n) __attribute__((format(printf, n, n + 1)))

/* sqlite3_exec of sql (one or more statements without parameters). */
int sqlutil_exec(sqlite3 *db, const char *sql, char err[ERROR_MAX], const char *what, ...)
    SQLUTIL_FMT(4);

/* Run the SQL text built in b (as sqlutil_exec), then empty b (reusable).
 * A buffer whose appends failed gives "<what>: out of memory" and runs
 * nothing. An empty buffer runs nothing and succeeds. */
int sqlutil_exec_buf(sqlite3 *db, struct strbuf *b, char err[ERROR_MAX], const char *what, ...)
    SQLUTIL_FMT(4);

/* Prepare sql into *stmt (caller finalizes). */
int sqlutil_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, char err[ERROR_MAX],
                    const char *what, ...) SQLUTIL_FMT(5);

/* Step a prepared statement that must finish without rows, then reset it
 * and clear its bindings (ready to reuse). */
int sqlutil_step_done(sqlite3 *db, sqlite3_stmt *stmt, char err[ERROR_MAX], const char *what, ...)
    SQLUTIL_FMT(4);

/* Run sql once with text parameters ?1..?n = binds[0..nbinds-1] (at most 8; a NULL
 * entry binds SQL NULL). Returns 1 with *out = the first column of the first
 * row when sql yields a row; 0 when it yields none, with *out = the rows it
 * changed (changes()) for a statement without result columns, else 0;
 * -1 on error. out may be NULL. */
int sqlutil_run(sqlite3 *db, const char *sql, const char *const *binds, size_t nbinds,
                int64_t *out, char err[ERROR_MAX], const char *what, ...) SQLUTIL_FMT(7);

/* A value to bind: text (NULL binds SQL NULL), or an integer. */
struct sqlutil_value {
    const char *text;
    int64_t integer;
    bool is_integer;
};
#define SQLUTIL_TEXT(s) ((struct sqlutil_value){.text = (s)})
#define SQLUTIL_INT(v) ((struct sqlutil_value){.integer = (v), .is_integer = true})

/* Bind values[0..n) to the parameters ?first..?first+n-1 of st. Returns
 * SQLITE_OK or SQLite's code for the first binding that failed. */
int sqlutil_bind(sqlite3_stmt *st, int first, const struct sqlutil_value *values, size_t n);

/* sqlutil_run with values of either kind; values beyond the statement's
 * parameters are not bound. */
int sqlutil_run_values(sqlite3 *db, const char *sql, const struct sqlutil_value *values,
                       size_t nvalues, int64_t *out, char err[ERROR_MAX], const char *what, ...)
    SQLUTIL_FMT(7);

/* One integer from a query without parameters: returns 1 with *out = the
 * first column of the first row, 0 (and *out = 0) when there is no row,
 * -1 on error. */
int sqlutil_int64(sqlite3 *db, const char *sql, int64_t *out, char err[ERROR_MAX],
                  const char *what, ...) SQLUTIL_FMT(5);

/* One text value from a query without parameters, copied into out (size
 * bytes, NUL-terminated; NULL reads as ""): returns 1 on a row, 0 (out = "")
 * when there is none, -1 on error or when the value does not fit. */
int sqlutil_text(sqlite3 *db, const char *sql, char *out, size_t size, char err[ERROR_MAX],
                 const char *what, ...) SQLUTIL_FMT(6);

#endif

/* expectation.c - expectations: the sandbox that checks and evaluates rules (see
 * expectation.h). */
#include "expectation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

struct expectation_set {
    struct schema *schema; /* own copy */
    sqlite3 *db;
    sqlite3_stmt **rules; /* one per expectation */
    char **texts;         /* per column: compact JSON of object/array values */
};

/* Only what an expression over the bound columns needs. */
static int expectation_authorize(void *arg, int action, const char *a, const char *b, const char *c,
                            const char *d)
{
    (void)arg;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
        return SQLITE_OK;
    case SQLITE_READ:
        /* subquery columns report no table; real tables are refused */
        return a == NULL || a[0] == '\0' ? SQLITE_OK : SQLITE_DENY;
    default:
        return SQLITE_DENY;
    }
}

static int expectation_db(sqlite3 **db, char err[ERROR_MAX])
{
    if (sqlite3_open_v2(":memory:", db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        error_set(err, "expectations: cannot open an in-memory database");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_limit(*db, SQLITE_LIMIT_LENGTH, 1 << 20);
    sqlite3_set_authorizer(*db, expectation_authorize, NULL);
    return 0;
}

/* SELECT (<rule>) FROM (SELECT ?1 AS "c1", ...) for expectation i. */
static int expectation_prepare(sqlite3 *db, const struct schema *s, size_t i, sqlite3_stmt **out,
                          char err[ERROR_MAX])
{
    const struct schema_expectation *x = &s->expectations[i];
    size_t cap = strlen(x->rule) + 64 + s->column_count * (NAMES_MAX + 16);
    char *sql = malloc(cap);
    if (sql == NULL)
        return error_set(err, "out of memory");
    /* the rule cannot close the parenthesis early and append more: a
     * statement tail is refused below, and so is anything but SELECT */
    size_t len = (size_t)snprintf(sql, cap, "SELECT (%s\n) FROM (SELECT ", x->rule);
    for (size_t c = 0; c < s->column_count; c++)
        len += (size_t)snprintf(sql + len, cap - len, "%s?%zu AS \"%s\"", c ? ", " : "", c + 1,
                                s->columns[c].name);
    if (s->column_count == 0)
        len += (size_t)snprintf(sql + len, cap - len, "NULL");
    snprintf(sql + len, cap - len, ")");
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, out, &tail);
    bool extra = rc == SQLITE_OK && tail != NULL && tail[strspn(tail, " \t\r\n")] != '\0';
    free(sql);
    if (rc != SQLITE_OK || *out == NULL || extra || sqlite3_column_count(*out) != 1) {
        error_set(err, "expectation '%s': rule \"%s\" is not a valid expression over the "
                       "columns: %s",
                  x->name, x->rule,
                  rc != SQLITE_OK ? sqlite3_errmsg(db) : "only one expression is allowed");
        sqlite3_finalize(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int expectation_check(const struct schema *schema, char err[ERROR_MAX])
{
    if (schema->expectation_count == 0)
        return 0;
    struct expectation_set *e = NULL;
    int rc = expectation_open(schema, &e, err);
    expectation_close(&e);
    return rc;
}

int expectation_open(const struct schema *schema, struct expectation_set **out, char err[ERROR_MAX])
{
    *out = NULL;
    if (schema->expectation_count == 0)
        return 0;
    struct expectation_set *e = calloc(1, sizeof *e);
    if (e == NULL)
        return error_set(err, "out of memory");
    e->schema = schema_copy(schema);
    if (e->schema == NULL) {
        free(e);
        return error_set(err, "out of memory");
    }
    schema = e->schema;
    e->rules = calloc(schema->expectation_count, sizeof *e->rules);
    e->texts = calloc(schema->column_count + 1, sizeof *e->texts);
    if (e->rules == NULL || e->texts == NULL) {
        expectation_close(&e);
        return error_set(err, "out of memory");
    }
    if (expectation_db(&e->db, err) < 0) {
        expectation_close(&e);
        return -1;
    }
    for (size_t i = 0; i < schema->expectation_count; i++) {
        if (expectation_prepare(e->db, schema, i, &e->rules[i], err) < 0) {
            expectation_close(&e);
            return -1;
        }
    }
    *out = e;
    return 0;
}

void expectation_close(struct expectation_set **expect)
{
    struct expectation_set *e = *expect;
    if (e == NULL)
        return;
    if (e->rules != NULL)
        for (size_t i = 0; i < e->schema->expectation_count; i++)
            sqlite3_finalize(e->rules[i]);
    if (e->texts != NULL)
        for (size_t c = 0; c < e->schema->column_count; c++)
            free(e->texts[c]);
    free(e->rules);
    free(e->texts);
    sqlite3_close(e->db);
    schema_destroy(&e->schema);
    free(e);
    *expect = NULL;
}

int expectation_eval(struct expectation_set *e, const json_t *record, bool *failed, char err[ERROR_MAX])
{
    const struct schema *s = e->schema;
    int rc = 0;
    for (size_t c = 0; c < s->column_count; c++) {
        const json_t *v = json_object_get(record, s->columns[c].name);
        if (json_is_object(v) || json_is_array(v)) {
            e->texts[c] = json_dumps(v, JSON_COMPACT);
            if (e->texts[c] == NULL)
                rc = error_set(err, "out of memory");
        }
    }
    for (size_t i = 0; rc == 0 && i < s->expectation_count; i++) {
        sqlite3_stmt *st = e->rules[i];
        for (size_t c = 0; c < s->column_count; c++) {
            int p = (int)c + 1;
            const json_t *v = json_object_get(record, s->columns[c].name);
            switch (v == NULL ? JSON_NULL : json_typeof(v)) {
            case JSON_STRING:
                sqlite3_bind_text(st, p, json_string_value(v), (int)json_string_length(v),
                                  SQLITE_STATIC);
                break;
            case JSON_INTEGER: sqlite3_bind_int64(st, p, json_integer_value(v)); break;
            case JSON_REAL: sqlite3_bind_double(st, p, json_real_value(v)); break;
            case JSON_TRUE: sqlite3_bind_int(st, p, 1); break;
            case JSON_FALSE: sqlite3_bind_int(st, p, 0); break;
            case JSON_OBJECT:
            case JSON_ARRAY: sqlite3_bind_text(st, p, e->texts[c], -1, SQLITE_STATIC); break;
            default: sqlite3_bind_null(st, p); break;
            }
        }
        /* a rule that cannot be evaluated on this record (a function
         * error) is not met by it */
        int step = sqlite3_step(st);
        failed[i] = step != SQLITE_ROW || (sqlite3_column_type(st, 0) != SQLITE_NULL &&
                                           sqlite3_column_double(st, 0) == 0.0);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    for (size_t c = 0; c < s->column_count; c++) {
        free(e->texts[c]);
        e->texts[c] = NULL;
    }
    return rc;
}

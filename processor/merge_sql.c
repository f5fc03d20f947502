/* merge_sql.c - the statements of a merge for the current column set:
 * insert, upsert, touch, history, deletes and tombstones (merge_table.h). */
#include "merge_table.h"
#include "sqlutil.h"

/* The order of a key's versions: _seq, or with sequence_by (sequence value,
 * _seq) - NULL lowest, timestamps/dates by julianday() so that zones compare
 * right. qual: "" or a quoted table name plus '.'. */
static void merge_order(struct strbuf *b, const struct merge_table *t, const char *qual)
{
    if (t->seq_col < 0) {
        strbuf_addf(b, "%s\"%s\"", qual, MERGE_SEQ);
        return;
    }
    strbuf_addf(b, "(coalesce(%s(%s\"%s\"), -1e308), %s\"%s\")", t->seq_time ? "julianday" : "",
               qual, t->cols[t->seq_col].name, qual, MERGE_SEQ);
}

/* The same for the bound record (merge_bind's parameters). */
static void merge_order_param(struct strbuf *b, const struct merge_table *t)
{
    if (t->seq_col < 0) {
        strbuf_addf(b, "?%zu", t->ncols + 1);
        return;
    }
    strbuf_addf(b, "(coalesce(%s(?%d), -1e308), ?%zu)", t->seq_time ? "julianday" : "",
               t->seq_col + 1, t->ncols + 1);
}

/* "k1" = ?i AND "k2" = ?j (the key of the bound record). */
static void merge_key_where(struct strbuf *b, const struct merge_table *t)
{
    for (size_t k = 0; k < t->npk; k++)
        strbuf_addf(b, "%s\"%s\" = ?%zu", k ? " AND " : "", t->cols[t->pk[k]].name, t->pk[k] + 1);
}

static int merge_prepare_one(struct merge_table *t, struct strbuf *b, sqlite3_stmt **out,
                             char err[ERROR_MAX]);

/* _d_<table> (created on the first delete) and its statements. A tombstone
 * keeps the key, the sequence value and _seq of the newest delete of a key
 * that has no row, so that an older record arriving later cannot bring the
 * row back (replay = live). */
int merge_prepare_tombstones(struct merge_table *t, char err[ERROR_MAX])
{
    struct strbuf b = {0};
    if (!t->dtable) {
        strbuf_addf(&b, "CREATE TABLE \"_d_%s\" AS SELECT ", t->name);
        for (size_t k = 0; k < t->npk; k++)
            strbuf_addf(&b, "\"%s\", ", t->cols[t->pk[k]].name);
        if (t->seq_col >= 0 && !t->cols[t->seq_col].pk)
            strbuf_addf(&b, "\"%s\", ", t->cols[t->seq_col].name);
        strbuf_addf(&b, "\"%s\" FROM \"%s\" WHERE 0; CREATE UNIQUE INDEX \"_d_%s_key\" ON \"_d_%s\" (",
                   MERGE_SEQ, t->name, t->name, t->name);
        for (size_t k = 0; k < t->npk; k++)
            strbuf_addf(&b, "%s\"%s\"", k ? ", " : "", t->cols[t->pk[k]].name);
        strbuf_addf(&b, ")");
        if (b.failed) {
            free(b.s);
            return error_set(err, "out of memory");
        }
        if (sqlutil_exec_buf(t->sdb->db, &b, err, "silver/%s.db: creating _d_%s", t->domain,
                             t->name) < 0)
            return -1;
        t->dtable = true;
    }
    char dq[NAMES_MAX + 8];
    snprintf(dq, sizeof dq, "\"_d_%s\".", t->name);
    bool seq = t->seq_col >= 0 && !t->cols[t->seq_col].pk;
    strbuf_addf(&b, "INSERT INTO \"_d_%s\" (", t->name);
    for (size_t k = 0; k < t->npk; k++)
        strbuf_addf(&b, "\"%s\", ", t->cols[t->pk[k]].name);
    if (seq)
        strbuf_addf(&b, "\"%s\", ", t->cols[t->seq_col].name);
    strbuf_addf(&b, "\"%s\") VALUES (", MERGE_SEQ);
    for (size_t k = 0; k < t->npk; k++)
        strbuf_addf(&b, "?%zu, ", t->pk[k] + 1);
    if (seq)
        strbuf_addf(&b, "?%d, ", t->seq_col + 1);
    strbuf_addf(&b, "?%zu) ON CONFLICT (", t->ncols + 1);
    for (size_t k = 0; k < t->npk; k++)
        strbuf_addf(&b, "%s\"%s\"", k ? ", " : "", t->cols[t->pk[k]].name);
    strbuf_addf(&b, ") DO UPDATE SET ");
    if (seq)
        strbuf_addf(&b, "\"%s\" = excluded.\"%s\", ", t->cols[t->seq_col].name,
                   t->cols[t->seq_col].name);
    strbuf_addf(&b, "\"%s\" = excluded.\"%s\" WHERE ", MERGE_SEQ, MERGE_SEQ);
    merge_order(&b, t, dq);
    strbuf_addf(&b, " < ");
    merge_order(&b, t, "excluded.");
    if (merge_prepare_one(t, &b, &t->tput, err) < 0)
        return -1;
    strbuf_addf(&b, "SELECT ");
    merge_order(&b, t, "");
    strbuf_addf(&b, " >= ");
    merge_order_param(&b, t);
    strbuf_addf(&b, " FROM \"_d_%s\" WHERE ", t->name);
    merge_key_where(&b, t);
    if (merge_prepare_one(t, &b, &t->tget, err) < 0)
        return -1;
    strbuf_addf(&b, "DELETE FROM \"_d_%s\" WHERE ", t->name);
    merge_key_where(&b, t);
    return merge_prepare_one(t, &b, &t->tdel, err);
}

static int merge_prepare_one(struct merge_table *t, struct strbuf *b, sqlite3_stmt **out,
                             char err[ERROR_MAX])
{
    if (b->failed) {
        free(b->s);
        return error_set(err, "out of memory");
    }
    int rc = sqlite3_prepare_v2(t->sdb->db, b->s, (int)b->len, out, NULL);
    if (rc != SQLITE_OK)
        error_set(err, "silver/%s.db: prepare %s: %s", t->domain, b->s,
                  sqlite3_errmsg(t->sdb->db));
    free(b->s);
    *b = (struct strbuf){0};
    return rc == SQLITE_OK ? 0 : -1;
}

/* Parameters: ?1..?n the data columns in table order, ?n+1 _seq,
 * ?n+2 _insert_date, ?n+3 _schema_version. */
static int merge_prepare_all(struct merge_table *t, char err[ERROR_MAX])
{
    size_t n = t->ncols;
    struct strbuf b = {0};
    strbuf_addf(&b, "INSERT OR IGNORE INTO \"%s\" (", t->name);
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&b, "\"%s\", ", t->cols[i].name);
    strbuf_addf(&b, "\"%s\", \"%s\", \"%s\") VALUES (", MERGE_SEQ, MERGE_INSERT_DATE,
               MERGE_SCHEMA_VERSION);
    for (size_t i = 1; i <= n + 3; i++)
        strbuf_addf(&b, "%s?%zu", i > 1 ? ", " : "", i);
    strbuf_addf(&b, ")");
    if (merge_prepare_one(t, &b, &t->ins, err) < 0)
        return -1;
    strbuf_addf(&b, "INSERT INTO \"_h_%s\" (", t->name);
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&b, "\"%s\", ", t->cols[i].name);
    strbuf_addf(&b, "\"%s\", \"%s\", \"%s\", \"_valid_from\") VALUES (", MERGE_SEQ,
               MERGE_INSERT_DATE, MERGE_SCHEMA_VERSION);
    for (size_t i = 1; i <= n + 4; i++)
        strbuf_addf(&b, "%s?%zu", i > 1 ? ", " : "", i);
    strbuf_addf(&b, ")");
    if (merge_prepare_one(t, &b, &t->hins, err) < 0)
        return -1;
    if (t->npk == 0)
        return 0;
    /* Closing a version is a lookup of its rowid, then an update by rowid:
     * an UPDATE that finds its rows through the index whose column it
     * changes (_valid_to) collects them in a temporary b-tree first, which
     * cost more than the rest of the row's history write. */
    strbuf_addf(&b, "SELECT rowid FROM \"_h_%s\" WHERE ", t->name);
    for (size_t k = 0; k < t->npk; k++)
        strbuf_addf(&b, "\"%s\" = ?%zu AND ", t->cols[t->pk[k]].name, t->pk[k] + 1);
    strbuf_addf(&b, "\"_valid_to\" IS NULL");
    if (merge_prepare_one(t, &b, &t->hopen, err) < 0)
        return -1;
    strbuf_addf(&b, "UPDATE \"_h_%s\" SET \"_valid_to\" = ?1 WHERE rowid = ?2", t->name);
    if (merge_prepare_one(t, &b, &t->hclose, err) < 0)
        return -1;

    /* key condition shared by both updates */
    struct strbuf where = {0};
    for (size_t k = 0; k < t->npk; k++)
        strbuf_addf(&where, "\"%s\" = ?%zu AND ", t->cols[t->pk[k]].name, t->pk[k] + 1);
    merge_order(&where, t, "");
    strbuf_addf(&where, " < ");
    merge_order_param(&where, t);
    if (where.failed) {
        free(where.s);
        return error_set(err, "out of memory");
    }

    size_t data = 0;
    strbuf_addf(&b, "UPDATE \"%s\" SET ", t->name);
    for (size_t i = 0; i < n; i++) {
        if (!t->cols[i].pk) {
            strbuf_addf(&b, "\"%s\" = ?%zu, ", t->cols[i].name, i + 1);
            data++;
        }
    }
    strbuf_addf(&b, "\"%s\" = ?%zu, \"%s\" = ?%zu, \"%s\" = ?%zu WHERE %s AND (", MERGE_SEQ, n + 1,
               MERGE_INSERT_DATE, n + 2, MERGE_SCHEMA_VERSION, n + 3, where.s);
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        if (!t->cols[i].pk)
            strbuf_addf(&b, "%s\"%s\" IS NOT ?%zu", d++ ? " OR " : "", t->cols[i].name, i + 1);
    strbuf_addf(&b, ")");
    if (data == 0) {
        free(b.s); /* only key columns: a newer record can only refresh metadata */
        b = (struct strbuf){0};
    } else if (merge_prepare_one(t, &b, &t->upd, err) < 0) {
        free(where.s);
        return -1;
    }

    strbuf_addf(&b, "UPDATE \"%s\" SET \"%s\" = ?%zu, \"%s\" = ?%zu, \"%s\" = ?%zu WHERE %s",
               t->name, MERGE_SEQ, n + 1, MERGE_INSERT_DATE, n + 2, MERGE_SCHEMA_VERSION, n + 3,
               where.s);
    /* deletes: the row goes only when the delete is newer */
    struct strbuf del = {0};
    strbuf_addf(&del, "DELETE FROM \"%s\" WHERE %s", t->name, where.s);
    free(where.s);
    if (merge_prepare_one(t, &b, &t->touch, err) < 0 ||
        merge_prepare_one(t, &del, &t->del, err) < 0) {
        free(del.s);
        return -1;
    }
    strbuf_addf(&b, "SELECT 1 FROM \"%s\" WHERE ", t->name);
    merge_key_where(&b, t);
    return merge_prepare_one(t, &b, &t->has, err);
}

/* All statements of the current column set, or none. */
int merge_prepare(struct merge_table *t, char err[ERROR_MAX])
{
    if (merge_prepare_all(t, err) == 0)
        return 0;
    merge_finalize(t);
    return -1;
}

/* Column i of the record as parameter ?i+1. */
static void merge_bind_col(struct merge_table *t, sqlite3_stmt *st, size_t i)
{
    int p = (int)i + 1;
    if (t->stamp[i] != t->gen) {
        sqlite3_bind_null(st, p);
        return;
    }
    const struct jsonflat_field *v = &t->vals[i];
    switch (v->type) {
    case JSONFLAT_STRING: sqlite3_bind_text(st, p, v->str, (int)v->len, SQLITE_STATIC); break;
    case JSONFLAT_INTEGER: sqlite3_bind_int64(st, p, v->integer); break;
    case JSONFLAT_REAL: sqlite3_bind_double(st, p, v->real); break;
    case JSONFLAT_TRUE: sqlite3_bind_int(st, p, 1); break;
    case JSONFLAT_FALSE: sqlite3_bind_int(st, p, 0); break;
    default: sqlite3_bind_null(st, p); break;
    }
}

void merge_bind(struct merge_table *t, sqlite3_stmt *st, const struct merge_meta *m)
{
    size_t n = t->ncols;
    for (size_t i = 0; i < n; i++)
        merge_bind_col(t, st, i);
    sqlite3_bind_int64(st, (int)n + 1, m->seq);
    if (m->insert_date != NULL)
        sqlite3_bind_text(st, (int)n + 2, m->insert_date, (int)m->insert_date_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, (int)n + 2);
    if (m->has_schema_version)
        sqlite3_bind_int64(st, (int)n + 3, m->schema_version);
    else
        sqlite3_bind_null(st, (int)n + 3);
}

/* Step a bound statement: rows changed (0/1), or -1 / -2 (permanent) with a message. */
int merge_step(struct merge_table *t, sqlite3_stmt *st, char msg[ERROR_MAX])
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return sqlite3_changes(t->sdb->db);
    error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
    return merge_permanent(rc) ? -2 : -1;
}

/* Close the open versions of the current record's key (t->vals; one,
 * unless history was written otherwise): versions closed, or -1 / -2. */
int merge_history_close(struct merge_table *t, char msg[ERROR_MAX])
{
    if (t->hopen == NULL)
        return 0;
    int closed = 0;
    for (;;) {
        /* rowids first, then the updates: the lookup's index is the one the
         * update changes */
        enum { BATCH = 8 };
        sqlite3_int64 rowids[BATCH];
        int n = 0, rc;
        for (size_t k = 0; k < t->npk; k++) /* its only parameters */
            merge_bind_col(t, t->hopen, t->pk[k]);
        while (n < BATCH && (rc = sqlite3_step(t->hopen)) == SQLITE_ROW)
            rowids[n++] = sqlite3_column_int64(t->hopen, 0);
        if (n < BATCH && rc != SQLITE_DONE) {
            error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
            sqlite3_reset(t->hopen);
            return merge_permanent(rc) ? -2 : -1;
        }
        sqlite3_reset(t->hopen);
        for (int i = 0; i < n; i++) {
            sqlite3_bind_int64(t->hclose, 1, t->snapshot_id);
            sqlite3_bind_int64(t->hclose, 2, rowids[i]);
            rc = merge_step(t, t->hclose, msg);
            if (rc < 0)
                return rc;
            closed += rc;
        }
        if (n < BATCH)
            break;
    }
    t->closed += closed;
    return closed;
}

/* History of a written row: close the key's current version (updates),
 * then add the new one. 1 done, or merge_step's -1 / -2. */
int merge_history(struct merge_table *t, const struct merge_meta *m, bool close,
                         char msg[ERROR_MAX])
{
    if (!t->history)
        return 1;
    int valid_from = (int)t->ncols + 4;
    if (close) {
        int rc = merge_history_close(t, msg);
        if (rc < 0)
            return rc;
    }
    merge_bind(t, t->hins, m);
    sqlite3_bind_int64(t->hins, valid_from, t->snapshot_id);
    return merge_step(t, t->hins, msg);
}

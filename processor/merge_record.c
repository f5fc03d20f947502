/* merge_record.c - one record of a bronze file into the silver table: the
 * jansson path and the flat fast path, upsert, append, delete (merge_table.h). */
#include "merge_table.h"

/* A delete ("_op":"delete"): remove the key's row if the delete is newer,
 * close its history version, and keep a tombstone unless a newer row stays.
 * 0 ok, 1 corrupt (reason), -1 error (err). */
static int merge_delete(struct merge_table *t, const struct merge_meta *m, int64_t line,
                        struct merge_result *res, char reason[ERROR_MAX], char err[ERROR_MAX])
{
    if (t->tput == NULL && merge_prepare_tombstones(t, err) < 0)
        return -1;
    char msg[ERROR_MAX];
    merge_bind(t, t->del, m);
    int rc = merge_step(t, t->del, msg);
    if (rc == 1) {
        res->deleted++;
        if (t->history)
            rc = merge_history_close(t, msg);
    } else if (rc == 0) {
        merge_bind(t, t->has, m);
        int src = sqlite3_step(t->has);
        sqlite3_reset(t->has);
        if (src == SQLITE_ROW) {
            res->unchanged++; /* a newer row stays: this delete is history */
            res->records++;
            return 0;
        }
        if (src != SQLITE_DONE) {
            error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
            rc = merge_permanent(src) ? -2 : -1;
        } else {
            res->unchanged++; /* no such key (yet): only the tombstone */
        }
    }
    if (rc >= 0) {
        merge_bind(t, t->tput, m);
        rc = merge_step(t, t->tput, msg);
        t->tombstones = true;
    }
    if (rc == -2)
        return merge_corrupt(reason, "line %" PRId64 ": delete: %s", line, msg);
    if (rc < 0)
        return error_set(err, "silver/%s.db: deleting from %s: %s", t->domain, t->name, msg);
    res->records++;
    return 0;
}

/* Before an upsert into a table with tombstones: 0 go on (an older
 * tombstone of the key is removed), 2 the key was deleted by a newer delete
 * (the record is counted unchanged), 1 corrupt, -1 error. */
static int merge_tombstone_check(struct merge_table *t, const struct merge_meta *m, int64_t line,
                                 struct merge_result *res, char reason[ERROR_MAX],
                                 char err[ERROR_MAX])
{
    if (t->tget == NULL && merge_prepare_tombstones(t, err) < 0)
        return -1;
    char msg[ERROR_MAX];
    merge_bind(t, t->tget, m);
    int src = sqlite3_step(t->tget);
    int newer = src == SQLITE_ROW ? sqlite3_column_int(t->tget, 0) : 0;
    sqlite3_reset(t->tget);
    int rc = 0;
    if (src == SQLITE_ROW && newer) {
        res->unchanged++;
        res->records++;
        return 2;
    }
    if (src == SQLITE_ROW) {
        merge_bind(t, t->tdel, m);
        rc = merge_step(t, t->tdel, msg);
    } else if (src != SQLITE_DONE) {
        error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
        rc = merge_permanent(src) ? -2 : -1;
    }
    if (rc == -2)
        return merge_corrupt(reason, "line %" PRId64 ": tombstone: %s", line, msg);
    if (rc < 0)
        return error_set(err, "silver/%s.db: tombstones of %s: %s", t->domain, t->name, msg);
    return 0;
}

static int merge_write(struct merge_table *t, const struct merge_meta *mp, bool is_delete,
                       int64_t line, struct merge_result *res, char reason[ERROR_MAX],
                       char err[ERROR_MAX]);

/* A field whose name starts with '_': metadata the record carries (into m),
 * or _rescued, a data column. 0 handled, 2 a data column, 1 corrupt (reason). */
static int merge_meta_field(const struct merge_table *t, const char *key, const json_t *value,
                            int64_t line, struct merge_meta *m, bool *is_delete,
                            char reason[ERROR_MAX])
{
    if (strcmp(key, MERGE_SEQ) == 0 || strcmp(key, MERGE_SCHEMA_VERSION) == 0 ||
        strcmp(key, "_batch_id") == 0)
        return 0;
    if (strcmp(key, MERGE_INSERT_DATE) == 0) {
        if (json_is_string(value)) {
            m->insert_date = json_string_value(value);
            m->insert_date_len = json_string_length(value);
        }
        else if (!json_is_null(value))
            return merge_corrupt(reason, "line %" PRId64 ": _insert_date is not a string",
                             line);
        return 0;
    }
    if (strcmp(key, "_domain") == 0 || strcmp(key, "_endpoint") == 0) {
        const char *want = key[1] == 'd' ? t->domain : t->name;
        if (!json_is_string(value) || strcmp(json_string_value(value), want) != 0)
            return merge_corrupt(reason,
                             "line %" PRId64 ": %s does not name this file's table %s.%s",
                             line, key, t->domain, t->name);
        return 0;
    }
    if (strcmp(key, "_op") == 0) {
        if (json_is_null(value))
            return 0;
        if (!json_is_string(value) || strcmp(json_string_value(value), "delete") != 0)
            return merge_corrupt(reason, "line %" PRId64 ": _op is not \"delete\"", line);
        *is_delete = true;
        return 0;
    }
    if (strcmp(key, SCHEMA_RESCUED_COLUMN) != 0)
        return merge_corrupt(reason, "line %" PRId64 ": unknown metadata field '%.64s'", line,
                         key);
    return 2;
}

/* The value of column idx in this record, from jansson (t->vals[idx]). */
static int merge_json_value(struct merge_table *t, int idx, const json_t *value,
                            char err[ERROR_MAX])
{
    struct jsonflat_field *v = &t->vals[idx];
    switch (json_typeof(value)) {
    case JSON_STRING:
        v->type = JSONFLAT_STRING;
        v->str = json_string_value(value);
        v->len = json_string_length(value);
        break;
    case JSON_INTEGER:
        v->type = JSONFLAT_INTEGER;
        v->integer = json_integer_value(value);
        break;
    case JSON_REAL:
        v->type = JSONFLAT_REAL;
        v->real = json_real_value(value);
        break;
    case JSON_TRUE: v->type = JSONFLAT_TRUE; break;
    case JSON_FALSE: v->type = JSONFLAT_FALSE; break;
    default: /* object, array: compact JSON text */
        t->texts[idx] = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t->texts[idx] == NULL)
            return error_set(err, "out of memory");
        v->type = JSONFLAT_STRING;
        v->str = t->texts[idx];
        v->len = strlen(t->texts[idx]);
        break;
    }
    return 0;
}

/* One record. 0 ok, 1 corrupt (reason), 2 blocked by a "fail" expectation
 * (reason), -1 error (err). */
int merge_record(struct merge_table *t, json_t *root, int64_t line,
                        struct merge_result *res, int64_t *max_version, char reason[ERROR_MAX],
                        char err[ERROR_MAX])
{
    struct merge_meta m = {0};
    const json_t *seq = json_object_get(root, MERGE_SEQ);
    if (!json_is_integer(seq) || json_integer_value(seq) < 0)
        return merge_corrupt(reason, "line %" PRId64 ": _seq missing or not a non-negative integer",
                         line);
    m.seq = json_integer_value(seq);
    int version = 0;
    bool is_delete = false;

    if (++t->gen == 0) { /* wrapped: forget every stamp */
        memset(t->stamp, 0, t->cap * sizeof *t->stamp);
        t->gen = 1;
    }
    const char *key;
    json_t *value;
    /* pass 1: classify fields, make sure every column exists */
    const json_t *sv = json_object_get(root, MERGE_SCHEMA_VERSION);
    if (sv != NULL && !json_is_null(sv)) {
        if (!json_is_integer(sv))
            return merge_corrupt(reason, "line %" PRId64 ": _schema_version is not an integer",
                             line);
        m.has_schema_version = true;
        m.schema_version = json_integer_value(sv);
        if (json_integer_value(sv) > 0 && json_integer_value(sv) <= INT_MAX)
            version = (int)json_integer_value(sv);
        if (json_integer_value(sv) > *max_version)
            *max_version = json_integer_value(sv);
    }
    if (!t->exists) {
        int rc = merge_create(t, version, reason, err);
        if (rc != 0)
            return rc;
    }
    json_object_foreach(root, key, value) {
        if (key[0] == '_') {
            int rc = merge_meta_field(t, key, value, line, &m, &is_delete, reason);
            if (rc == 1)
                return 1;
            if (rc == 0)
                continue;
        } else if (!names_is_valid_column(key)) {
            return merge_corrupt(reason, "line %" PRId64 ": field '%.64s' is not a valid column name",
                             line, key);
        }
        if (json_is_null(value))
            continue; /* null and absent are the same: NULL */
        int idx = merge_find(t, key);
        if (idx < 0) {
            int rc = merge_add_column(t, key, value, version, reason, err);
            if (rc != 0)
                return rc;
            idx = (int)t->ncols - 1;
        }
        if (t->stamp[idx] == t->gen)
            return merge_corrupt(reason, "line %" PRId64 ": two fields map to column '%s'", line,
                             t->cols[idx].name);
        t->stamp[idx] = t->gen;
        if (merge_json_value(t, idx, value, err) < 0)
            return -1;
    }
    for (size_t k = 0; k < t->npk; k++)
        if (t->stamp[t->pk[k]] != t->gen)
            return merge_corrupt(reason, "line %" PRId64 ": primary key column '%s' is missing", line,
                             t->cols[t->pk[k]].name);

    if (is_delete && t->npk == 0)
        return merge_corrupt(reason, "line %" PRId64 ": a delete (_op) on table %s without a "
                                     "primary key", line, t->name);

    if (!is_delete) {
        int rc = merge_expect(t, root, version, line, reason, err);
        if (rc == 3) {
            res->dropped++;
            res->records++;
            return 0;
        }
        if (rc != 0)
            return rc;
    }
    return merge_write(t, &m, is_delete, line, res, reason, err);
}

/* Pass 2 of a record whose values are in t->vals (stamped with t->gen):
 * write it. 0 ok, 1 corrupt (reason), -1 error (err). */
static int merge_write(struct merge_table *t, const struct merge_meta *mp, bool is_delete,
                       int64_t line, struct merge_result *res, char reason[ERROR_MAX],
                       char err[ERROR_MAX])
{
    struct merge_meta m = *mp;
    if (t->ins == NULL && merge_prepare(t, err) < 0)
        return -1;
    if (is_delete)
        return merge_delete(t, &m, line, res, reason, err);
    if (t->tombstones && t->npk > 0) {
        int rc = merge_tombstone_check(t, &m, line, res, reason, err);
        if (rc != 0)
            return rc == 2 ? 0 : rc;
    }
    char msg[ERROR_MAX];
    merge_bind(t, t->ins, &m);
    int changed = merge_step(t, t->ins, msg);
    if (changed == 1) {
        res->inserted++;
        changed = merge_history(t, &m, false, msg);
    } else if (changed == 0 && t->npk == 0) {
        res->unchanged++; /* this _seq is already in the table */
    } else if (changed == 0) {
        if (t->upd != NULL) {
            merge_bind(t, t->upd, &m);
            changed = merge_step(t, t->upd, msg);
        }
        if (changed == 1) {
            res->updated++;
            changed = merge_history(t, &m, true, msg);
        } else if (changed == 0) {
            merge_bind(t, t->touch, &m);
            changed = merge_step(t, t->touch, msg);
            if (changed >= 0)
                res->unchanged++;
        }
    }
    if (changed == -2)
        return merge_corrupt(reason, "line %" PRId64 ": %s", line, msg);
    if (changed < 0)
        return error_set(err, "silver/%s.db: writing %s: %s", t->domain, t->name, msg);
    res->records++;
    return 0;
}

/* One record read in place by jsonflat_scan (the common case: a flat line of
 * an existing table whose latest schema has no expectations, every field a
 * known column). Anything else - a new column, a repeated field, metadata
 * that is not as ingest writes it, a missing key - returns MERGE_SLOW before
 * anything is written, and the line goes the jansson way (merge_record),
 * which handles it and words its errors. Otherwise as merge_record. */
int merge_record_flat(struct merge_table *t, const struct jsonflat_field *f, int n,
                             int64_t line, struct merge_result *res, int64_t *max_version,
                             char reason[ERROR_MAX], char err[ERROR_MAX])
{
    if (!t->exists || (t->latest != NULL && t->latest->expectation_count > 0))
        return MERGE_SLOW;
    struct merge_meta m = {0};
    bool is_delete = false;
    unsigned seen = 0; /* metadata fields met: a repeated one is jansson's (the last wins) */
    if (++t->gen == 0) {
        memset(t->stamp, 0, t->cap * sizeof *t->stamp);
        t->gen = 1;
    }
    /* a record of an older schema version whose columns were renamed or
     * dropped since (evolve.c) must be mapped to the latest names first */
    int64_t version = 0;
    for (int i = 0; i < n; i++)
        if (f[i].key_len == sizeof MERGE_SCHEMA_VERSION - 1 &&
            memcmp(f[i].key, MERGE_SCHEMA_VERSION, f[i].key_len) == 0 &&
            f[i].type == JSONFLAT_INTEGER)
            version = f[i].integer;
    const struct schema *latest = t->latest_fetched ? t->latest : NULL;
    bool older = latest != NULL && version > 0 && version < latest->version;
    char key[NAMES_MAX];
    for (int i = 0; i < n; i++, f++) {
        if (f->key_len == 0 || f->key_len >= sizeof key)
            return MERGE_SLOW;
        memcpy(key, f->key, f->key_len);
        key[f->key_len] = '\0';
        if (key[0] == '_' && strcmp(key, SCHEMA_RESCUED_COLUMN) != 0) {
            static const char *const meta[] = {MERGE_SEQ, MERGE_SCHEMA_VERSION, "_batch_id",
                                               MERGE_INSERT_DATE, "_domain", "_endpoint", "_op"};
            unsigned k = 0;
            while (k < sizeof meta / sizeof meta[0] && strcmp(key, meta[k]) != 0)
                k++;
            if (k == sizeof meta / sizeof meta[0] || (seen & (1u << k)))
                return MERGE_SLOW;
            seen |= 1u << k;
            switch (k) {
            case 0:
                if (f->type != JSONFLAT_INTEGER || f->integer < 0)
                    return MERGE_SLOW;
                m.seq = f->integer;
                break;
            case 1:
                if (f->type == JSONFLAT_INTEGER) {
                    m.has_schema_version = true;
                    m.schema_version = f->integer;
                } else if (f->type != JSONFLAT_NULL) {
                    return MERGE_SLOW;
                }
                break;
            case 2:
                break;
            case 3:
                if (f->type == JSONFLAT_STRING) {
                    m.insert_date = f->str;
                    m.insert_date_len = f->len;
                } else if (f->type != JSONFLAT_NULL) {
                    return MERGE_SLOW;
                }
                break;
            case 4:
            case 5: {
                const char *want = k == 4 ? t->domain : t->name;
                if (f->type != JSONFLAT_STRING || f->len != strlen(want) ||
                    memcmp(f->str, want, f->len) != 0)
                    return MERGE_SLOW;
                break;
            }
            default: /* _op */
                if (f->type == JSONFLAT_STRING && f->len == 6 && memcmp(f->str, "delete", 6) == 0)
                    is_delete = true;
                else if (f->type != JSONFLAT_NULL)
                    return MERGE_SLOW;
                break;
            }
            continue;
        }
        if (key[0] != '_' && !names_is_valid_column(key))
            return MERGE_SLOW;
        if (older && key[0] != '_') {
            const char *now;
            if (evolve_name(&t->names, t->schemas, t->domain, t->name, latest, (int)version, key,
                            &now, err) < 0)
                return -1;
            if (now == NULL || strcasecmp(now, key) != 0)
                return MERGE_SLOW; /* renamed or dropped since: evolve_record's */
        }
        int idx = merge_find(t, key);
        if (idx < 0 || t->stamp[idx] == t->gen)
            return MERGE_SLOW; /* a new column, or two fields for one column */
        t->stamp[idx] = t->gen;
        t->vals[idx] = *f;
    }
    if (!(seen & 1u))
        return MERGE_SLOW; /* no _seq */
    for (size_t k = 0; k < t->npk; k++)
        if (t->stamp[t->pk[k]] != t->gen || t->vals[t->pk[k]].type == JSONFLAT_NULL)
            return MERGE_SLOW;
    if (is_delete && t->npk == 0)
        return MERGE_SLOW;
    if (m.has_schema_version && m.schema_version > *max_version)
        *max_version = m.schema_version;
    return merge_write(t, &m, is_delete, line, res, reason, err);
}

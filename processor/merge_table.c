/* merge_table.c - the columns of a silver table being merged (names,
 * case-insensitive lookup, key order) and opening/closing it (merge_table.h). */
#include "merge_table.h"

static uint32_t merge_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 16777619u;
    }
    return h;
}

int merge_find(const struct merge_table *t, const char *name)
{
    if (t->nslots == 0)
        return -1;
    size_t mask = t->nslots - 1;
    for (size_t i = merge_hash(name) & mask; t->slots[i] != 0; i = (i + 1) & mask) {
        size_t idx = t->slots[i] - 1;
        if (strcasecmp(t->cols[idx].name, name) == 0)
            return (int)idx;
    }
    return -1;
}

int merge_rehash(struct merge_table *t)
{
    size_t n = 16;
    while (n < 2 * (t->ncols + 1))
        n *= 2;
    if (n != t->nslots) {
        uint32_t *slots = realloc(t->slots, n * sizeof *slots);
        if (slots == NULL)
            return -1;
        t->slots = slots;
        t->nslots = n;
    }
    memset(t->slots, 0, t->nslots * sizeof *t->slots);
    for (size_t c = 0; c < t->ncols; c++) {
        size_t i = merge_hash(t->cols[c].name) & (t->nslots - 1);
        while (t->slots[i] != 0)
            i = (i + 1) & (t->nslots - 1);
        t->slots[i] = (uint32_t)c + 1;
    }
    return 0;
}

int merge_reserve(struct merge_table *t, size_t need)
{
    if (need <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 16;
    while (cap < need)
        cap *= 2;
    struct merge_column *cols = realloc(t->cols, cap * sizeof *cols);
    if (cols == NULL)
        return -1;
    t->cols = cols;
    struct jsonflat_field *vals = realloc(t->vals, cap * sizeof *vals);
    if (vals == NULL)
        return -1;
    t->vals = vals;
    char **texts = realloc(t->texts, cap * sizeof *texts);
    if (texts == NULL)
        return -1;
    t->texts = texts;
    uint32_t *stamp = realloc(t->stamp, cap * sizeof *stamp);
    if (stamp == NULL)
        return -1;
    t->stamp = stamp;
    size_t *pk = realloc(t->pk, cap * sizeof *pk);
    if (pk == NULL)
        return -1;
    t->pk = pk;
    for (size_t i = t->cap; i < cap; i++) {
        t->texts[i] = NULL;
        t->stamp[i] = 0;
    }
    t->cap = cap;
    return 0;
}

void merge_finalize(struct merge_table *t)
{
    sqlite3_finalize(t->ins);
    sqlite3_finalize(t->upd);
    sqlite3_finalize(t->touch);
    sqlite3_finalize(t->hins);
    sqlite3_finalize(t->hopen);
    sqlite3_finalize(t->hclose);
    t->ins = t->upd = t->touch = t->hins = t->hopen = t->hclose = NULL;
    sqlite3_finalize(t->del);
    sqlite3_finalize(t->has);
    sqlite3_finalize(t->tput);
    sqlite3_finalize(t->tget);
    sqlite3_finalize(t->tdel);
    t->del = t->has = t->tput = t->tget = t->tdel = NULL;
}

bool merge_is_meta_column(const char *name)
{
    return strcmp(name, MERGE_SEQ) == 0 || strcmp(name, MERGE_INSERT_DATE) == 0 ||
           strcmp(name, MERGE_SCHEMA_VERSION) == 0;
}

/* Keyed tables: does _d_<table> exist and hold tombstones; which column is
 * the schema's sequence_by (the latest schema: changing it is refused as an
 * incompatible change, so every version agrees). */
static int merge_load_keyed(struct merge_table *t, char err[ERROR_MAX])
{
    t->dtable = t->tombstones = false;
    t->seq_col = -1;
    t->seq_time = false;
    if (!t->exists || t->npk == 0)
        return 0;
    const struct schema *s = t->latest_fetched ? t->latest : NULL;
    if (s != NULL && s->sequence_by[0] != '\0') {
        const struct schema_column *c = schema_find_column(s, s->sequence_by);
        t->seq_col = merge_find(t, s->sequence_by);
        t->seq_time = c != NULL && (c->type == SCHEMA_TYPE_TIMESTAMP || c->type == SCHEMA_TYPE_DATE);
    }
    char sql[NAMES_MAX + 96];
    snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM \"_d_%s\")", t->name);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(t->sdb->db,
                                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name = '_d_' || ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW)
            t->dtable = sqlite3_column_int(st, 0) > 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_ROW && t->dtable && (rc = sqlite3_prepare_v2(t->sdb->db, sql, -1, &st, NULL)) == SQLITE_OK &&
        (rc = sqlite3_step(st)) == SQLITE_ROW)
        t->tombstones = sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "silver/%s.db: tombstones of %s: %s", t->domain, t->name,
                         sqlite3_errmsg(t->sdb->db));
    return 0;
}

/* (Re)read the table's columns and key from SQLite; drops the statements. */
int merge_load(struct merge_table *t, char err[ERROR_MAX])
{
    merge_finalize(t);
    t->ncols = 0;
    t->npk = 0;
    t->exists = false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(t->sdb->db, "SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid",
                           -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "silver/%s.db: table_info: %s", t->domain,
                         sqlite3_errmsg(t->sdb->db));
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    int keypos[256] = {0};
    bool has_seq = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        t->exists = true;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int pk = sqlite3_column_int(st, 1);
        if (name == NULL || strlen(name) >= NAMES_MAX) {
            sqlite3_finalize(st);
            return error_set(err, "silver table %s.%s: unexpected column name", t->domain, t->name);
        }
        if (strcmp(name, MERGE_SEQ) == 0)
            has_seq = true;
        if (merge_is_meta_column(name))
            continue;
        if (merge_reserve(t, t->ncols + 1) < 0) {
            sqlite3_finalize(st);
            return error_set(err, "out of memory");
        }
        struct merge_column *c = &t->cols[t->ncols];
        snprintf(c->name, sizeof c->name, "%s", name);
        c->pk = pk > 0;
        if (pk > 0 && pk <= 255)
            keypos[pk] = (int)t->ncols + 1;
        t->ncols++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: table_info of %s: %s", t->domain, t->name,
                         sqlite3_errmsg(t->sdb->db));
    if (t->exists && !has_seq)
        return error_set(err, "silver table %s.%s has no _seq column: not a processor table",
                         t->domain, t->name);
    for (int p = 1; p < 256; p++)
        if (keypos[p] > 0)
            t->pk[t->npk++] = (size_t)keypos[p] - 1;
    if (merge_rehash(t) < 0)
        return error_set(err, "out of memory");
    return merge_load_keyed(t, err);
}

int merge_table_open(struct silver_db *sdb, struct schemas *schemas, const char *domain,
                     const char *table, struct merge_table **out, char err[ERROR_MAX])
{
    if (names_check_object("table", table, err) < 0)
        return -1;
    struct merge_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return error_set(err, "out of memory");
    t->sdb = sdb;
    t->schemas = schemas;
    snprintf(t->domain, sizeof t->domain, "%s", domain);
    snprintf(t->name, sizeof t->name, "%s", table);
    if (merge_reserve(t, 16) < 0 || (t->flat = calloc(MERGE_FLAT_MAX, sizeof *t->flat)) == NULL) {
        merge_table_close(&t);
        return error_set(err, "out of memory");
    }
    t->history = true;
    /* the latest schema: sequence_by and expectations apply to every file */
    if (schemas_get(schemas, domain, table, 0, &t->latest, err) < 0) {
        merge_table_close(&t);
        return -1;
    }
    t->latest_fetched = true;
    /* a newer schema version renames/drops columns before the file's records
     * (written under it) are merged */
    int64_t changed = 0;
    if (evolve_apply(sdb, schemas, table, t->latest, &changed, err) < 0 ||
        merge_load(t, err) < 0 || (t->exists && history_sync(sdb, table, err) < 0)) {
        merge_table_close(&t);
        return -1;
    }
    *out = t;
    return 0;
}

void merge_table_close(struct merge_table **table)
{
    struct merge_table *t = *table;
    if (t == NULL)
        return;
    merge_finalize(t);
    for (size_t i = 0; i < t->cap; i++)
        free(t->texts[i]);
    free(t->cols);
    free(t->vals);
    free(t->flat);
    free(t->texts);
    free(t->stamp);
    free(t->pk);
    free(t->slots);
    schema_destroy(&t->version_schema);
    schema_destroy(&t->latest);
    evolve_names_free(&t->names);
    expectation_close(&t->expect);
    free(t->counts);
    if (t->drops != NULL)
        free(t->drops->s);
    free(t->drops);
    free(t);
    *table = NULL;
}


void merge_table_set_history(struct merge_table *table, bool on)
{
    table->history = on;
}

void merge_free_texts(struct merge_table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->texts[i] != NULL) {
            free(t->texts[i]);
            t->texts[i] = NULL;
        }
    }
}

/* Record why a file is corrupt; returns 1 (the "corrupt" result). */
int merge_corrupt(char reason[ERROR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, ERROR_MAX, fmt, ap);
    va_end(ap);
    return 1;
}

/* job.c - transform job definitions: the SQL-file form, the JSON form,
 * validation, dependencies and cycle detection (see job.h).
 *
 * Decisions written down here:
 *   - unique_key means upsert: rows whose key already exists are updated, the
 *     others inserted. That is an append-style write, so a header with
 *     unique_key and no write_mode gets write_mode append; unique_key together
 *     with write_mode overwrite is refused (overwrite replaces the whole table,
 *     there is nothing to upsert into).
 *   - cron: without schedule: implies schedule cron; a cron expression on a
 *     dependency job is refused, as is a cron job without one.
 *   - In the SQL-file form, leading comment lines that do not look like
 *     "-- word: value" are ordinary comments and skipped; a line that does
 *     look like one must use a known key (a typo such as "-- shedule: cron"
 *     must not silently turn into a default).
 *   - In a cycle message the arrow means "reads": "demo.a -> demo.b" says job
 *     demo.a reads the gold table written by job demo.b. */
#include "job.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cron.h"

#define JOB_SHOWN_MAX 60

static const char *const job_write_mode_names[] = {"overwrite", "append"};
static const char *const job_schedule_names[] = {"dependency", "cron"};

const char *job_write_mode_name(enum job_write_mode m)
{
    return (m == JOB_WRITE_OVERWRITE || m == JOB_WRITE_APPEND) ? job_write_mode_names[m] : "?";
}

/* Index of name (any case) in names[0..n), or -1. */
static int job_name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name != NULL && i < n; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

int job_write_mode_from_name(const char *name, enum job_write_mode *out)
{
    int i = job_name_index(job_write_mode_names, 2, name);
    if (i < 0)
        return -1;
    *out = (enum job_write_mode)i;
    return 0;
}

const char *job_schedule_name(enum job_schedule s)
{
    return (s == JOB_SCHEDULE_DEPENDENCY || s == JOB_SCHEDULE_CRON) ? job_schedule_names[s] : "?";
}

int job_schedule_from_name(const char *name, enum job_schedule *out)
{
    int i = job_name_index(job_schedule_names, 2, name);
    if (i < 0)
        return -1;
    *out = (enum job_schedule)i;
    return 0;
}

/* Copy s[0..n) into out (size out_size) without surrounding blanks.
 * Returns -1 if it does not fit. */
static int job_copy_trimmed(char *out, size_t out_size, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= out_size)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Check a column list ("a, b") of the header key `what` (unique_key,
 * accumulate) and write its normal form ("a,b") to out (may be NULL). */
static int job_columns_normalize(const char *what, const char *in, char out[JOB_UNIQUE_KEY_MAX],
                                 char err[ERROR_MAX])
{
    char norm[JOB_UNIQUE_KEY_MAX] = "";
    size_t norm_len = 0;
    const char *p = in;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char col[NAMES_MAX];
        if (job_copy_trimmed(col, sizeof col, p, n) < 0)
            return error_set(err, "%s: column name too long in '%.*s'", what, JOB_SHOWN_MAX, in);
        if (col[0] == '\0')
            return error_set(err, "%s '%.*s': empty column name", what, JOB_SHOWN_MAX, in);
        if (names_check_column(col, err) < 0)
            return error_prefix(err, "%s", what);
        /* duplicates */
        const char *q = norm;
        while (*q != '\0') {
            const char *e = strchr(q, ',');
            size_t m = e ? (size_t)(e - q) : strlen(q);
            if (m == strlen(col) && strncmp(q, col, m) == 0)
                return error_set(err, "%s: column '%s' is listed twice", what, col);
            q += m + (e ? 1 : 0);
        }
        size_t cl = strlen(col);
        if (norm_len + cl + 2 > sizeof norm)
            return error_set(err, "%s: too many columns", what);
        if (norm_len > 0)
            norm[norm_len++] = ',';
        memcpy(norm + norm_len, col, cl + 1);
        norm_len += cl;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (out != NULL)
        memcpy(out, norm, norm_len + 1);
    return 0;
}

/* sqlref_at_fn for job_validate: notes a bare @changes; the text is unused. */
static int job_note_at(void *arg, const struct sqlref *ref, const struct sqlref_at *at,
                       char **text, char err[ERROR_MAX])
{
    (void)ref;
    if (at->kind == SQLREF_AT_CHANGES && at->snapshot < 0)
        *(bool *)arg = true;
    *text = strdup("x");
    return *text != NULL ? 0 : error_set(err, "out of memory");
}

/* Length of the blanks and comments at s (-- to end of line, block comments;
 * an unterminated block comment runs to the end of the text). */
static size_t job_sql_skip_blank(const char *s)
{
    size_t i = 0;
    for (;;) {
        if (isspace((unsigned char)s[i])) {
            i++;
        } else if (s[i] == '-' && s[i + 1] == '-') {
            while (s[i] != '\0' && s[i] != '\n')
                i++;
        } else if (s[i] == '/' && s[i + 1] == '*') {
            const char *end = strstr(s + i + 2, "*/");
            i = end != NULL ? (size_t)(end - s) + 2 : strlen(s);
        } else {
            return i;
        }
    }
}

/* Length of the quoted token at s (s[0] is the opening quote; closed by
 * `close`, doubled close characters stay inside except for [..]). */
static size_t job_sql_skip_quoted(const char *s, char close)
{
    size_t i = 1;
    while (s[i] != '\0') {
        if (s[i] == close) {
            if (close != ']' && s[i + 1] == close) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return i;
}

/* The SQL of a job must be one query: after blanks and comments it starts
 * with SELECT, WITH or VALUES; a WITH's statement (the first top-level
 * statement keyword after the common table expressions) is SELECT or VALUES;
 * and no ';' outside literals and comments is followed by anything but blanks,
 * comments and more ';'. Checked on the text alone, so a job can be defined
 * before its input tables exist; the transformer checks again when it
 * prepares the statement. */
static int job_check_single_select(const char *sql, char err[ERROR_MAX])
{
    static const char *const statements[] = {"select", "values", "insert", "update",
                                             "delete", "replace", NULL};
    size_t i = job_sql_skip_blank(sql);
    size_t first_len = 0;
    while (isalnum((unsigned char)sql[i + first_len]) || sql[i + first_len] == '_')
        first_len++;
    bool is_with = first_len == 4 && strncasecmp(sql + i, "with", 4) == 0;
    if (!is_with && !(first_len == 6 && strncasecmp(sql + i, "select", 6) == 0) &&
        !(first_len == 6 && strncasecmp(sql + i, "values", 6) == 0)) {
        if (first_len == 0)
            return error_set(err, "the SQL must be a single SELECT statement (it starts with "
                                  "'%.1s')", sql + i);
        return error_set(err, "the SQL must be a single SELECT statement (it starts with %.*s; "
                              "a job only reads, the transformer writes its table)",
                         (int)(first_len < JOB_SHOWN_MAX ? first_len : JOB_SHOWN_MAX), sql + i);
    }
    i += first_len;
    int depth = 0;
    bool main_seen = !is_with;
    while (sql[i] != '\0') {
        size_t blank = job_sql_skip_blank(sql + i);
        if (blank > 0) {
            i += blank;
            continue;
        }
        char c = sql[i];
        if (c == '\'' || c == '"' || c == '`') {
            i += job_sql_skip_quoted(sql + i, c);
        } else if (c == '[') {
            i += job_sql_skip_quoted(sql + i, ']');
        } else if (c == '(') {
            depth++;
            i++;
        } else if (c == ')') {
            depth--;
            i++;
        } else if (c == ';') {
            size_t rest = i + 1;
            for (;;) {
                rest += job_sql_skip_blank(sql + rest);
                if (sql[rest] != ';')
                    break;
                rest++;
            }
            if (sql[rest] != '\0')
                return error_set(err, "the SQL must be a single SELECT statement (found another "
                                      "statement after ';')");
            i = rest;
        } else if (isalpha((unsigned char)c) || c == '_') {
            size_t len = 0;
            while (isalnum((unsigned char)sql[i + len]) || sql[i + len] == '_' ||
                   sql[i + len] == '$')
                len++;
            if (!main_seen && depth == 0) {
                for (int k = 0; statements[k] != NULL; k++) {
                    if (len != strlen(statements[k]) || strncasecmp(sql + i, statements[k], len) != 0)
                        continue;
                    if (k >= 2)
                        return error_set(err, "the SQL must be a single SELECT statement (WITH "
                                              "... %.*s; a job only reads, the transformer "
                                              "writes its table)", (int)len, sql + i);
                    main_seen = true;
                }
            }
            i += len;
        } else {
            i++;
        }
    }
    return 0;
}

/* Next column of a normalised list ("a,b"): copies it to col and advances
 * *p; false at the end. */
static bool job_next_column(const char **p, char col[NAMES_MAX])
{
    if (**p == '\0')
        return false;
    const char *comma = strchr(*p, ',');
    size_t n = comma ? (size_t)(comma - *p) : strlen(*p);
    if (n >= NAMES_MAX)
        n = NAMES_MAX - 1;
    memcpy(col, *p, n);
    col[n] = '\0';
    *p = comma ? comma + 1 : *p + strlen(*p);
    return true;
}

bool job_column_listed(const char *list, const char *column)
{
    char col[NAMES_MAX];
    for (const char *p = list; job_next_column(&p, col);)
        if (strcasecmp(col, column) == 0)
            return true;
    return false;
}

int job_validate(const struct job_def *job, char err[ERROR_MAX])
{
    if (names_check_object("domain", job->domain, err) < 0 ||
        names_check_object("job", job->name, err) < 0)
        return -1;
    const char *id_domain = job->domain, *id_name = job->name;
    if (job->sql == NULL || job->sql[strspn(job->sql, " \t\r\n")] == '\0')
        return error_set(err, "job %s.%s: empty SQL", id_domain, id_name);
    /* jansson refuses invalid UTF-8: the JSON form (API answers, the catalog)
     * could not carry such SQL, so it is refused here, at the edge */
    json_t *utf8 = json_string(job->sql);
    if (utf8 == NULL)
        return error_set(err, "job %s.%s: the SQL is not valid UTF-8", id_domain, id_name);
    json_decref(utf8);
    if (job->write_mode != JOB_WRITE_OVERWRITE && job->write_mode != JOB_WRITE_APPEND)
        return error_set(err, "job %s.%s: invalid write mode", id_domain, id_name);
    if (job->unique_key[0] != '\0') {
        if (job_columns_normalize("unique_key", job->unique_key, NULL, err) < 0)
            return error_prefix(err, "job %s.%s", id_domain, id_name);
        if (job->write_mode == JOB_WRITE_OVERWRITE)
            return error_set(err,
                             "job %s.%s: unique_key upserts rows into the existing table and needs "
                             "write_mode append (overwrite replaces the whole table)",
                             id_domain, id_name);
    }
    if (job->schedule == JOB_SCHEDULE_CRON) {
        struct cron_expr expr;
        if (job->cron[0] == '\0')
            return error_set(err, "job %s.%s: schedule cron needs a cron expression", id_domain,
                             id_name);
        if (cron_parse(job->cron, &expr, err) < 0)
            return error_prefix(err, "job %s.%s", id_domain, id_name);
    } else if (job->schedule == JOB_SCHEDULE_DEPENDENCY) {
        if (job->cron[0] != '\0')
            return error_set(err,
                             "job %s.%s: a cron expression is given but the schedule is "
                             "dependency (use schedule: cron)",
                             id_domain, id_name);
    } else {
        return error_set(err, "job %s.%s: invalid schedule", id_domain, id_name);
    }

    if (job->accumulate[0] != '\0') {
        if (job_columns_normalize("accumulate", job->accumulate, NULL, err) < 0)
            return error_prefix(err, "job %s.%s", id_domain, id_name);
        if (job->unique_key[0] == '\0')
            return error_set(err,
                             "job %s.%s: accumulate adds to the stored row of a key and needs a "
                             "unique_key",
                             id_domain, id_name);
        char col[NAMES_MAX];
        for (const char *p = job->accumulate; job_next_column(&p, col);)
            if (job_column_listed(job->unique_key, col))
                return error_set(err,
                                 "job %s.%s: column '%s' is in unique_key and accumulate (a key "
                                 "is matched, not added to)",
                                 id_domain, id_name, col);
    }
    if (job->incremental && job->write_mode == JOB_WRITE_OVERWRITE)
        return error_set(err,
                         "job %s.%s: incremental needs write_mode append or a unique_key "
                         "(overwrite would keep only what the last changes produced)",
                         id_domain, id_name);
    bool bare_changes = false;
    char *text = NULL;
    if (sqlref_rewrite_at(job->sql, job_note_at, &bare_changes, &text, NULL, NULL, err) < 0)
        return error_prefix(err, "job %s.%s", id_domain, id_name);
    int single = job_check_single_select(text, err);
    free(text);
    if (single < 0)
        return error_prefix(err, "job %s.%s", id_domain, id_name);
    if (bare_changes && !job->incremental)
        return error_set(err,
                         "job %s.%s: @changes without a range reads the changes since the "
                         "job's last run: add '-- incremental: true' (JSON \"incremental\": "
                         "true), or give a range @changes(<from>[,<to>])",
                         id_domain, id_name);
    struct sqlref *refs = NULL;
    size_t count = 0;
    if (sqlref_rewrite(job->sql, NULL, &refs, &count, err) < 0)
        return error_prefix(err, "job %s.%s", id_domain, id_name);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (refs[i].layer == SQLREF_BRONZE)
            rc = error_set(err,
                           "job %s.%s: %s.bronze.%s: jobs read silver or gold tables, not bronze "
                           "files (use %s.silver.%s)",
                           id_domain, id_name, refs[i].domain, refs[i].table, refs[i].domain,
                           refs[i].table);
        else if (refs[i].layer == SQLREF_GOLD && strcmp(refs[i].domain, job->domain) == 0 &&
                 strcmp(refs[i].table, job->name) == 0)
            rc = error_set(err, "job %s.%s: reads its own output table %s.gold.%s", id_domain,
                           id_name, job->domain, job->name);
    }
    free(refs);
    return rc;
}

/* The end of a parse: job (its SQL just copied, NULL when out of memory)
 * validated and moved to *out, or cleared. */
static int job_done(struct job_def *job, struct job_def *out, char err[ERROR_MAX])
{
    if (job->sql == NULL)
        return error_set(err, "out of memory");
    if (job_validate(job, err) < 0) {
        job_clear(job);
        return -1;
    }
    *out = *job;
    return 0;
}

int job_dependencies(const struct job_def *job, struct sqlref **refs, size_t *count,
                     char err[ERROR_MAX])
{
    if (sqlref_rewrite(job->sql, NULL, refs, count, err) < 0)
        return error_prefix(err, "job %s.%s", job->domain, job->name);
    return 0;
}

/* Header keys of the SQL-file form. */
enum job_key { JOB_KEY_JOB, JOB_KEY_DOMAIN, JOB_KEY_WRITE_MODE, JOB_KEY_UNIQUE_KEY,
               JOB_KEY_SCHEDULE, JOB_KEY_CRON, JOB_KEY_INCREMENTAL, JOB_KEY_ACCUMULATE,
               JOB_KEY_INDEX, JOB_KEY_MODEL, JOB_KEY_COUNT };
static const char *const job_key_names[JOB_KEY_COUNT] = {
    "job", "domain", "write_mode", "unique_key", "schedule", "cron", "incremental", "accumulate",
    "index", "model"};

/* The base name of a path without ".sql". */
static void job_default_name(const char *in, char out[NAMES_MAX + 8])
{
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".sql") == 0)
        n -= 4;
    if (n > NAMES_MAX + 6)
        n = NAMES_MAX + 6; /* too long: kept long enough to fail the name check */
    memcpy(out, base, n);
    out[n] = '\0';
}

/* The "-- key: value" header lines of a job's SQL file. */
struct job_header {
    char values[JOB_KEY_COUNT][JOB_UNIQUE_KEY_MAX];
    bool have[JOB_KEY_COUNT];
    int line[JOB_KEY_COUNT];
};

/* Read the header lines of text into h; *sql_start = the first line that is
 * not one (NULL: none), *lines = the lines read. */
static int job_read_header(const char *text, struct job_header *h, const char **sql_start,
                           int *lines, char err[ERROR_MAX])
{
    const char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte order mark */
    int line_no = 0;
    *sql_start = NULL;
    while (*p != '\0') {
        line_no++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *s = p;
        size_t n = len;
        while (n > 0 && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        if (n == 0) {
            p = eol ? eol + 1 : p + len;
            continue;
        }
        if (n < 2 || s[0] != '-' || s[1] != '-') {
            *sql_start = p;
            break;
        }
        s += 2;
        n -= 2;
        while (n > 0 && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        size_t k = 0;
        while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_'))
            k++;
        size_t c = k;
        while (c < n && (s[c] == ' ' || s[c] == '\t'))
            c++;
        if (k > 0 && isalpha((unsigned char)s[0]) && c < n && s[c] == ':') {
            int key = -1;
            for (int i = 0; i < JOB_KEY_COUNT; i++) {
                if (strlen(job_key_names[i]) == k && strncasecmp(s, job_key_names[i], k) == 0)
                    key = i;
            }
            if (key < 0)
                return error_set(err,
                                 "line %d: unknown header key '%.*s' (known: job, domain, "
                                 "write_mode, unique_key, schedule, cron, incremental, "
                                 "accumulate, index, model)",
                                 line_no, (int)(k > JOB_SHOWN_MAX ? JOB_SHOWN_MAX : k), s);
            if (h->have[key])
                return error_set(err, "line %d: '%s' given twice (first on line %d)", line_no,
                                 job_key_names[key], h->line[key]);
            if (job_copy_trimmed(h->values[key], sizeof h->values[key], s + c + 1, n - c - 1) < 0)
                return error_set(err, "line %d: value of '%s' is too long", line_no,
                                 job_key_names[key]);
            if (h->values[key][0] == '\0')
                return error_set(err, "line %d: empty value for '%s'", line_no,
                                 job_key_names[key]);
            h->have[key] = true;
            h->line[key] = line_no;
        }
        p = eol ? eol + 1 : p + len;
    }
    *lines = line_no;
    return 0;
}

/* The job's fields from its header (name, domain, write mode, schedule...). */
static int job_from_header(const struct job_header *h, const char *default_name,
                           struct job_def *job, char err[ERROR_MAX])
{
    job->write_mode = JOB_WRITE_OVERWRITE;
    job->schedule = JOB_SCHEDULE_DEPENDENCY;

    if (h->have[JOB_KEY_JOB]) {
        if (strlen(h->values[JOB_KEY_JOB]) >= NAMES_MAX ||
            names_check_object("job", h->values[JOB_KEY_JOB], err) < 0) {
            if (strlen(h->values[JOB_KEY_JOB]) >= NAMES_MAX)
                error_set(err, "job name is longer than %d characters", NAMES_MAX - 1);
            return error_prefix(err, "line %d", h->line[JOB_KEY_JOB]);
        }
        strcpy(job->name, h->values[JOB_KEY_JOB]);
    } else if (default_name != NULL && default_name[0] != '\0') {
        char name[NAMES_MAX + 8];
        job_default_name(default_name, name);
        if (names_check_object("job", name, err) < 0)
            return error_prefix(err, "job name from the file name (add a '-- job: NAME' line)");
        strcpy(job->name, name);
    } else {
        return error_set(err, "no job name: add a '-- job: NAME' header line");
    }

    if (!h->have[JOB_KEY_DOMAIN])
        return error_set(err, "missing '-- domain: NAME' header line");
    if (strlen(h->values[JOB_KEY_DOMAIN]) >= NAMES_MAX)
        return error_set(err, "line %d: domain name is longer than %d characters",
                         h->line[JOB_KEY_DOMAIN], NAMES_MAX - 1);
    if (names_check_object("domain", h->values[JOB_KEY_DOMAIN], err) < 0)
        return error_prefix(err, "line %d", h->line[JOB_KEY_DOMAIN]);
    strcpy(job->domain, h->values[JOB_KEY_DOMAIN]);

    if (h->have[JOB_KEY_UNIQUE_KEY]) {
        if (job_columns_normalize("unique_key", h->values[JOB_KEY_UNIQUE_KEY], job->unique_key, err) < 0)
            return error_prefix(err, "line %d", h->line[JOB_KEY_UNIQUE_KEY]);
        job->write_mode = JOB_WRITE_APPEND;
    }
    if (h->have[JOB_KEY_ACCUMULATE] &&
        job_columns_normalize("accumulate", h->values[JOB_KEY_ACCUMULATE], job->accumulate, err) < 0)
        return error_prefix(err, "line %d", h->line[JOB_KEY_ACCUMULATE]);
    if (h->have[JOB_KEY_INDEX] &&
        job_columns_normalize("index", h->values[JOB_KEY_INDEX], job->index, err) < 0)
        return error_prefix(err, "line %d", h->line[JOB_KEY_INDEX]);
    if (h->have[JOB_KEY_MODEL]) {
        if (strlen(h->values[JOB_KEY_MODEL]) >= NAMES_MAX ||
            names_check_object("model", h->values[JOB_KEY_MODEL], err) < 0) {
            if (strlen(h->values[JOB_KEY_MODEL]) >= NAMES_MAX)
                error_set(err, "model name is longer than %d characters", NAMES_MAX - 1);
            return error_prefix(err, "line %d", h->line[JOB_KEY_MODEL]);
        }
        strcpy(job->model, h->values[JOB_KEY_MODEL]);
    }
    if (h->have[JOB_KEY_WRITE_MODE]) {
        if (job_write_mode_from_name(h->values[JOB_KEY_WRITE_MODE], &job->write_mode) < 0)
            return error_set(err, "line %d: unknown write_mode '%.*s' (overwrite | append)",
                             h->line[JOB_KEY_WRITE_MODE], JOB_SHOWN_MAX,
                             h->values[JOB_KEY_WRITE_MODE]);
        if (h->have[JOB_KEY_UNIQUE_KEY] && job->write_mode == JOB_WRITE_OVERWRITE)
            return error_set(err,
                             "line %d: unique_key upserts rows into the existing table and needs "
                             "write_mode append (overwrite replaces the whole table)",
                             h->line[JOB_KEY_WRITE_MODE]);
    }
    if (h->have[JOB_KEY_CRON]) {
        if (strlen(h->values[JOB_KEY_CRON]) >= JOB_CRON_MAX)
            return error_set(err, "line %d: cron expression is too long", h->line[JOB_KEY_CRON]);
        struct cron_expr expr;
        if (cron_parse(h->values[JOB_KEY_CRON], &expr, err) < 0)
            return error_prefix(err, "line %d", h->line[JOB_KEY_CRON]);
        strcpy(job->cron, h->values[JOB_KEY_CRON]);
        job->schedule = JOB_SCHEDULE_CRON;
    }
    if (h->have[JOB_KEY_SCHEDULE]) {
        if (job_schedule_from_name(h->values[JOB_KEY_SCHEDULE], &job->schedule) < 0)
            return error_set(err, "line %d: unknown schedule '%.*s' (dependency | cron)",
                             h->line[JOB_KEY_SCHEDULE], JOB_SHOWN_MAX, h->values[JOB_KEY_SCHEDULE]);
        if (job->schedule == JOB_SCHEDULE_CRON && !h->have[JOB_KEY_CRON])
            return error_set(err, "line %d: schedule cron needs a '-- cron: EXPRESSION' line",
                             h->line[JOB_KEY_SCHEDULE]);
        if (job->schedule == JOB_SCHEDULE_DEPENDENCY && h->have[JOB_KEY_CRON])
            return error_set(err, "line %d: a cron expression is given but the schedule is "
                                  "dependency (use schedule: cron)",
                             h->line[JOB_KEY_CRON]);
    }

    if (h->have[JOB_KEY_INCREMENTAL]) {
        if (strcasecmp(h->values[JOB_KEY_INCREMENTAL], "true") == 0)
            job->incremental = true;
        else if (strcasecmp(h->values[JOB_KEY_INCREMENTAL], "false") != 0)
            return error_set(err, "line %d: incremental must be true or false, not '%.*s'",
                             h->line[JOB_KEY_INCREMENTAL], JOB_SHOWN_MAX,
                             h->values[JOB_KEY_INCREMENTAL]);
    }

    return 0;
}

int job_parse_sql_file(const char *text, const char *default_name, struct job_def *out,
                       char err[ERROR_MAX])
{
    struct job_header h = {0};
    memset(out, 0, sizeof *out);
    if (text == NULL)
        return error_set(err, "no job text");
    const char *sql_start = NULL;
    int line_no = 0;
    if (job_read_header(text, &h, &sql_start, &line_no, err) < 0)
        return -1;
    if (sql_start == NULL)
        return error_set(err, "line %d: no SQL after the header", line_no);
    struct job_def job = {0};
    if (job_from_header(&h, default_name, &job, err) < 0)
        return -1;

    /* The SQL: everything from the first non-header line, trailing blanks cut. */
    size_t sql_len = strlen(sql_start);
    while (sql_len > 0 && isspace((unsigned char)sql_start[sql_len - 1]))
        sql_len--;
    job.sql = strndup(sql_start, sql_len);
    return job_done(&job, out, err);
}

/* A string member of the JSON form: absent/null -> "" (when optional). */
static int job_json_string(const json_t *json, const char *key, bool required, char *out,
                           size_t out_size, char err[ERROR_MAX])
{
    json_t *v = json_object_get(json, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return error_set(err, "job: missing '%s'", key);
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return error_set(err, "job: '%s' must be a string", key);
    if (json_string_length(v) >= out_size)
        return error_set(err, "job: '%s' is too long (at most %zu characters)", key,
                         out_size - 1);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return error_set(err, "job: '%s' contains a NUL character", key);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* A column list given as "a, b" or ["a", "b"], normalised into out ("" when
 * absent). */
static int job_json_columns(const json_t *json, const char *key, char out[JOB_UNIQUE_KEY_MAX],
                            char err[ERROR_MAX])
{
    out[0] = '\0';
    json_t *value = json_object_get(json, key);
    if (json_is_array(value)) {
        size_t i, len = 0;
        json_t *col;
        json_array_foreach(value, i, col) {
            if (!json_is_string(col))
                return error_set(err, "'%s' must be a string or an array of strings", key);
            size_t cl = json_string_length(col);
            if (len + cl + 2 > JOB_UNIQUE_KEY_MAX)
                return error_set(err, "'%s' is too long", key);
            if (len > 0)
                out[len++] = ',';
            memcpy(out + len, json_string_value(col), cl + 1);
            len += cl;
        }
    } else if (job_json_string(json, key, false, out, JOB_UNIQUE_KEY_MAX, err) < 0) {
        return error_set(err, "'%s' must be a string or an array of strings", key);
    }
    if (out[0] != '\0' && job_columns_normalize(key, out, out, err) < 0)
        return -1;
    return 0;
}

int job_from_json(const json_t *json, struct job_def *out, char err[ERROR_MAX])
{
    static const char *const keys[] = {"domain", "job_name", "query", "write_mode",
                                       "unique_key", "schedule_type", "cron_schedule",
                                       "incremental", "accumulate", "index", "model", NULL};
    memset(out, 0, sizeof *out);
    if (!json_is_object(json))
        return error_set(err, "job: expected a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)json, key, value) {
        bool known = false;
        for (int i = 0; keys[i] != NULL; i++)
            known = known || strcmp(key, keys[i]) == 0;
        if (!known)
            return error_set(err,
                             "job: unknown key '%.*s' (known: domain, job_name, query, write_mode, "
                             "unique_key, schedule_type, cron_schedule, incremental, "
                             "accumulate, index, model)",
                             JOB_SHOWN_MAX, key);
    }

    struct job_def job = {0};
    char mode[32], schedule[32];
    if (job_json_string(json, "domain", true, job.domain, sizeof job.domain, err) < 0 ||
        job_json_string(json, "job_name", true, job.name, sizeof job.name, err) < 0 ||
        job_json_string(json, "write_mode", false, mode, sizeof mode, err) < 0 ||
        job_json_string(json, "schedule_type", false, schedule, sizeof schedule, err) < 0 ||
        job_json_string(json, "cron_schedule", false, job.cron, sizeof job.cron, err) < 0)
        return -1;

    if (job_json_columns(json, "unique_key", job.unique_key, err) < 0 ||
        job_json_columns(json, "accumulate", job.accumulate, err) < 0 ||
        job_json_columns(json, "index", job.index, err) < 0)
        return error_prefix(err, "job %s.%s", job.domain, job.name);
    if (job_json_string(json, "model", false, job.model, sizeof job.model, err) < 0)
        return -1;
    if (job.model[0] != '\0' && names_check_object("model", job.model, err) < 0)
        return -1;

    job.write_mode = job.unique_key[0] != '\0' ? JOB_WRITE_APPEND : JOB_WRITE_OVERWRITE;
    if (mode[0] != '\0' && job_write_mode_from_name(mode, &job.write_mode) < 0)
        return error_set(err, "job: unknown write_mode '%s' (overwrite | append)", mode);
    job.schedule = job.cron[0] != '\0' ? JOB_SCHEDULE_CRON : JOB_SCHEDULE_DEPENDENCY;
    if (schedule[0] != '\0' && job_schedule_from_name(schedule, &job.schedule) < 0)
        return error_set(err, "job: unknown schedule_type '%s' (dependency | cron)", schedule);

    json_t *inc = json_object_get(json, "incremental");
    if (inc != NULL && !json_is_null(inc) && !json_is_boolean(inc))
        return error_set(err, "job: 'incremental' must be true or false");
    job.incremental = json_is_true(inc);

    json_t *q = json_object_get(json, "query");
    if (q == NULL || json_is_null(q))
        return error_set(err, "job: missing 'query'");
    if (!json_is_string(q))
        return error_set(err, "job: 'query' must be a string");
    job.sql = strdup(json_string_value(q));
    return job_done(&job, out, err);
}

json_t *job_to_json(const struct job_def *job)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:b, s:s?, s:s?, s:s?}", "domain",
                     job->domain,
                     "job_name", job->name, "query", job->sql ? job->sql : "", "write_mode",
                     job_write_mode_name(job->write_mode), "unique_key",
                     job->unique_key[0] ? job->unique_key : NULL, "schedule_type",
                     job_schedule_name(job->schedule), "cron_schedule",
                     job->cron[0] ? job->cron : NULL, "incremental", job->incremental,
                     "accumulate", job->accumulate[0] ? job->accumulate : NULL, "index",
                     job->index[0] ? job->index : NULL, "model",
                     job->model[0] ? job->model : NULL);
}

/* Cycle search over the job graph: edge a -> b when job a reads b's table. */
struct job_node {
    const struct job_def *job;
    size_t *reads; /* indexes of the jobs whose tables this job reads */
    size_t read_count;
    int state;     /* 0 unvisited, 1 on the path, 2 done */
};

static bool job_dfs(struct job_node *nodes, size_t i, size_t target, size_t *path, size_t depth,
                    size_t *path_len)
{
    path[depth] = i;
    nodes[i].state = 1;
    for (size_t k = 0; k < nodes[i].read_count; k++) {
        size_t j = nodes[i].reads[k];
        if (j == target) {
            path[depth + 1] = j;
            *path_len = depth + 2;
            return true;
        }
        if (nodes[j].state == 0 && job_dfs(nodes, j, target, path, depth + 1, path_len))
            return true;
    }
    nodes[i].state = 2;
    return false;
}

int job_check_cycle(const struct job_def *jobs, size_t count, const struct job_def *candidate,
                    char err[ERROR_MAX])
{
    int rc = -1;
    size_t n = 0;
    struct job_node *nodes = calloc(count + 1, sizeof *nodes);
    size_t *path = calloc(count + 2, sizeof *path);
    if (nodes == NULL || path == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    nodes[n++].job = candidate; /* index 0 */
    for (size_t i = 0; i < count; i++) {
        if (strcmp(jobs[i].domain, candidate->domain) == 0 &&
            strcmp(jobs[i].name, candidate->name) == 0)
            continue; /* replaced by the candidate */
        nodes[n++].job = &jobs[i];
    }
    for (size_t i = 0; i < n; i++) {
        struct sqlref *refs = NULL;
        size_t rc_count = 0;
        char ignored[ERROR_MAX];
        if (nodes[i].job->sql == NULL ||
            sqlref_rewrite(nodes[i].job->sql, NULL, &refs, &rc_count, ignored) < 0)
            continue; /* unparsable stored job: it reads nothing we can follow */
        nodes[i].reads = calloc(rc_count + 1, sizeof *nodes[i].reads);
        if (nodes[i].reads == NULL) {
            free(refs);
            error_set(err, "out of memory");
            goto done;
        }
        for (size_t r = 0; r < rc_count; r++) {
            if (refs[r].layer != SQLREF_GOLD)
                continue;
            for (size_t j = 0; j < n; j++) {
                if (strcmp(nodes[j].job->domain, refs[r].domain) == 0 &&
                    strcmp(nodes[j].job->name, refs[r].table) == 0)
                    nodes[i].reads[nodes[i].read_count++] = j;
            }
        }
        free(refs);
    }
    size_t path_len = 0;
    if (job_dfs(nodes, 0, 0, path, 0, &path_len)) {
        char msg[ERROR_MAX] = "cycle: ";
        size_t len = strlen(msg);
        for (size_t i = 0; i < path_len && len < sizeof msg; i++) {
            const struct job_def *j = nodes[path[i]].job;
            int w = snprintf(msg + len, sizeof msg - len, "%s%s.%s", i ? " -> " : "", j->domain,
                             j->name);
            if (w < 0)
                break;
            len += (size_t)w;
        }
        error_set(err, "%s", msg);
        goto done;
    }
    rc = 0;
done:
    if (nodes != NULL) {
        for (size_t i = 0; i < n; i++)
            free(nodes[i].reads);
    }
    free(nodes);
    free(path);
    return rc;
}

int job_copy(struct job_def *dst, const struct job_def *src)
{
    *dst = *src;
    dst->sql = NULL;
    if (src->sql != NULL && (dst->sql = strdup(src->sql)) == NULL) {
        memset(dst, 0, sizeof *dst);
        return -1;
    }
    return 0;
}

void job_clear(struct job_def *job)
{
    if (job == NULL)
        return;
    free(job->sql);
    memset(job, 0, sizeof *job);
}

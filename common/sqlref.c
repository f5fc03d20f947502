/* sqlref.c - finding and rewriting `domain.layer.table` references in user
 * SQL (see sqlref.h).
 *
 * The scanner is a small SQL lexer, not a parser: it only needs to know where
 * string literals, quoted identifiers, comments and numbers start and end so
 * that text inside them is never mistaken for a reference. A reference is
 * three identifier parts joined by '.' with nothing in between (no blanks),
 * not itself preceded by a '.', whose middle part is a layer name. Anything
 * after the third part (e.g. ".column") is copied unchanged, so
 * demo.silver.flights.origin becomes "silver_demo"."flights".origin. */
#include "sqlref.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"

#define SQLREF_SHOWN_MAX 120 /* bytes of a bad reference quoted in a message */

static const char *const sqlref_layer_names[] = {"bronze", "silver", "gold"};

const char *sqlref_layer_name(enum sqlref_layer layer)
{
    if ((int)layer < 0 || layer > SQLREF_GOLD)
        return "?";
    return sqlref_layer_names[layer];
}

void sqlref_schema_name(enum sqlref_layer layer, const char *domain, char out[SQLREF_SCHEMA_MAX])
{
    snprintf(out, SQLREF_SCHEMA_MAX, "%s_%s", sqlref_layer_name(layer), domain);
}

static bool sqlref_is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool sqlref_is_ident_char(unsigned char c)
{
    return sqlref_is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool sqlref_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* End of a quoted token starting at s[0] (the opening quote) whose closing
 * character is `close`; a doubled closing character is an escaped one when
 * `doubling` is set. An unterminated token runs to the end of the text. */
static size_t sqlref_skip_quoted(const char *s, char close, bool doubling)
{
    size_t i = 1;
    while (s[i] != '\0') {
        if (s[i] == close) {
            if (doubling && s[i + 1] == close) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return i;
}

/* One identifier part of a possible reference: bare or double-quoted. */
struct sqlref_part {
    const char *text; /* content (without quotes) */
    size_t len;
    size_t end;       /* offset just after the token */
};

/* Parse an identifier part at s. Returns false if s does not start one. */
static bool sqlref_parse_part(const char *s, struct sqlref_part *part)
{
    if (s[0] == '"') {
        size_t end = sqlref_skip_quoted(s, '"', true);
        if (end < 2 || s[end - 1] != '"')
            return false; /* unterminated */
        part->text = s + 1;
        part->len = end - 2;
        part->end = end;
        return true;
    }
    if (!sqlref_is_ident_start((unsigned char)s[0]))
        return false;
    size_t i = 1;
    while (sqlref_is_ident_char((unsigned char)s[i]))
        i++;
    part->text = s;
    part->len = i;
    part->end = i;
    return true;
}

static int sqlref_layer_of(const struct sqlref_part *part, enum sqlref_layer *out)
{
    for (int l = SQLREF_BRONZE; l <= SQLREF_GOLD; l++) {
        const char *name = sqlref_layer_names[l];
        if (part->len == strlen(name) && strncasecmp(part->text, name, part->len) == 0) {
            *out = (enum sqlref_layer)l;
            return 0;
        }
    }
    return -1;
}

/* Copy a part into a name buffer and check it against the object-name rule. */
static int sqlref_part_name(const struct sqlref_part *part, const char *kind, char out[NAMES_MAX],
                            char err[ERROR_MAX])
{
    if (part->len >= NAMES_MAX)
        return error_set(err, "invalid %s name '%.*s...': longer than %d characters", kind, 40,
                         part->text, NAMES_MAX - 1);
    char tmp[NAMES_MAX];
    memcpy(tmp, part->text, part->len);
    tmp[part->len] = '\0';
    if (names_check_object(kind, tmp, err) < 0)
        return -1;
    memcpy(out, tmp, part->len + 1);
    return 0;
}

static int sqlref_add(struct sqlref **refs, size_t *count, size_t *cap, const struct sqlref *ref)
{
    for (size_t i = 0; i < *count; i++) {
        if ((*refs)[i].layer == ref->layer && strcmp((*refs)[i].domain, ref->domain) == 0 &&
            strcmp((*refs)[i].table, ref->table) == 0)
            return 0;
    }
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct sqlref *p = realloc(*refs, ncap * sizeof *p);
        if (p == NULL)
            return -1;
        *refs = p;
        *cap = ncap;
    }
    (*refs)[(*count)++] = *ref;
    return 0;
}

/* Length of a numeric literal at s (digits, '.', exponent, hex digits). */
static size_t sqlref_skip_number(const char *s)
{
    size_t i = 0;
    for (;;) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '.' || c == '_') {
            i++;
        } else if ((c == '+' || c == '-') && i > 0 && (s[i - 1] == 'e' || s[i - 1] == 'E') &&
                   !(s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
            i++;
        } else {
            return i;
        }
    }
}

/* Parse a history suffix at s (s[0] == '@'). Returns its length, or 0 with
 * err when it is none of the forms of sqlref.h. */
static size_t sqlref_parse_at(const char *s, struct sqlref_at *at, char err[ERROR_MAX])
{
    memset(at, 0, sizeof *at);
    size_t i = 1;
    if (s[i] >= '0' && s[i] <= '9') {
        while (s[i] >= '0' && s[i] <= '9' && i < 19)
            at->snapshot = at->snapshot * 10 + (s[i++] - '0');
        if (!sqlref_is_ident_char((unsigned char)s[i])) {
            at->kind = SQLREF_AT_SNAPSHOT;
            return i;
        }
    } else if (s[i] == '\'') {
        const char *end = strchr(s + 2, '\'');
        if (end != NULL && (size_t)(end - s - 2) < sizeof at->time) {
            memcpy(at->time, s + 2, (size_t)(end - s - 2));
            at->time[end - s - 2] = '\0';
            at->kind = SQLREF_AT_TIME;
            return (size_t)(end - s) + 1;
        }
    } else if (strncasecmp(s + 1, "scd2", 4) == 0 && !sqlref_is_ident_char((unsigned char)s[5])) {
        at->kind = SQLREF_AT_SCD2;
        return 5;
    } else if (strncasecmp(s + 1, "expectations", 12) == 0 &&
               !sqlref_is_ident_char((unsigned char)s[13])) {
        at->kind = SQLREF_AT_EXPECTATIONS;
        return 13;
    } else if (strncasecmp(s + 1, "changes", 7) == 0) {
        i = 8;
        size_t j = i;
        while (sqlref_is_space(s[j]))
            j++;
        if (!sqlref_is_ident_char((unsigned char)s[i]) && s[j] != '(') {
            /* bare @changes: since the job's last run (incremental jobs, job.h) */
            at->kind = SQLREF_AT_CHANGES;
            at->snapshot = -1;
            return i;
        }
        while (sqlref_is_space(s[i]))
            i++;
        int64_t v[2] = {-1, 0};
        int n = 0;
        if (s[i] == '(') {
            for (i++; n < 2; n++) {
                while (sqlref_is_space(s[i]))
                    i++;
                if (s[i] < '0' || s[i] > '9')
                    break;
                v[n] = 0;
                for (int d = 0; s[i] >= '0' && s[i] <= '9' && d < 18; d++)
                    v[n] = v[n] * 10 + (s[i++] - '0');
                while (sqlref_is_space(s[i]))
                    i++;
                if (s[i] != ',')
                    break;
                i++;
            }
            if (v[0] >= 0 && s[i] == ')' && (n == 0 || n == 1)) {
                at->kind = SQLREF_AT_CHANGES;
                at->snapshot = v[0];
                at->to = n == 1 ? v[1] : 0;
                return i + 1;
            }
        }
    }
    error_set(err, "invalid history suffix '%.40s': expected @<snapshot id>, @'<timestamp>', "
                   "@changes(<from>[,<to>]), @scd2 or @expectations",
              s);
    return 0;
}

/* Length of the token at s when it is not an identifier (a literal, a
 * comment, a bound parameter, a blank or one other character); 0 when s
 * starts an identifier. *significant is false for blanks and comments. */
static size_t sqlref_other_len(const char *s, bool *significant)
{
    char c = s[0];
    size_t len = 1;
    *significant = true;
    if (c == '\'')
        return sqlref_skip_quoted(s, '\'', true);
    if (c == '-' && s[1] == '-') {
        len = 2;
        while (s[len] != '\0' && s[len] != '\n')
            len++;
        *significant = false;
        return len;
    }
    if (c == '/' && s[1] == '*') {
        const char *e = strstr(s + 2, "*/");
        *significant = false;
        return e ? (size_t)(e - s) + 2 : strlen(s);
    }
    if (c == '`')
        return sqlref_skip_quoted(s, '`', true);
    if (c == '[')
        return sqlref_skip_quoted(s, ']', false);
    if ((c >= '0' && c <= '9') || (c == '.' && s[1] >= '0' && s[1] <= '9'))
        return sqlref_skip_number(s);
    if (c == '?' || c == ':' || c == '@' || c == '$') {
        /* bound parameter: ?NNN :name @name $name */
        while (sqlref_is_ident_char((unsigned char)s[len]))
            len++;
        return len;
    }
    if (sqlref_is_space(c)) {
        *significant = false;
        return 1;
    }
    return c == '"' || sqlref_is_ident_start((unsigned char)c) ? 0 : 1;
}

/* One rewrite in progress. */
struct sqlref_rewrite {
    enum sqlref_layer main_layer;
    const char *main_domain;
    sqlref_at_fn at_fn;
    void *at_arg;
    struct strbuf out;
    struct sqlref *list;
    size_t n, cap;
};

/* The reference domain.layer.table of total bytes at s (and its @suffix,
 * when at_fn is set) into r->out as the table of its attached schema.
 * Returns the bytes consumed, 0 on error (err). */
static size_t sqlref_emit_ref(struct sqlref_rewrite *r, const char *s, size_t total,
                              enum sqlref_layer layer, const struct sqlref_part *p1,
                              const struct sqlref_part *p3, char err[ERROR_MAX])
{
    struct sqlref ref = {.layer = layer};
    if (sqlref_part_name(p1, "domain", ref.domain, err) < 0 ||
        sqlref_part_name(p3, "table", ref.table, err) < 0) {
        int shown = total > SQLREF_SHOWN_MAX ? SQLREF_SHOWN_MAX : (int)total;
        error_prefix(err, "invalid table reference '%.*s%s'", shown, s,
                     total > SQLREF_SHOWN_MAX ? "..." : "");
        return 0;
    }
    if (sqlref_add(&r->list, &r->n, &r->cap, &ref) < 0) {
        error_set(err, "out of memory rewriting SQL");
        return 0;
    }
    if (r->at_fn != NULL && s[total] == '@') {
        struct sqlref_at at;
        size_t at_len = sqlref_parse_at(s + total, &at, err);
        char *text = NULL;
        if (at_len == 0 || r->at_fn(r->at_arg, &ref, &at, &text, err) != 0)
            return 0;
        strbuf_addf(&r->out, "%s", text);
        free(text);
        return total + at_len;
    }
    if (r->main_domain != NULL && layer == r->main_layer &&
        strcmp(ref.domain, r->main_domain) == 0) {
        strbuf_addf(&r->out, "\"main\".\"%s\"", ref.table);
    } else {
        char schema[SQLREF_SCHEMA_MAX];
        sqlref_schema_name(layer, ref.domain, schema);
        strbuf_addf(&r->out, "\"%s\".\"%s\"", schema, ref.table);
    }
    return total;
}

static int sqlref_rewrite_core(const char *sql, enum sqlref_layer main_layer,
                               const char *main_domain, sqlref_at_fn at_fn, void *at_arg,
                               char **out_sql, struct sqlref **refs, size_t *count,
                               char err[ERROR_MAX])
{
    struct sqlref_rewrite r = {.main_layer = main_layer, .main_domain = main_domain,
                               .at_fn = at_fn, .at_arg = at_arg};
    bool prev_dot = false; /* last significant character copied was '.' */
    size_t i = 0;

    if (sql == NULL) {
        error_set(err, "no SQL");
        goto fail;
    }
    strbuf_addf(&r.out, "%s", "");

    while (sql[i] != '\0') {
        const char *s = sql + i;
        bool significant;
        size_t len = sqlref_other_len(s, &significant);
        if (len == 0) {
            struct sqlref_part p1, p2, p3;
            enum sqlref_layer layer;
            if (!sqlref_parse_part(s, &p1)) {
                len = s[0] == '"' ? strlen(s) : 1; /* unterminated quoted identifier */
            } else if (!prev_dot && s[p1.end] == '.' && sqlref_parse_part(s + p1.end + 1, &p2) &&
                       s[p1.end + 1 + p2.end] == '.' &&
                       sqlref_parse_part(s + p1.end + 1 + p2.end + 1, &p3) &&
                       sqlref_layer_of(&p2, &layer) == 0) {
                size_t total = p1.end + 1 + p2.end + 1 + p3.end;
                size_t used = sqlref_emit_ref(&r, s, total, layer, &p1, &p3, err);
                if (used == 0)
                    goto fail;
                i += used;
                prev_dot = false;
                continue;
            } else {
                len = p1.end;
            }
        }
        strbuf_addf(&r.out, "%.*s", (int)len, s);
        if (significant)
            prev_dot = (s[0] == '.' && len == 1);
        i += len;
    }
    if (r.out.failed) {
        error_set(err, "out of memory rewriting SQL");
        goto fail;
    }

    if (out_sql != NULL)
        *out_sql = r.out.s;
    else
        free(r.out.s);
    if (refs != NULL)
        *refs = r.list;
    else
        free(r.list);
    if (count != NULL)
        *count = r.n;
    return 0;

fail:
    strbuf_free(&r.out);
    free(r.list);
    if (out_sql != NULL)
        *out_sql = NULL;
    if (refs != NULL)
        *refs = NULL;
    if (count != NULL)
        *count = 0;
    return -1;
}

int sqlref_rewrite_main(const char *sql, enum sqlref_layer main_layer, const char *main_domain,
                        char **out_sql, struct sqlref **refs, size_t *count, char err[ERROR_MAX])
{
    return sqlref_rewrite_core(sql, main_layer, main_domain, NULL, NULL, out_sql, refs, count,
                               err);
}

int sqlref_rewrite_at(const char *sql, sqlref_at_fn fn, void *arg, char **out_sql,
                      struct sqlref **refs, size_t *count, char err[ERROR_MAX])
{
    return sqlref_rewrite_core(sql, SQLREF_GOLD, NULL, fn, arg, out_sql, refs, count, err);
}

int sqlref_rewrite_main_at(const char *sql, enum sqlref_layer main_layer, const char *main_domain,
                           sqlref_at_fn fn, void *arg, char **out_sql, struct sqlref **refs,
                           size_t *count, char err[ERROR_MAX])
{
    return sqlref_rewrite_core(sql, main_layer, main_domain, fn, arg, out_sql, refs, count, err);
}

int sqlref_rewrite(const char *sql, char **out_sql, struct sqlref **refs, size_t *count,
                   char err[ERROR_MAX])
{
    return sqlref_rewrite_main(sql, SQLREF_GOLD, NULL, out_sql, refs, count, err);
}

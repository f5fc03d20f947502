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

/* Growable output text. */
struct sqlref_buf {
    char *data;
    size_t len;
    size_t cap;
};

static int sqlref_buf_append(struct sqlref_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int sqlref_buf_puts(struct sqlref_buf *b, const char *s)
{
    return sqlref_buf_append(b, s, strlen(s));
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

static int sqlref_rewrite_core(const char *sql, enum sqlref_layer main_layer,
                               const char *main_domain, sqlref_at_fn at_fn, void *at_arg,
                               char **out_sql, struct sqlref **refs, size_t *count,
                               char err[ERROR_MAX])
{
    struct sqlref_buf out = {0};
    struct sqlref *list = NULL;
    size_t n = 0, cap = 0;
    bool prev_dot = false; /* last significant character copied was '.' */
    size_t i = 0;

    if (sql == NULL) {
        error_set(err, "no SQL");
        goto fail;
    }
    if (sqlref_buf_append(&out, "", 0) < 0)
        goto oom;

    while (sql[i] != '\0') {
        const char *s = sql + i;
        char c = s[0];
        size_t len = 1;
        bool significant = true;

        if (c == '\'') {
            len = sqlref_skip_quoted(s, '\'', true);
        } else if (c == '-' && s[1] == '-') {
            len = 2;
            while (s[len] != '\0' && s[len] != '\n')
                len++;
            significant = false;
        } else if (c == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            len = e ? (size_t)(e - s) + 2 : strlen(s);
            significant = false;
        } else if (c == '`') {
            len = sqlref_skip_quoted(s, '`', true);
        } else if (c == '[') {
            len = sqlref_skip_quoted(s, ']', false);
        } else if ((c >= '0' && c <= '9') || (c == '.' && s[1] >= '0' && s[1] <= '9')) {
            len = sqlref_skip_number(s);
        } else if (c == '?' || c == ':' || c == '@' || c == '$') {
            /* bound parameter: ?NNN :name @name $name */
            len = 1;
            while (sqlref_is_ident_char((unsigned char)s[len]))
                len++;
        } else if (sqlref_is_space(c)) {
            significant = false;
        } else if (c == '"' || sqlref_is_ident_start((unsigned char)c)) {
            struct sqlref_part p1, p2, p3;
            enum sqlref_layer layer;
            if (!sqlref_parse_part(s, &p1)) {
                len = c == '"' ? strlen(s) : 1; /* unterminated quoted identifier */
            } else if (!prev_dot && s[p1.end] == '.' && sqlref_parse_part(s + p1.end + 1, &p2) &&
                       s[p1.end + 1 + p2.end] == '.' &&
                       sqlref_parse_part(s + p1.end + 1 + p2.end + 1, &p3) &&
                       sqlref_layer_of(&p2, &layer) == 0) {
                size_t total = p1.end + 1 + p2.end + 1 + p3.end;
                struct sqlref ref = {.layer = layer};
                if (sqlref_part_name(&p1, "domain", ref.domain, err) < 0 ||
                    sqlref_part_name(&p3, "table", ref.table, err) < 0) {
                    int shown = total > SQLREF_SHOWN_MAX ? SQLREF_SHOWN_MAX : (int)total;
                    error_prefix(err, "invalid table reference '%.*s%s'", shown, s,
                                 total > SQLREF_SHOWN_MAX ? "..." : "");
                    goto fail;
                }
                if (sqlref_add(&list, &n, &cap, &ref) < 0)
                    goto oom;
                if (at_fn != NULL && s[total] == '@') {
                    struct sqlref_at at;
                    size_t at_len = sqlref_parse_at(s + total, &at, err);
                    char *text = NULL;
                    if (at_len == 0 || at_fn(at_arg, &ref, &at, &text, err) != 0)
                        goto fail;
                    int rc = sqlref_buf_puts(&out, text);
                    free(text);
                    if (rc < 0)
                        goto oom;
                    i += total + at_len;
                    prev_dot = false;
                    continue;
                }
                char text[SQLREF_SCHEMA_MAX + NAMES_MAX + 8];
                if (main_domain != NULL && layer == main_layer &&
                    strcmp(ref.domain, main_domain) == 0) {
                    snprintf(text, sizeof text, "\"main\".\"%s\"", ref.table);
                } else {
                    char schema[SQLREF_SCHEMA_MAX];
                    sqlref_schema_name(layer, ref.domain, schema);
                    snprintf(text, sizeof text, "\"%s\".\"%s\"", schema, ref.table);
                }
                if (sqlref_buf_puts(&out, text) < 0)
                    goto oom;
                i += total;
                prev_dot = false;
                continue;
            } else {
                len = p1.end;
            }
        }
        if (sqlref_buf_append(&out, s, len) < 0)
            goto oom;
        if (significant)
            prev_dot = (c == '.' && len == 1);
        i += len;
    }

    if (out_sql != NULL)
        *out_sql = out.data;
    else
        free(out.data);
    if (refs != NULL)
        *refs = list;
    else
        free(list);
    if (count != NULL)
        *count = n;
    return 0;

oom:
    error_set(err, "out of memory rewriting SQL");
fail:
    free(out.data);
    free(list);
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

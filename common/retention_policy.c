/* retention_policy.c - retention horizons and per-table overrides, and the rule by
 * which readers of bronze skip compaction inputs (see retention_policy.h). */
#include "retention_policy.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bronze.h"
#include "names.h"
#include "timeutil.h"

#define RETENTION_DAY_MS (86400LL * 1000LL)
#define RETENTION_DAYS_MAX 1000000

static const char *const retention_layer_names[] = {"bronze", "silver", "gold"};

static bool retention_sep(char c)
{
    return c == ' ' || c == ',' || c == ';' || c == '\t' || c == '\n';
}

/* One entry "layer:domain/table=days" of length len at s. */
static int retention_parse_entry(const char *s, size_t len, int *layer, char domain[NAMES_MAX],
                                 char table[NAMES_MAX], int64_t *days, char err[ERROR_MAX])
{
    char entry[256];
    if (len >= sizeof entry)
        return error_set(err, "retention_tables: entry too long: '%.60s...'", s);
    memcpy(entry, s, len);
    entry[len] = '\0';
    char *colon = strchr(entry, ':'), *slash = colon ? strchr(colon, '/') : NULL;
    char *eq = slash ? strchr(slash, '=') : NULL;
    if (colon == NULL || slash == NULL || eq == NULL)
        return error_set(err,
                         "retention_tables: '%s' is not layer:domain/table=days "
                         "(e.g. bronze:demo/flights=30)", entry);
    *colon = *slash = *eq = '\0';
    *layer = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(entry, retention_layer_names[i]) == 0)
            *layer = i;
    if (*layer < 0)
        return error_set(err, "retention_tables: unknown layer '%s' (bronze, silver or gold)",
                         entry);
    if (!names_is_valid_object(colon + 1))
        return error_set(err, "retention_tables: invalid domain '%s'", colon + 1);
    if (strcmp(slash + 1, "*") != 0 && !names_is_valid_object(slash + 1))
        return error_set(err, "retention_tables: invalid table '%s' (a name or *)", slash + 1);
    char *end = NULL;
    long long v = strtoll(eq + 1, &end, 10);
    if (eq[1] == '\0' || *end != '\0' || !isdigit((unsigned char)eq[1]) || v < 1 ||
        v > RETENTION_DAYS_MAX)
        return error_set(err, "retention_tables: days for %s:%s/%s must be a positive integer, "
                              "got '%s'", entry, colon + 1, slash + 1, eq + 1);
    snprintf(domain, NAMES_MAX, "%s", colon + 1);
    snprintf(table, NAMES_MAX, "%s", slash + 1);
    *days = v;
    return 0;
}

/* Walk the entries; with want_* set, find the best match. */
static int retention_walk(const char *spec, int want_layer, const char *want_domain,
                          const char *want_table, int64_t *found, char err[ERROR_MAX])
{
    int best = 0; /* 0 none, 1 the domain's "*" entry, 2 the exact table */
    const char *p = spec;
    while (*p) {
        while (*p && retention_sep(*p))
            p++;
        size_t len = 0;
        while (p[len] && !retention_sep(p[len]))
            len++;
        if (len == 0)
            break;
        int layer = -1; /* set by retention_parse_entry on success */
        char domain[NAMES_MAX] = "", table[NAMES_MAX] = "";
        int64_t days = 0;
        if (retention_parse_entry(p, len, &layer, domain, table, &days, err) < 0)
            return -1;
        if (want_domain != NULL && layer == want_layer && strcmp(domain, want_domain) == 0) {
            int rank = strcmp(table, "*") == 0 ? 1 : strcmp(table, want_table) == 0 ? 2 : 0;
            if (rank >= best && rank > 0) {
                best = rank;
                *found = days;
            }
        }
        p += len;
    }
    return best;
}

int retention_check_overrides(const char *spec, char err[ERROR_MAX])
{
    int64_t unused = 0;
    return retention_walk(spec, -1, NULL, NULL, &unused, err) < 0 ? -1 : 0;
}

int64_t retention_days(const struct config *cfg, enum retention_layer layer, const char *domain,
                       const char *table, char err[ERROR_MAX])
{
    int64_t days = layer == RETENTION_BRONZE   ? cfg->retention_bronze_days
                   : layer == RETENTION_SILVER ? cfg->retention_silver_days
                                               : cfg->retention_gold_days;
    int64_t found = 0;
    int rc = retention_walk(cfg->retention_tables, (int)layer, domain, table, &found, err);
    if (rc < 0)
        return -1;
    return rc > 0 ? found : days;
}

void retention_horizon_date(int64_t now_ms, int64_t days, char out[11])
{
    char buf[16];
    timeutil_format_date(now_ms - days * RETENTION_DAY_MS, buf);
    snprintf(out, 11, "%s", buf);
}

void retention_horizon_time(int64_t now_ms, int64_t days, char *out, size_t out_size)
{
    char buf[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(now_ms - days * RETENTION_DAY_MS, buf);
    snprintf(out, out_size, "%s", buf);
}

size_t retention_drop_covered(char **names, size_t count)
{
    /* Sorted by name = sorted by first_seq. A covering file (first <= f,
     * last >= l, not the same range) starts at or before the covered one;
     * keep the largest last_seq seen so far and who had it. Compacted files
     * never overlap each other partially, so one pass suffices. */
    size_t out = 0;
    uint64_t max_last = 0, max_first = 0;
    bool have = false;
    for (size_t i = 0; i < count; i++) {
        uint64_t first, last;
        if (bronze_parse_name(names[i], &first, &last) < 0) {
            names[out++] = names[i];
            continue;
        }
        /* names sharing a first_seq: the longer range sorts later, so look ahead */
        bool covered = have && last <= max_last && !(first == max_first && last == max_last);
        for (size_t j = i + 1; !covered && j < count; j++) {
            uint64_t f2, l2;
            if (bronze_parse_name(names[j], &f2, &l2) < 0)
                continue;
            if (f2 != first)
                break;
            covered = l2 > last;
        }
        if (covered) {
            free(names[i]);
            continue;
        }
        if (!have || last > max_last) {
            max_last = last;
            max_first = first;
            have = true;
        }
        names[out++] = names[i];
    }
    return out;
}

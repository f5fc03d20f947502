/* names.h - the identifier rules, checked once at the edge (ARCHITECTURE rule 7).
 *
 * Object names (domain, endpoint, table, job):  ^[a-z][a-z0-9_]{0,62}$
 *   and not starting with "sqlite_" (reserved by SQLite).
 * Column names:                                  ^[A-Za-z][A-Za-z0-9_]{0,62}$
 *   Names starting with '_' are reserved for metadata columns added by the
 *   pipeline (_insert_date, _domain, _endpoint, _seq, _schema_version,
 *   _batch_id, _rescued) and for internal tables (_snapshots, _ledger).
 * A name that passed these checks is safe inside a path component and inside
 * a double-quoted SQL identifier; SQL values are always bound, never spliced. */
#ifndef LAKEHOUSE_NAMES_H
#define LAKEHOUSE_NAMES_H

#include <stdbool.h>
#include "error.h"

#define NAMES_MAX 64 /* buffer size: 63 characters + NUL */

bool names_is_valid_object(const char *name);
bool names_is_valid_column(const char *name);

/* Return 0 if valid, else -1 with err such as
 * "invalid domain name '../x': must match ^[a-z][a-z0-9_]{0,62}$".
 * kind is the word used in the message ("domain", "endpoint", "job", ...). */
int names_check_object(const char *kind, const char *name, char err[ERROR_MAX]);
int names_check_column(const char *name, char err[ERROR_MAX]);

/* Turn any field name into a valid column name (for AUTO_INFERENCE of messy
 * input such as "Cost: Total $"): lower-cases, maps runs of other characters
 * to '_', trims '_', prefixes "c_" when it would not start with a letter,
 * truncates to 63 (then trims a trailing '_' again). A name without any
 * letter or digit becomes "c". Deterministic, and a fixed point on its own
 * output. out has NAMES_MAX bytes. */
void names_sanitize_column(const char *in, char out[NAMES_MAX]);

#endif

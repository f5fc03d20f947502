/* names.c - the identifier rules of names.h. Plain ASCII checks on purpose:
 * no locale, no regex library, so the rule means the same in every process. */
#include "names.h"

#include <string.h>

#define NAMES_OBJECT_RULE "^[a-z][a-z0-9_]{0,62}$"
#define NAMES_COLUMN_RULE "^[A-Za-z][A-Za-z0-9_]{0,62}$"
#define NAMES_SHOWN_MAX 80 /* bytes of a bad name quoted in a message */

static bool names_is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool names_is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool names_is_digit(char c) { return c >= '0' && c <= '9'; }

bool names_is_valid_object(const char *name)
{
    if (name == NULL || !names_is_lower(name[0]))
        return false;
    size_t i = 1;
    for (; name[i] != '\0'; i++) {
        if (i >= NAMES_MAX - 1)
            return false;
        char c = name[i];
        if (!names_is_lower(c) && !names_is_digit(c) && c != '_')
            return false;
    }
    return strncmp(name, "sqlite_", 7) != 0;
}

bool names_is_valid_column(const char *name)
{
    if (name == NULL || !(names_is_lower(name[0]) || names_is_upper(name[0])))
        return false;
    for (size_t i = 1; name[i] != '\0'; i++) {
        if (i >= NAMES_MAX - 1)
            return false;
        char c = name[i];
        if (!names_is_lower(c) && !names_is_upper(c) && !names_is_digit(c) && c != '_')
            return false;
    }
    return true;
}

/* The name as shown in a message: bounded, so that a hostile name cannot
 * crowd out the rest of the message. */
static int names_shown_len(const char *name)
{
    size_t n = strnlen(name, NAMES_SHOWN_MAX + 1);
    return (int)(n > NAMES_SHOWN_MAX ? NAMES_SHOWN_MAX : n);
}

static const char *names_ellipsis(const char *name)
{
    return strnlen(name, NAMES_SHOWN_MAX + 1) > NAMES_SHOWN_MAX ? "..." : "";
}

int names_check_object(const char *kind, const char *name, char err[ERROR_MAX])
{
    if (name == NULL)
        return error_set(err, "missing %s name", kind);
    if (names_is_valid_object(name))
        return 0;
    if (name[0] == '\0')
        return error_set(err, "invalid %s name '': must match " NAMES_OBJECT_RULE, kind);
    if (strncmp(name, "sqlite_", 7) == 0)
        return error_set(err, "invalid %s name '%.*s%s': names starting with 'sqlite_' are reserved",
                         kind, names_shown_len(name), name, names_ellipsis(name));
    return error_set(err, "invalid %s name '%.*s%s': must match " NAMES_OBJECT_RULE, kind,
                     names_shown_len(name), name, names_ellipsis(name));
}

int names_check_column(const char *name, char err[ERROR_MAX])
{
    if (name == NULL)
        return error_set(err, "missing column name");
    if (names_is_valid_column(name))
        return 0;
    if (name[0] == '_')
        return error_set(err,
                         "invalid column name '%.*s%s': names starting with '_' are reserved for "
                         "metadata; must match " NAMES_COLUMN_RULE,
                         names_shown_len(name), name, names_ellipsis(name));
    return error_set(err, "invalid column name '%.*s%s': must match " NAMES_COLUMN_RULE,
                     names_shown_len(name), name, names_ellipsis(name));
}

void names_sanitize_column(const char *in, char out[NAMES_MAX])
{
    char tmp[NAMES_MAX + 2];
    size_t n = 0;
    bool pending_sep = false;
    /* Build "c_" + the mapped name, then drop the prefix if the mapped name
     * already starts with a letter; reserving the 2 bytes up front keeps
     * the truncation rule the same in both cases. */
    for (const char *p = in ? in : ""; *p != '\0' && n < NAMES_MAX - 1; p++) {
        char c = *p;
        if (names_is_upper(c))
            c = (char)(c - 'A' + 'a');
        if (names_is_lower(c) || names_is_digit(c)) {
            if (pending_sep && n > 0)
                tmp[n++] = '_';
            pending_sep = false;
            if (n < NAMES_MAX - 1)
                tmp[n++] = c;
        } else {
            pending_sep = true; /* runs of anything else, '_' included, become one '_' */
        }
    }
    tmp[n] = '\0';

    size_t len = 0;
    if (!names_is_lower(tmp[0])) {
        memcpy(out, "c_", 2);
        len = 2;
    }
    for (size_t i = 0; i < n && len < NAMES_MAX - 1; i++)
        out[len++] = tmp[i];
    while (len > 1 && out[len - 1] == '_') /* truncation, or an empty name after "c_" */
        len--;
    out[len] = '\0';
}

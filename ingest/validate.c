/* validate.c - per-record validation and normalisation against an endpoint
 * schema (validate.h).
 *
 * Validation runs once per ingested record, so the hot path avoids needless
 * work: the rules run on flat fields (schema_normalize_fields; a jansson
 * object is turned into its members first, ingest's fast readers build them
 * without a tree), a field's column is found by trying the column at the
 * field's own position first, values that are already in normal form are
 * shared instead of copied, and the slow path (fields the schema does not
 * know) only runs when the record has more fields than matched. */
#include "validate.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "names.h"
#include "timeutil.h"

#define SCHEMA_SHOWN_MAX 40     /* characters of a bad value quoted in a message */
#define SCHEMA_SLOTS_STACK 64   /* columns handled without a heap allocation */
#define SCHEMA_DECIMAL_STACK 128
#define SCHEMA_REAL_DIGITS_MAX 15 /* significant digits a double always keeps exactly */

/* ------------------------------------------------------ value checks */


/* ------------------------------------------------------------ values */

void schema_value_from_json(json_t *json, struct schema_value *out)
{
    out->json = json;
    out->heap = NULL;
    switch (json_typeof(json)) {
    case JSON_OBJECT: out->kind = SCHEMA_VALUE_OBJECT; break;
    case JSON_ARRAY: out->kind = SCHEMA_VALUE_ARRAY; break;
    case JSON_STRING:
        out->kind = SCHEMA_VALUE_STRING;
        out->s = json_string_value(json);
        out->len = json_string_length(json);
        break;
    case JSON_INTEGER:
        out->kind = SCHEMA_VALUE_INTEGER;
        out->i = json_integer_value(json);
        break;
    case JSON_REAL:
        out->kind = SCHEMA_VALUE_REAL;
        out->d = json_real_value(json);
        break;
    case JSON_TRUE: out->kind = SCHEMA_VALUE_TRUE; break;
    case JSON_FALSE: out->kind = SCHEMA_VALUE_FALSE; break;
    default: out->kind = SCHEMA_VALUE_NULL; break;
    }
}

json_t *schema_value_to_json(const struct schema_value *v)
{
    if (v->json != NULL)
        return json_incref(v->json);
    switch (v->kind) {
    case SCHEMA_VALUE_NULL: return json_null();
    case SCHEMA_VALUE_FALSE: return json_false();
    case SCHEMA_VALUE_TRUE: return json_true();
    case SCHEMA_VALUE_INTEGER: return json_integer(v->i);
    case SCHEMA_VALUE_REAL: return json_real(v->d);
    case SCHEMA_VALUE_STRING: return json_stringn(v->s, v->len);
    default: return NULL; /* ABSENT; OBJECT and ARRAY always carry json */
    }
}

void schema_values_clear(struct schema_value *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(values[i].heap);
        values[i].heap = NULL;
        values[i].kind = SCHEMA_VALUE_ABSENT;
    }
}

static const char *schema_value_kind_name(const struct schema_value *v)
{
    switch (v->kind) {
    case SCHEMA_VALUE_OBJECT: return "object";
    case SCHEMA_VALUE_ARRAY: return "array";
    case SCHEMA_VALUE_STRING: return "string";
    case SCHEMA_VALUE_INTEGER: return "integer";
    case SCHEMA_VALUE_REAL: return "float";
    case SCHEMA_VALUE_TRUE:
    case SCHEMA_VALUE_FALSE: return "boolean";
    default: return "null";
    }
}

/* The output is the input, shared (its json reference too). */
static void schema_value_same(struct schema_value *out, const struct schema_value *in)
{
    *out = *in;
    out->heap = NULL;
}

static void schema_value_scalar(struct schema_value *out, enum schema_value_kind kind)
{
    out->kind = kind;
    out->json = NULL;
    out->heap = NULL;
}

/* A string the rules produced: copied into the value. -1 out of memory. */
static int schema_value_text(struct schema_value *out, const char *s, size_t len)
{
    schema_value_scalar(out, SCHEMA_VALUE_STRING);
    char *dst = out->text;
    if (len >= sizeof out->text) {
        if ((out->heap = malloc(len + 1)) == NULL)
            return -1;
        dst = out->heap;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    out->s = dst;
    out->len = len;
    return 0;
}

/* "string \"abc\"", "float 1.5", "object"... for messages; bounded and with
 * control characters replaced so that one value cannot break a log line. */
static void schema_describe(const struct schema_value *v, char *out, size_t size)
{
    switch (v->kind) {
    case SCHEMA_VALUE_STRING: {
        const char *s = v->s;
        size_t len = v->len;
        char shown[SCHEMA_SHOWN_MAX + 1];
        size_t n = len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX;
        for (size_t i = 0; i < n; i++)
            shown[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
        shown[n] = '\0';
        snprintf(out, size, "string \"%s%s\"", shown, len > n ? "..." : "");
        break;
    }
    case SCHEMA_VALUE_INTEGER:
        snprintf(out, size, "integer %lld", (long long)v->i);
        break;
    case SCHEMA_VALUE_REAL: {
        /* the shortest form that reads back the same: 0.1, not 0.10000000000000001 */
        double d = v->d;
        snprintf(out, size, "float %.15g", d);
        if (strtod(out + 6, NULL) != d)
            snprintf(out, size, "float %.17g", d);
        break;
    }
    case SCHEMA_VALUE_TRUE:
        snprintf(out, size, "boolean true");
        break;
    case SCHEMA_VALUE_FALSE:
        snprintf(out, size, "boolean false");
        break;
    default:
        snprintf(out, size, "%s", schema_value_kind_name(v));
        break;
    }
}

static int schema_type_error(const struct schema_column *col, const struct schema_value *v,
                             char err[ERROR_MAX])
{
    char shown[SCHEMA_SHOWN_MAX + 32];
    schema_describe(v, shown, sizeof shown);
    return error_set(err, "field '%s': expected %s, got %s", col->name,
                     schema_type_name(col->type), shown);
}

static bool schema_is_digit(char c) { return c >= '0' && c <= '9'; }

/* A clean integer literal: [+-]?[0-9]+, nothing else (no spaces). 1 parsed,
 * 0 not an integer literal, -1 out of the int64 range. */
static int schema_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool negative = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    if (i == len)
        return 0;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t acc = 0;
    bool overflow = false;
    for (; i < len; i++) {
        if (!schema_is_digit(s[i]))
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (limit - d) / 10)
            overflow = true; /* keep scanning: "123abc" is still "not a literal" */
        else
            acc = acc * 10 + d;
    }
    if (overflow)
        return -1;
    *out = negative ? (int64_t)(0 - acc) : (int64_t)acc;
    return 1;
}

/* A clean decimal/scientific literal accepted for float columns:
 * [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)? */
static bool schema_is_float_literal(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && schema_is_digit(s[i])) {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && schema_is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < len && schema_is_digit(s[i])) {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return false;
    }
    return i == len;
}


/* Normal form of a decimal literal [+-]?digits[.digits] (either part may be
 * empty, not both): no '+', no leading zeros, "-" dropped from zero, fraction
 * padded to the column's scale; digits beyond the scale are refused unless
 * they are zeros. 0 with *out set (the input shared when already normal),
 * or -1 with err (*syntax set when the text is not a decimal literal at
 * all). */
static int schema_decimal_normalize(const struct schema_column *col, const char *s, size_t len,
                                    const struct schema_value *original, struct schema_value *out,
                                    bool *syntax, char err[ERROR_MAX])
{
    *syntax = false;
    size_t i = 0;
    bool negative = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    const char *int_part = s + i;
    size_t int_len = 0;
    while (i < len && schema_is_digit(s[i])) {
        i++;
        int_len++;
    }
    const char *frac = s + i;
    size_t frac_len = 0;
    if (i < len && s[i] == '.') {
        i++;
        frac = s + i;
        while (i < len && schema_is_digit(s[i])) {
            i++;
            frac_len++;
        }
    }
    if (i != len || int_len + frac_len == 0) {
        *syntax = true;
        error_set(err, "not a decimal literal");
        return -1;
    }
    while (int_len > 0 && int_part[0] == '0') { /* leading zeros carry no value */
        int_part++;
        int_len--;
    }
    size_t scale = (size_t)col->scale;
    if (scale > 0 && frac_len > scale) {
        for (size_t k = scale; k < frac_len; k++) {
            if (frac[k] != '0')
                goto scale_error;
        }
        frac_len = scale;
    }
    if (col->precision > 0) {
        size_t digits = int_len;
        if (scale > 0) {
            if (int_len > (size_t)(col->precision - col->scale))
                goto precision_error;
        } else {
            size_t significant = frac_len;
            while (significant > 0 && frac[significant - 1] == '0')
                significant--;
            if (digits + significant > (size_t)col->precision)
                goto precision_error;
        }
    }
    size_t out_frac = frac_len > scale ? frac_len : scale;
    bool zero = int_len == 0;
    for (size_t k = 0; zero && k < frac_len; k++)
        zero = frac[k] == '0';

    char stack[SCHEMA_DECIMAL_STACK];
    size_t need = 1 + (int_len ? int_len : 1) + 1 + out_frac + 1;
    char *buf = need <= sizeof stack ? stack : malloc(need);
    if (buf == NULL) {
        error_set(err, "out of memory");
        return -1;
    }
    size_t n = 0;
    if (negative && !zero)
        buf[n++] = '-';
    if (int_len == 0) {
        buf[n++] = '0';
    } else {
        memcpy(buf + n, int_part, int_len);
        n += int_len;
    }
    if (out_frac > 0) {
        buf[n++] = '.';
        memcpy(buf + n, frac, frac_len);
        n += frac_len;
        for (size_t k = frac_len; k < out_frac; k++)
            buf[n++] = '0';
    }
    int rc = 0;
    if (original != NULL && n == len && memcmp(buf, s, n) == 0)
        schema_value_same(out, original); /* already normal: share it */
    else if (schema_value_text(out, buf, n) < 0)
        rc = error_set(err, "out of memory");
    if (buf != stack)
        free(buf);
    return rc;

scale_error:
    error_set(err, "field '%s': decimal %.*s%s has more than %d digits after the point (scale %d)",
              col->name, (int)(len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX), s,
              len > SCHEMA_SHOWN_MAX ? "..." : "", col->scale, col->scale);
    return -1;
precision_error:
    if (col->scale > 0)
        error_set(err,
                  "field '%s': decimal %.*s%s does not fit precision %d, scale %d (at most %d "
                  "digits before the point)",
                  col->name, (int)(len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX), s,
                  len > SCHEMA_SHOWN_MAX ? "..." : "", col->precision, col->scale,
                  col->precision - col->scale);
    else
        error_set(err, "field '%s': decimal %.*s%s does not fit precision %d (at most %d digits)",
                  col->name, (int)(len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX), s,
                  len > SCHEMA_SHOWN_MAX ? "..." : "", col->precision, col->precision);
    return -1;
}

/* The exact decimal digits of a double when it has at most 15 significant
 * digits (then the shortest such form reads back as the same double, and it
 * is what the producer wrote). Plain notation, no exponent. 0 or -1. */
static int schema_real_to_plain(double d, char *out, size_t size)
{
    char sci[40];
    int sig = 1;
    for (; sig <= SCHEMA_REAL_DIGITS_MAX; sig++) {
        snprintf(sci, sizeof sci, "%.*e", sig - 1, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    if (sig > SCHEMA_REAL_DIGITS_MAX)
        return -1;
    /* sci is "[-]d[.ddd]e[+-]xx" */
    char digits[SCHEMA_REAL_DIGITS_MAX + 1];
    size_t nd = 0;
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    for (; *p != 'e'; p++)
        if (schema_is_digit(*p))
            digits[nd++] = *p;
    long exp10 = strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0') /* trailing zeros only move the point */
        nd--;
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= size)                                                                         \
            return -1;                                                                             \
        out[n++] = (c);                                                                            \
    } while (0)
    if (negative && !(nd == 1 && digits[0] == '0'))
        PUT('-');
    if (exp10 >= (long)nd - 1) {
        for (size_t k = 0; k < nd; k++)
            PUT(digits[k]);
        for (long k = 0; k < exp10 - ((long)nd - 1); k++)
            PUT('0');
    } else if (exp10 >= 0) {
        for (size_t k = 0; k < nd; k++) {
            PUT(digits[k]);
            if ((long)k == exp10)
                PUT('.');
        }
    } else {
        PUT('0');
        PUT('.');
        for (long k = 0; k < -exp10 - 1; k++)
            PUT('0');
        for (size_t k = 0; k < nd; k++)
            PUT(digits[k]);
    }
#undef PUT
    out[n] = '\0';
    return 0;
}

static int schema_convert_decimal(const struct schema_column *col, const struct schema_value *v,
                                  struct schema_value *out, char err[ERROR_MAX])
{
    bool syntax = false;
    int rc;
    if (v->kind == SCHEMA_VALUE_STRING) {
        rc = schema_decimal_normalize(col, v->s, v->len, v, out, &syntax, err);
    } else if (v->kind == SCHEMA_VALUE_INTEGER) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        rc = schema_decimal_normalize(col, buf, (size_t)n, NULL, out, &syntax, err);
    } else if (v->kind == SCHEMA_VALUE_REAL) {
        char buf[400]; /* the widest double in plain notation is ~330 characters */
        if (schema_real_to_plain(v->d, buf, sizeof buf) < 0)
            return error_set(err,
                             "field '%s': the JSON number %.17g has more than %d significant "
                             "digits, so its exact decimal value was lost in floating point; "
                             "send decimal values as JSON strings (e.g. \"%s\": \"1234.5678\")",
                             col->name, v->d, SCHEMA_REAL_DIGITS_MAX, col->name);
        rc = schema_decimal_normalize(col, buf, strlen(buf), NULL, out, &syntax, err);
    } else {
        return schema_type_error(col, v, err);
    }
    if (rc < 0 && syntax)
        schema_type_error(col, v, err);
    return rc;
}

/* Convert one present, non-null value to the column's normal form in *out
 * (the input shared when it is already normal). 0, or -1 with err. These are
 * the per-column rules of schema.h, for every decoder. */
static int schema_convert(const struct schema_column *col, const struct schema_value *v,
                          struct schema_value *out, char err[ERROR_MAX])
{
    switch (col->type) {
    case SCHEMA_TYPE_STRING:
        if (v->kind == SCHEMA_VALUE_STRING) {
            schema_value_same(out, v);
            return 0;
        }
        break;
    case SCHEMA_TYPE_INTEGER: {
        if (v->kind == SCHEMA_VALUE_INTEGER) {
            schema_value_same(out, v);
            return 0;
        }
        int64_t i;
        if (v->kind == SCHEMA_VALUE_REAL && schema_real_as_int64(v->d, &i)) {
            schema_value_scalar(out, SCHEMA_VALUE_INTEGER);
            out->i = i;
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_STRING) {
            int rc = schema_parse_int64(v->s, v->len, &i);
            if (rc == 1) {
                schema_value_scalar(out, SCHEMA_VALUE_INTEGER);
                out->i = i;
                return 0;
            }
            if (rc < 0) {
                char shown[SCHEMA_SHOWN_MAX + 32];
                schema_describe(v, shown, sizeof shown);
                return error_set(err, "field '%s': integer out of range (64-bit), got %s",
                                 col->name, shown);
            }
        }
        if (v->kind == SCHEMA_VALUE_REAL) {
            char shown[SCHEMA_SHOWN_MAX + 32];
            schema_describe(v, shown, sizeof shown);
            return error_set(err, "field '%s': expected integer, got %s%s", col->name, shown,
                             fabs(v->d) > SCHEMA_EXACT_INT_MAX
                                 ? " (beyond the range a float holds exactly)"
                                 : "");
        }
        break;
    }
    case SCHEMA_TYPE_FLOAT:
        if (v->kind == SCHEMA_VALUE_REAL) {
            schema_value_same(out, v);
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_INTEGER) {
            schema_value_scalar(out, SCHEMA_VALUE_REAL);
            out->d = (double)v->i;
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_STRING && schema_is_float_literal(v->s, v->len)) {
            double d = strtod(v->s, NULL);
            if (isfinite(d)) {
                schema_value_scalar(out, SCHEMA_VALUE_REAL);
                out->d = d;
                return 0;
            }
            char shown[SCHEMA_SHOWN_MAX + 32];
            schema_describe(v, shown, sizeof shown);
            return error_set(err, "field '%s': float out of range, got %s", col->name, shown);
        }
        break;
    case SCHEMA_TYPE_BOOLEAN:
        if (v->kind == SCHEMA_VALUE_TRUE || v->kind == SCHEMA_VALUE_FALSE) {
            schema_value_same(out, v);
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_STRING) {
            if (strcasecmp(v->s, "true") == 0) {
                schema_value_scalar(out, SCHEMA_VALUE_TRUE);
                return 0;
            }
            if (strcasecmp(v->s, "false") == 0) {
                schema_value_scalar(out, SCHEMA_VALUE_FALSE);
                return 0;
            }
        }
        break;
    case SCHEMA_TYPE_TIMESTAMP:
    case SCHEMA_TYPE_DATE: {
        if (v->kind != SCHEMA_VALUE_STRING)
            break;
        char text[TIMEUTIL_TIMESTAMP_MAX];
        int rc = col->type == SCHEMA_TYPE_TIMESTAMP
                     ? timeutil_normalize_timestamp(v->s, col->format, text, err)
                     : timeutil_normalize_date(v->s, col->format, text, err);
        if (rc < 0)
            return error_prefix(err, "field '%s'", col->name);
        size_t n = strlen(text);
        if (n == v->len && memcmp(text, v->s, n) == 0) {
            schema_value_same(out, v);
            return 0;
        }
        if (schema_value_text(out, text, n) < 0)
            return error_set(err, "out of memory");
        return 0;
    }
    case SCHEMA_TYPE_JSON:
        schema_value_same(out, v);
        return 0;
    case SCHEMA_TYPE_ARRAY:
        if (v->kind == SCHEMA_VALUE_ARRAY) {
            schema_value_same(out, v);
            return 0;
        }
        break;
    case SCHEMA_TYPE_DECIMAL:
        return schema_convert_decimal(col, v, out, err);
    }
    return schema_type_error(col, v, err);
}

/* ------------------------------------------------- record normalisation */

/* The value found for a column and the record key it came from (the key is
 * the column name, or in AUTO_INFERENCE the original messy name). */
struct schema_slot {
    const char *key;
    const struct schema_value *value;
};

static int schema_rescue(json_t **rescued, const char *key, const struct schema_value *value,
                         char err[ERROR_MAX])
{
    if (*rescued == NULL && (*rescued = json_object()) == NULL)
        return error_set(err, "out of memory");
    if (json_object_set_new(*rescued, key, schema_value_to_json(value)) < 0)
        return error_set(err, "out of memory");
    return 0;
}


/* The column named exactly key, trying `hint` first (records usually list
 * their fields in schema order). -1 when none. */
static ssize_t schema_column_index(const struct schema *schema, const char *key, size_t hint)
{
    if (hint < schema->column_count && strcmp(schema->columns[hint].name, key) == 0)
        return (ssize_t)hint;
    for (size_t i = 0; i < schema->column_count; i++)
        if (strcmp(schema->columns[i].name, key) == 0)
            return (ssize_t)i;
    return -1;
}

int schema_normalize_fields(const struct schema *schema, const struct schema_field *fields,
                            size_t n, bool check, struct schema_value *values, json_t **rescued_out,
                            char err[ERROR_MAX])
{
    *rescued_out = NULL;
    for (size_t i = 0; i < schema->column_count; i++) {
        values[i].kind = SCHEMA_VALUE_ABSENT;
        values[i].heap = NULL;
    }
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN)
        return error_set(err, "schema_normalize_values: SINGLE_COLUMN schema");

    bool auto_mode = schema->mode == SCHEMA_MODE_AUTO_INFERENCE;
    struct schema_slot stack[SCHEMA_SLOTS_STACK];
    struct schema_slot *slots = stack;
    json_t *rescued = NULL;
    if (schema->column_count > SCHEMA_SLOTS_STACK) {
        slots = calloc(schema->column_count, sizeof *slots);
        if (slots == NULL)
            return error_set(err, "out of memory");
    }
    for (size_t i = 0; i < schema->column_count; i++) {
        slots[i].key = schema->columns[i].name;
        slots[i].value = NULL;
    }

    /* Pass 1: the fields named exactly like a column. */
    size_t matched = 0;
    for (size_t k = 0; k < n; k++) {
        ssize_t i = schema_column_index(schema, fields[k].key, k);
        if (i < 0)
            continue;
        matched++;
        if (fields[k].value.kind != SCHEMA_VALUE_NULL)
            slots[i].value = &fields[k].value;
    }
    /* Pass 2, only when some keys matched no column by exact name. */
    if (matched < n) {
        for (size_t k = 0; k < n; k++) {
            const char *key = fields[k].key;
            const struct schema_value *v = &fields[k].value;
            if (schema_column_index(schema, key, k) >= 0)
                continue; /* handled in pass 1 */
            if (v->kind == SCHEMA_VALUE_NULL)
                continue; /* null is the same as absent */
            if (auto_mode) {
                ssize_t i = schema_auto_column(schema, key);
                if (i >= 0 && slots[i].value == NULL) {
                    slots[i].key = key;
                    slots[i].value = v;
                    continue;
                }
            }
            if (schema_rescue(&rescued, key, v, err) < 0)
                goto fail;
        }
    }

    for (size_t i = 0; i < schema->column_count; i++) {
        const struct schema_column *col = &schema->columns[i];
        const struct schema_value *v = slots[i].value;
        if (v == NULL) {
            if (check && col->primary_key) {
                error_set(err, "field '%s': primary key is missing", col->name);
                goto fail;
            }
            if (check && col->required) {
                error_set(err, "field '%s': required field is missing", col->name);
                goto fail;
            }
            continue;
        }
        if (!check) {
            schema_value_same(&values[i], v);
            continue;
        }
        if (schema_convert(col, v, &values[i], err) < 0) {
            values[i].kind = SCHEMA_VALUE_ABSENT;
            values[i].heap = NULL;
            /* AUTO_INFERENCE keeps what its column cannot hold, unless the
             * record would then lack a key or required field. */
            if (auto_mode && !col->required && !col->primary_key) {
                if (schema_rescue(&rescued, slots[i].key, v, err) < 0)
                    goto fail;
                continue;
            }
            goto fail;
        }
    }
    if (slots != stack)
        free(slots);
    *rescued_out = rescued;
    return 0;

fail:
    json_decref(rescued);
    schema_values_clear(values, schema->column_count);
    if (slots != stack)
        free(slots);
    return -1;
}

/* The jansson form: the record's members as fields, the same rules, then
 * the values as jansson values. With values == NULL the normal form is built
 * as a new object in *normalized; otherwise (schema_normalize_values, not
 * SINGLE_COLUMN) each column's value goes to values[i] and the rescued
 * fields to *rescued_out. */
static int schema_normalize(const struct schema *schema, const json_t *record, bool check,
                            json_t **normalized, json_t **values, json_t **rescued_out,
                            char err[ERROR_MAX])
{
    if (normalized != NULL)
        *normalized = NULL;
    if (values != NULL) {
        memset(values, 0, schema->column_count * sizeof *values);
        *rescued_out = NULL;
    }
    if (record == NULL || json_is_null(record))
        return error_set(err, "record is null");
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN && values != NULL)
        return error_set(err, "schema_normalize_values: SINGLE_COLUMN schema");
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN) {
        json_t *out = json_object();
        if (out == NULL || json_object_set(out, SCHEMA_SINGLE_COLUMN_NAME, (json_t *)record) < 0) {
            json_decref(out);
            return error_set(err, "out of memory");
        }
        *normalized = out;
        return 0;
    }
    if (!json_is_object(record))
        return error_set(err, "record is not a JSON object (got %s)", schema_json_kind(record));

    size_t n = json_object_size(record);
    struct schema_field fstack[SCHEMA_SLOTS_STACK];
    struct schema_value vstack[SCHEMA_SLOTS_STACK];
    struct schema_field *fields = n <= SCHEMA_SLOTS_STACK ? fstack : malloc(n * sizeof *fields);
    struct schema_value *vals = schema->column_count <= SCHEMA_SLOTS_STACK
                                    ? vstack
                                    : malloc(schema->column_count * sizeof *vals);
    json_t *rescued = NULL, *out = NULL;
    int rc = -1;
    if (fields == NULL || vals == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)record, key, v) {
        fields[k].key = key;
        schema_value_from_json(v, &fields[k].value);
        k++;
    }
    if (schema_normalize_fields(schema, fields, k, check, vals, &rescued, err) < 0)
        goto done;
    if (values == NULL && (out = json_object()) == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < schema->column_count; i++) {
        if (vals[i].kind == SCHEMA_VALUE_ABSENT)
            continue;
        json_t *value = schema_value_to_json(&vals[i]);
        if (value == NULL) {
            error_set(err, "out of memory");
            goto done;
        }
        if (values != NULL) {
            values[i] = value;
        } else if (json_object_set_new(out, schema->columns[i].name, value) < 0) {
            error_set(err, "out of memory");
            goto done;
        }
    }
    if (values != NULL) {
        *rescued_out = rescued;
        rescued = NULL;
    } else if (rescued != NULL) {
        int set = json_object_set_new(out, SCHEMA_RESCUED_COLUMN, rescued);
        rescued = NULL;
        if (set < 0) {
            error_set(err, "out of memory");
            goto done;
        }
    }
    if (normalized != NULL) {
        *normalized = out;
        out = NULL;
    }
    rc = 0;

done:
    if (vals != NULL)
        schema_values_clear(vals, schema->column_count);
    json_decref(out);
    json_decref(rescued);
    if (rc < 0) {
        for (size_t i = 0; values != NULL && i < schema->column_count; i++) {
            json_decref(values[i]);
            values[i] = NULL;
        }
    }
    if (fields != fstack)
        free(fields);
    if (vals != vstack)
        free(vals);
    return rc;
}

int schema_validate_record(const struct schema *schema, const json_t *record,
                           json_t **normalized, char err[ERROR_MAX])
{
    return schema_normalize(schema, record, true, normalized, NULL, NULL, err);
}

int schema_passthrough_record(const struct schema *schema, const json_t *record,
                              json_t **normalized, char err[ERROR_MAX])
{
    return schema_normalize(schema, record, false, normalized, NULL, NULL, err);
}

int schema_normalize_values(const struct schema *schema, const json_t *record, bool check,
                            json_t **values, json_t **rescued, char err[ERROR_MAX])
{
    return schema_normalize(schema, record, check, NULL, values, rescued, err);
}


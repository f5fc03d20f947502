/* expectation.h - expectations (data-quality rules of an endpoint schema, see
 * schema.h): checking a rule when a schema is stored, and evaluating the
 * rules of a schema on records. Owns the SQL form and the sandbox.
 *
 * A rule is one SQLite expression over the schema's columns, evaluated as
 *   SELECT (<rule>) FROM (SELECT ?1 AS "col1", ?2 AS "col2", ...)
 * on a private in-memory database whose authorizer allows only SELECT,
 * reading those columns and calling functions: no table, no pragma, no
 * attach, no second statement. The result is read like a CHECK constraint:
 * the record fails the rule when it is false (0); true and NULL pass (write
 * `x IS NOT NULL AND x > 0` to refuse missing values). Values are bound as
 * the JSON gives them (strings as TEXT, numbers, booleans as 0/1,
 * objects/arrays as JSON text, absent/null as NULL). */
#ifndef LAKEHOUSE_EXPECTATION_H
#define LAKEHOUSE_EXPECTATION_H

#include <stdbool.h>
#include <jansson.h>
#include "error.h"
#include "schema.h"

/* Check every expectation of a schema (prepared in the sandbox). -1 with a
 * message naming the expectation and SQLite's reason. */
int expectation_check(const struct schema *schema, char err[ERROR_MAX]);

struct expectation_set;
/* Compile the expectations of a schema (copied). *out NULL when the schema
 * has none. Caller owns. */
int expectation_open(const struct schema *schema, struct expectation_set **out, char err[ERROR_MAX]);
void expectation_close(struct expectation_set **expect);
/* Evaluate every rule on a record (a JSON object): failed[i] (an array of
 * schema->expectation_count) is set true when rule i is false, or cannot be
 * evaluated on this record (a function error). -1 with err only when out
 * of memory. */
int expectation_eval(struct expectation_set *expect, const json_t *record, bool *failed, char err[ERROR_MAX]);

#endif

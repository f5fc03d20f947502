/* endpoints.h - ingest's cache of endpoint schemas (latest version of each
 * endpoint, read from the catalog).
 *
 * The catalog is the source of truth; this cache only saves a query per
 * batch. It is refreshed three ways, because events are hints (rule 3):
 *   - a schema.changed event forgets the endpoint (re-read on next use);
 *   - a batch naming an endpoint that is not cached re-queries the catalog
 *     (so an endpoint created while the event was lost works at once);
 *   - housekeeping compares every cached version with the catalog's every
 *     few seconds (endpoints_check_versions).
 * The cache owns the schemas; a pointer returned by endpoints_get stays
 * valid until the next call that changes that endpoint's entry. */
#ifndef INGEST_ENDPOINTS_H
#define INGEST_ENDPOINTS_H

#include "catalog.h"
#include "error.h"
#include "schema.h"

struct endpoints;

int endpoints_open(struct catalog *catalog, struct endpoints **out, char err[ERROR_MAX]);
void endpoints_close(struct endpoints **endpoints);

/* 1 and *schema (owned by the cache) when the endpoint exists, 0 when the
 * catalog does not know it, -1 on a catalog error. */
int endpoints_get(struct endpoints *endpoints, const char *domain, const char *name,
                  const struct schema **schema, char err[ERROR_MAX]);
/* Re-read one endpoint from the catalog now (same results as endpoints_get). */
int endpoints_reload(struct endpoints *endpoints, const char *domain, const char *name,
                     const struct schema **schema, char err[ERROR_MAX]);
/* Replace the cached schema by *schema (a version just stored by the
 * caller); takes ownership and sets *schema to NULL. */
void endpoints_set(struct endpoints *endpoints, struct schema **schema);
void endpoints_forget(struct endpoints *endpoints, const char *domain, const char *name);
/* Compare each cached version with the catalog; reload changed entries,
 * forget deleted ones. Errors are logged (the cache stays as it was). */
void endpoints_check_versions(struct endpoints *endpoints);

#endif

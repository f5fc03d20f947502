/* iceberg_export_control.c - when a writer exports and how it answers the
 * "export" control request (iceberg_export.h): the tick, the request's
 * checks and its reply, shared by the processor (silver) and the
 * transformer (gold). */
#include "iceberg_export.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

bool iceberg_export_due(const struct config *cfg, int64_t *next_ms)
{
    int64_t now = timeutil_monotonic_ms();
    if (*next_ms == 0)
        *next_ms = now + cfg->iceberg_export_interval_s * 1000;
    if (now < *next_ms)
        return false;
    *next_ms = now + cfg->iceberg_export_interval_s * 1000;
    return true;
}

bool iceberg_export_enabled(const struct config *cfg)
{
    return strcmp(cfg->iceberg_export, "local") == 0 || strcmp(cfg->iceberg_export, "s3") == 0;
}

void iceberg_export_tick(const struct config *cfg, bool busy, int64_t *next_ms,
                         iceberg_export_scope_fn fn, void *arg)
{
    if (!iceberg_export_enabled(cfg) || busy || !iceberg_export_due(cfg, next_ms))
        return;
    int64_t exported, matched;
    char err[ERROR_MAX];
    fn(arg, NULL, NULL, &exported, &matched, err); /* failures logged per table */
}

void iceberg_export_serve(const struct config *cfg, const struct control_request *req,
                          struct control_reply *reply, const char *prefix,
                          struct iceberg_store *const *store, iceberg_export_scope_fn fn,
                          void *arg)
{
    char err[ERROR_MAX] = "";
    int64_t exported = 0, matched = 0;
    int rc = iceberg_export_request_check(cfg, req, err);
    if (rc == 0)
        rc = fn(arg, req->domain, req->name, &exported, &matched, err);
    iceberg_export_reply(reply, rc, exported, matched, prefix, *store, err);
}

int iceberg_export_request_check(const struct config *cfg, const struct control_request *req,
                                 char err[ERROR_MAX])
{
    if (!iceberg_export_enabled(cfg))
        return error_fail(err, ERROR_INVALID, "iceberg_export is '%s': nothing is exported",
                          cfg->iceberg_export);
    if (req->name[0] && !req->domain[0])
        return error_fail(err, ERROR_INVALID, "export of table %s needs its domain", req->name);
    return 0;
}

void iceberg_export_reply(struct control_reply *reply, int rc, int64_t exported, int64_t matched,
                          const char *prefix, const struct iceberg_store *store,
                          const char *err)
{
    reply->ok = rc == 0;
    reply->kind = error_kind_of(rc);
    reply->count = exported;
    reply->id = matched;
    if (rc < 0)
        snprintf(reply->message, sizeof reply->message, "%sexport failed: %s", prefix, err);
    else
        snprintf(reply->message, sizeof reply->message,
                 "%sexported %" PRId64 " table(s) to %s (the others were current)",
                 prefix, exported, store != NULL ? iceberg_store_root(store) : "?");
}

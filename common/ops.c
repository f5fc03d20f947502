/* ops.c - worker operations shared by the CLI and the HTTP API (ops.h). */
#include "ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sqlref.h"
#include "timetravel.h"

#define OPS_ROLLBACK_TIMEOUT_MS (3600 * 1000)
#define OPS_MAINT_TIMEOUT_MS (3600 * 1000)

bool ops_endpoint_present(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return true;
    /* A socket file outlives its process (ZeroMQ leaves it behind), so try
     * to connect: refused means nobody listens. */
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(endpoint + 6) >= sizeof addr.sun_path)
        return true; /* let ZeroMQ report it */
    memcpy(addr.sun_path, endpoint + 6, strlen(endpoint + 6));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    int e = errno;
    close(fd);
    return rc == 0 || (e != ECONNREFUSED && e != ENOENT && e != ENOTSOCK);
}

enum ops_status ops_call(void *zmq_context, const char *endpoint, const char *who,
                         const struct control_request *req, int timeout_ms, const char *what,
                         struct control_reply *reply, char err[ERROR_MAX])
{
    char cerr[ERROR_MAX];
    memset(reply, 0, sizeof *reply);
    if (!ops_endpoint_present(endpoint)) {
        /* not present is only ever said of ipc:// endpoints: name the path */
        error_set(err, "the %s is not running (nothing listens on %s)", who, endpoint + 6);
        return OPS_UNAVAILABLE;
    }
    if (control_call(zmq_context, endpoint, req, timeout_ms, reply, cerr) != 0) {
        if (what != NULL)
            error_set(err, "%s: %s", what, cerr);
        else
            error_set(err, "%s", cerr);
        return OPS_UNAVAILABLE;
    }
    return OPS_OK;
}

void ops_rollback_gold_reason(const char *domain, const char *table, char err[ERROR_MAX])
{
    error_set(err,
              "rollback is for silver tables: gold table %s.gold.%s is rewritten by its job "
              "(lakehouse job run %s/%s); read an older state with %s.gold.%s@SNAPSHOT",
              domain, table, domain, table, domain, table);
}

/* Is there a table of that name in the layer (it has snapshots)? */
static bool ops_has_table(const struct config *cfg, enum sqlref_layer layer, const char *domain,
                          const char *table)
{
    json_t *list = NULL;
    char err[ERROR_MAX];
    if (timetravel_history(cfg->data_dir, layer, domain, table, 1, &list, err) != 0)
        return false;
    json_decref(list);
    return true;
}

enum ops_status ops_rollback(void *zmq_context, const struct config *cfg, const char *domain,
                             const char *table, int64_t snapshot, json_t **out,
                             char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    memset(&req, 0, sizeof req);
    snprintf(req.cmd, sizeof req.cmd, "rollback");
    snprintf(req.domain, sizeof req.domain, "%s", domain);
    snprintf(req.name, sizeof req.name, "%s", table);
    snprintf(req.from, sizeof req.from, "%" PRId64, snapshot);
    struct control_reply reply;
    enum ops_status st = ops_call(zmq_context, cfg->processor_control_endpoint, "processor",
                                  &req, OPS_ROLLBACK_TIMEOUT_MS, NULL, &reply, err);
    if (st != OPS_OK)
        return st;
    if (!reply.ok) {
        bool silver = ops_has_table(cfg, SQLREF_SILVER, domain, table);
        if (!silver && ops_has_table(cfg, SQLREF_GOLD, domain, table)) {
            error_set(err,
                      "rollback failed: %s; %s.gold.%s is a gold table: its job rewrites it "
                      "(lakehouse job run %s/%s), rollback is for silver tables",
                      reply.message, domain, table, domain, table);
            return OPS_CONFLICT;
        }
        error_set(err, "rollback failed: %s", reply.message);
        if (!silver)
            return OPS_NOT_FOUND;
        /* the table exists: an unknown snapshot of it, or one of another table */
        json_t *list = NULL;
        char terr[ERROR_MAX];
        bool known = false;
        if (timetravel_history(cfg->data_dir, SQLREF_SILVER, domain, table, 0, &list, terr) ==
            0) {
            size_t i;
            json_t *s;
            json_array_foreach(list, i, s) {
                known = known || json_integer_value(json_object_get(s, "snapshot_id")) == snapshot;
            }
            json_decref(list);
        }
        return known ? OPS_CONFLICT : OPS_NOT_FOUND;
    }
    *out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "domain", domain, "table", table,
                     "to_snapshot", (json_int_t)snapshot, "snapshot_id", (json_int_t)reply.id,
                     "changed", (json_int_t)reply.count, "message", reply.message);
    if (*out == NULL) {
        error_set(err, "out of memory");
        return OPS_UNAVAILABLE;
    }
    return OPS_OK;
}

enum ops_status ops_replay(void *zmq_context, const struct config *cfg,
                           const struct control_request *req, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    const char *endpoint = cfg->processor_control_endpoint;
    struct control_request ping;
    memset(&ping, 0, sizeof ping);
    snprintf(ping.cmd, sizeof ping.cmd, "ping");
    struct control_reply reply;
    enum ops_status st = ops_call(zmq_context, endpoint, "processor", &ping, OPS_PING_TIMEOUT_MS,
                                  "the processor does not answer", &reply, err);
    if (st == OPS_OK)
        st = ops_call(zmq_context, endpoint, "processor", req, OPS_LONG_TIMEOUT_MS, "replay",
                      &reply, err);
    if (st != OPS_OK)
        return st;
    if (!reply.ok) {
        error_set(err, "replay failed: %s", reply.message);
        return OPS_CONFLICT;
    }
    *out = json_pack("{s:I, s:s}", "files_merged", (json_int_t)reply.count, "message",
                     reply.message);
    if (*out == NULL) {
        error_set(err, "out of memory");
        return OPS_UNAVAILABLE;
    }
    return OPS_OK;
}

/* One maintenance request; OPS_OK only when the worker did it. */
static enum ops_status ops_maint(void *zmq_context, const char *endpoint, const char *who,
                                 const struct control_request *req, const char *what,
                                 struct control_reply *reply, char err[ERROR_MAX])
{
    enum ops_status st = ops_call(zmq_context, endpoint, who, req, OPS_MAINT_TIMEOUT_MS, what,
                                  reply, err);
    if (st != OPS_OK)
        return st;
    if (!reply->ok) {
        error_set(err, "%s", reply->message);
        return OPS_CONFLICT;
    }
    return OPS_OK;
}

static void ops_scope(struct control_request *req, const char *cmd, const char *domain,
                      const char *table)
{
    memset(req, 0, sizeof *req);
    snprintf(req->cmd, sizeof req->cmd, "%s", cmd);
    snprintf(req->domain, sizeof req->domain, "%s", domain ? domain : "");
    snprintf(req->name, sizeof req->name, "%s", table ? table : "");
}

enum ops_status ops_expire(void *zmq_context, const struct config *cfg, const char *domain,
                           const char *table, bool dry_run, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    ops_scope(&req, dry_run ? "expire_dry_run" : "expire", domain, table);
    struct control_reply reply;
    enum ops_status st = ops_maint(zmq_context, cfg->processor_control_endpoint, "processor",
                                   &req, "expire", &reply, err);
    if (st != OPS_OK)
        return st;
    json_t *result = json_pack("{s:b, s:{s:s, s:I, s:I}, s:n, s:[]}", "dry_run", dry_run,
                               "silver", "message", reply.message, "bronze_files",
                               (json_int_t)reply.count, "snapshots", (json_int_t)reply.id,
                               "gold", "notes");
    if (result == NULL) {
        error_set(err, "out of memory");
        return OPS_UNAVAILABLE;
    }
    /* Gold history is the transformer's (its only writer). Not running:
     * a note, not an error (it also expires gold daily by itself). */
    const char *tep = cfg->transformer_control_endpoint;
    if (!ops_endpoint_present(tep)) {
        char note[ERROR_MAX];
        error_set(note, "gold: not expired, the transformer is not running (nothing listens on "
                        "%s)", tep + 6);
        json_array_append_new(json_object_get(result, "notes"), json_string(note));
        *out = result;
        return OPS_OK;
    }
    st = ops_maint(zmq_context, tep, "transformer", &req, "expire gold", &reply, err);
    if (st != OPS_OK) {
        json_decref(result);
        return st;
    }
    json_object_set_new(result, "gold",
                        json_pack("{s:s, s:I, s:I}", "message", reply.message, "snapshots",
                                  (json_int_t)reply.id, "lineage_rows", (json_int_t)reply.count));
    *out = result;
    return OPS_OK;
}

enum ops_status ops_compact(void *zmq_context, const struct config *cfg, const char *domain,
                            const char *table, const char *date, json_t **out,
                            char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    ops_scope(&req, "compact", domain, table);
    snprintf(req.from, sizeof req.from, "%s", date ? date : "");
    struct control_reply reply;
    enum ops_status st = ops_maint(zmq_context, cfg->processor_control_endpoint, "processor",
                                   &req, "compact", &reply, err);
    if (st != OPS_OK)
        return st;
    *out = json_pack("{s:s, s:I, s:I}", "message", reply.message, "input_files",
                     (json_int_t)reply.count, "files_written", (json_int_t)reply.id);
    if (*out == NULL) {
        error_set(err, "out of memory");
        return OPS_UNAVAILABLE;
    }
    return OPS_OK;
}

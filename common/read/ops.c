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
#define OPS_EXPORT_TIMEOUT_MS (3600 * 1000)

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

int ops_call(void *zmq_context, const char *endpoint, const char *who,
             const struct control_request *req, int timeout_ms, const char *what,
             struct control_reply *reply, char err[ERROR_MAX])
{
    char cerr[ERROR_MAX];
    memset(reply, 0, sizeof *reply);
    if (!ops_endpoint_present(endpoint)) {
        /* not present is only ever said of ipc:// endpoints: name the path */
        return error_fail(err, ERROR_UNAVAILABLE, "the %s is not running (nothing listens on %s)",
                          who, endpoint + 6);
    }
    if (control_call(zmq_context, endpoint, req, timeout_ms, reply, cerr) != 0) {
        if (what != NULL)
            return error_fail(err, ERROR_UNAVAILABLE, "%s: %s", what, cerr);
        return error_fail(err, ERROR_UNAVAILABLE, "%s", cerr);
    }
    return 0;
}

void ops_rollback_gold_reason(const char *domain, const char *table, char err[ERROR_MAX])
{
    error_set(err,
              "rollback is for silver tables: gold table %s.gold.%s is rewritten by its job "
              "(lakehouse job run %s/%s); read an older state with %s.gold.%s@SNAPSHOT",
              domain, table, domain, table, domain, table);
}

/* 0 when the answer was built, else out of memory. */
static int ops_answer(const json_t *out, char err[ERROR_MAX])
{
    return out != NULL ? 0 : error_fail(err, ERROR_INTERNAL, "out of memory");
}

static void ops_scope(struct control_request *req, enum control_cmd cmd, const char *domain,
                      const char *table)
{
    memset(req, 0, sizeof *req);
    req->cmd = cmd;
    snprintf(req->domain, sizeof req->domain, "%s", domain ? domain : "");
    snprintf(req->name, sizeof req->name, "%s", table ? table : "");
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

/* Is snapshot one of domain.silver.table's? */
static bool ops_has_snapshot(const struct config *cfg, const char *domain, const char *table,
                             int64_t snapshot)
{
    json_t *list = NULL;
    char err[ERROR_MAX];
    bool known = false;
    if (timetravel_history(cfg->data_dir, SQLREF_SILVER, domain, table, 0, &list, err) != 0)
        return false;
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        known = known || json_integer_value(json_object_get(s, "snapshot_id")) == snapshot;
    }
    json_decref(list);
    return known;
}

int ops_rollback(void *zmq_context, const struct config *cfg, const char *domain,
                 const char *table, int64_t snapshot, json_t **out,
                 char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    ops_scope(&req, CONTROL_ROLLBACK, domain, table);
    snprintf(req.from, sizeof req.from, "%" PRId64, snapshot);
    struct control_reply reply;
    int st = ops_call(zmq_context, cfg->processor_control_endpoint, "processor",
                      &req, OPS_ROLLBACK_TIMEOUT_MS, NULL, &reply, err);
    if (st != 0)
        return st;
    if (!reply.ok) {
        bool silver = ops_has_table(cfg, SQLREF_SILVER, domain, table);
        if (!silver && ops_has_table(cfg, SQLREF_GOLD, domain, table)) {
            return error_fail(err, ERROR_CONFLICT,
                              "rollback failed: %s; %s.gold.%s is a gold table: its job "
                              "rewrites it (lakehouse job run %s/%s), rollback is for silver "
                              "tables",
                              reply.message, domain, table, domain, table);
        }
        /* the table exists: an unknown snapshot of it (404), or a known one the
         * processor refused (409) */
        enum error_kind kind = silver && ops_has_snapshot(cfg, domain, table, snapshot)
                                   ? ERROR_CONFLICT
                                   : ERROR_NOT_FOUND;
        return error_fail(err, kind, "rollback failed: %s", reply.message);
    }
    *out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "domain", domain, "table", table,
                     "to_snapshot", (json_int_t)snapshot, "snapshot_id", (json_int_t)reply.id,
                     "changed", (json_int_t)reply.count, "message", reply.message);
    return ops_answer(*out, err);
}

int ops_replay(void *zmq_context, const struct config *cfg,
               const struct control_request *req, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    const char *endpoint = cfg->processor_control_endpoint;
    struct control_request ping;
    memset(&ping, 0, sizeof ping);
    ping.cmd = CONTROL_PING;
    struct control_reply reply;
    int st = ops_call(zmq_context, endpoint, "processor", &ping, OPS_PING_TIMEOUT_MS,
                      "the processor does not answer", &reply, err);
    if (st == 0)
        st = ops_call(zmq_context, endpoint, "processor", req, OPS_LONG_TIMEOUT_MS, "replay",
                      &reply, err);
    if (st != 0)
        return st;
    if (!reply.ok) {
        return error_fail(err, ERROR_CONFLICT, "replay failed: %s", reply.message);
    }
    *out = json_pack("{s:I, s:s}", "files_merged", (json_int_t)reply.count, "message",
                     reply.message);
    return ops_answer(*out, err);
}

/* The "not running" note of a worker that is left out. */
static void ops_note_absent(json_t *result, const char *what, const char *endpoint)
{
    char note[ERROR_MAX];
    error_set(note, "%s, the transformer is not running (nothing listens on %s)", what,
              endpoint + 6);
    json_array_append_new(json_object_get(result, "notes"), json_string(note));
}

/* One maintenance request; OPS_OK only when the worker did it. */
static int ops_maint(void *zmq_context, const char *endpoint, const char *who,
                     const struct control_request *req, const char *what,
                     struct control_reply *reply, char err[ERROR_MAX])
{
    int st = ops_call(zmq_context, endpoint, who, req, OPS_MAINT_TIMEOUT_MS, what,
                      reply, err);
    if (st != 0)
        return st;
    if (!reply->ok) {
        return error_fail(err, ERROR_CONFLICT, "%s", reply->message);
    }
    return 0;
}

int ops_expire(void *zmq_context, const struct config *cfg, const char *domain,
               const char *table, bool dry_run, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    ops_scope(&req, dry_run ? CONTROL_EXPIRE_DRY_RUN : CONTROL_EXPIRE, domain, table);
    struct control_reply reply;
    int st = ops_maint(zmq_context, cfg->processor_control_endpoint, "processor",
                       &req, "expire", &reply, err);
    if (st != 0)
        return st;
    json_t *result = json_pack("{s:b, s:{s:s, s:I, s:I}, s:n, s:[]}", "dry_run", dry_run,
                               "silver", "message", reply.message, "bronze_files",
                               (json_int_t)reply.count, "snapshots", (json_int_t)reply.id,
                               "gold", "notes");
    if (result == NULL)
        return ops_answer(result, err);
    /* Gold history is the transformer's (its only writer). Not running:
     * a note, not an error (it also expires gold daily by itself). */
    const char *tep = cfg->transformer_control_endpoint;
    if (!ops_endpoint_present(tep)) {
        ops_note_absent(result, "gold: not expired", tep);
        *out = result;
        return 0;
    }
    st = ops_maint(zmq_context, tep, "transformer", &req, "expire gold", &reply, err);
    if (st != 0) {
        json_decref(result);
        return st;
    }
    json_object_set_new(result, "gold",
                        json_pack("{s:s, s:I, s:I}", "message", reply.message, "snapshots",
                                  (json_int_t)reply.id, "lineage_rows", (json_int_t)reply.count));
    *out = result;
    return 0;
}

int ops_compact(void *zmq_context, const struct config *cfg, const char *domain,
                const char *table, const char *date, json_t **out,
                char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    ops_scope(&req, CONTROL_COMPACT, domain, table);
    snprintf(req.from, sizeof req.from, "%s", date ? date : "");
    struct control_reply reply;
    int st = ops_maint(zmq_context, cfg->processor_control_endpoint, "processor",
                       &req, "compact", &reply, err);
    if (st != 0)
        return st;
    *out = json_pack("{s:s, s:I, s:I}", "message", reply.message, "input_files",
                     (json_int_t)reply.count, "files_written", (json_int_t)reply.id);
    return ops_answer(*out, err);
}

int ops_export(void *zmq_context, const struct config *cfg, const char *domain,
               const char *table, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    struct control_request req;
    ops_scope(&req, CONTROL_EXPORT, domain, table);
    struct control_reply silver, gold = {.ok = true};
    int st = ops_call(zmq_context, cfg->processor_control_endpoint, "processor", &req,
                      OPS_EXPORT_TIMEOUT_MS, "export", &silver, err);
    if (st != 0)
        return st;
    const char *tep = cfg->transformer_control_endpoint;
    bool asked_gold = ops_endpoint_present(tep);
    if (asked_gold) {
        st = ops_call(zmq_context, tep, "transformer", &req, OPS_EXPORT_TIMEOUT_MS,
                      "export gold", &gold, err);
        if (st != 0)
            return st;
    }
    /* a table only in gold: the processor's "no silver table" is no failure */
    bool one_table = req.name[0] != '\0';
    bool silver_failed = !silver.ok && !(one_table && silver.id == 0 && gold.ok && gold.id > 0);
    if (silver_failed || !gold.ok) {
        const struct control_reply *bad = silver_failed ? &silver : &gold;
        enum error_kind kind = bad->kind != ERROR_NONE ? bad->kind : ERROR_INTERNAL;
        if (one_table && silver.id == 0 && gold.id == 0)
            kind = ERROR_NOT_FOUND; /* neither layer has the table */
        if (silver_failed && !gold.ok)
            return error_fail(err, kind, "%s; %s", silver.message, gold.message);
        return error_fail(err, kind, "%s", bad->message);
    }
    json_t *result = json_pack("{s:n, s:n, s:[]}", "silver", "gold", "notes");
    if (result == NULL)
        return ops_answer(result, err);
    if (!one_table || silver.id > 0)
        json_object_set_new(result, "silver", json_pack("{s:s, s:I}", "message", silver.message,
                                                        "tables", (json_int_t)silver.id));
    if (!asked_gold)
        ops_note_absent(result, "gold: not exported", tep);
    else if (!one_table || gold.id > 0)
        json_object_set_new(result, "gold", json_pack("{s:s, s:I}", "message", gold.message,
                                                      "tables", (json_int_t)gold.id));
    *out = result;
    return 0;
}

struct ops_problems {
    char prefix[ERROR_MAX]; /* "config <path>: ", which the parser's messages open with */
    json_t *list;
};

static void ops_config_problem(const char *problem, void *arg)
{
    struct ops_problems *p = arg;
    size_t n = strlen(p->prefix);
    json_array_append_new(p->list,
                          json_string(strncmp(problem, p->prefix, n) == 0 ? problem + n : problem));
}

int ops_config_check(const char *path, json_t **out, char err[ERROR_MAX])
{
    struct ops_problems problems;
    snprintf(problems.prefix, sizeof problems.prefix, "config %.400s: ", path);
    problems.list = json_array();
    *out = NULL;
    if (problems.list == NULL)
        return ops_answer(NULL, err);
    config_check_file(path, ops_config_problem, &problems);
    *out = json_pack("{s:b, s:o}", "ok", json_array_size(problems.list) == 0, "problems",
                     problems.list);
    return ops_answer(*out, err);
}

/* http_server.c - the HTTP server of the broker (http.h): listen address,
 * TLS, libmicrohttpd daemon and its limits, per-connection body buffer with
 * its limit, the browser-safety screen (http_guard.c) and bearer token
 * check, one log line per request, and sending the handler's reply.
 *
 * Threads: a few libmicrohttpd polling threads (epoll) serve every
 * connection and never block. Once a request is received its connection is
 * suspended and its handler runs on a worker thread (http_work.c); an
 * ingest handler, which only prepares the batch, runs on the polling thread,
 * and the batch waits for ingest's durable ack on no thread at all
 * (http_async.c); a long operator call (a rollback) waits on a thread of
 * its own (http_long.c). The worker or that thread resumes the connection,
 * and the polling thread sends the answer. Handlers share only the
 * read-only config, the thread-safe ZeroMQ context, the publisher socket
 * behind publish_lock and the query slot counter. */
#include "http.h"
#include "http_internal.h"
#include "http_console.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include <zmq.h>

#include "fsutil.h"
#include "log.h"
#include "read/query.h"
#include "timeutil.h"

#define HTTP_BACKLOG 4096          /* the kernel caps it at net.core.somaxconn */
#define HTTP_IDLE_TIMEOUT_S 60
#define HTTP_WORKERS 16            /* handlers running at once (queries: fewer, see below) */
#define HTTP_POLL_THREADS_MAX 8
#define HTTP_PEM_MAX (1024 * 1024)
#define HTTP_RETRY_AFTER_S 1
#define HTTP_BUSY_SLACK 256        /* connections accepted beyond the limit only to say 503 */

struct http_server {
    const struct config *cfg;
    struct MHD_Daemon *daemon;
    unsigned port;
    char listen_host[256];        /* http_listen's host part, for the Host rule */
    bool loopback_only;           /* no token: refuse non-loopback peers and foreign Hosts */
    bool tls;
    char *tls_cert, *tls_key;     /* PEM text, alive while the daemon runs */
    void *zmq;
    void *publisher;
    pthread_mutex_t publish_lock;
    atomic_int queries;           /* queries running (query_max_concurrent) */
    atomic_llong open;            /* connections open (http_max_connections) */
    struct http_work *work;
    struct http_async *async;
    struct http_long *longs;
    struct http_watch *watch;
    struct http_events *events;   /* GET /events (http_events.c) */
};

enum http_conn_state { HTTP_RECEIVING, HTTP_RUNNING, HTTP_DONE };

/* Per-connection state (libmicrohttpd's socket context). */
struct http_sock {
    struct http_watch_entry *watch;
    bool refused;                 /* over http_max_connections: answered 503, closing */
};

/* Per-request state between the calls libmicrohttpd makes for one request. */
struct http_conn {
    struct http_work_item item;   /* first: the worker's item is the request */
    struct http_server *server;
    struct MHD_Connection *connection;
    enum http_conn_state state;
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
    int64_t started_ms;
    const char *cors_origin;      /* a listed Origin to answer with CORS headers */
    bool preflight;               /* an OPTIONS preflight of that origin */
    struct http_request req;
    struct http_reply reply;
};

/* ---- address ---- */

static bool http_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* Bind and listen ourselves (rather than inside libmicrohttpd) so that a
 * failure says exactly why ("Address already in use"). */
static int http_listen_socket(struct http_server *server, bool *ipv6, char err[ERROR_MAX])
{
    const char *listen_at = server->cfg->http_listen;
    char host[256], port[8];
    if (config_split_listen(listen_at, host, sizeof host, port, sizeof port, err) < 0)
        return -1;
    snprintf(server->listen_host, sizeof server->listen_host, "%s", host);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return error_set(err, "http %s: cannot resolve '%s': %s", listen_at, host,
                         gai_strerror(rc));
    int fd = -1;
    if (server->cfg->http_token[0] == '\0' && !http_is_loopback(ai->ai_addr)) {
        error_set(err, "http %s: refusing a non-loopback address without http_token "
                       "(set http_token or LAKEHOUSE_HTTP_TOKEN)", listen_at);
        goto fail;
    }
    *ipv6 = ai->ai_family == AF_INET6;
    /* Non-blocking: every polling thread accepts from it. */
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        error_set(err, "http %s: socket: %s", listen_at, strerror(errno));
        goto fail;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        error_set(err, "http %s: bind: %s", listen_at, strerror(errno));
        goto fail;
    }
    if (listen(fd, HTTP_BACKLOG) != 0) {
        error_set(err, "http %s: listen: %s", listen_at, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
        error_set(err, "http %s: getsockname: %s", listen_at, strerror(errno));
        goto fail;
    }
    server->port = ntohs(bound.ss_family == AF_INET6
                             ? ((struct sockaddr_in6 *)(void *)&bound)->sin6_port
                             : ((struct sockaddr_in *)(void *)&bound)->sin_port);
    freeaddrinfo(ai);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

/* ---- helpers for handlers ---- */

const char *http_request_arg(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

int http_request_fd(const struct http_request *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info != NULL ? info->connect_fd : -1;
}

void *http_server_zmq(struct http_server *server) { return server->zmq; }

struct http_events *http_server_events(struct http_server *server) { return server->events; }

void http_server_publish(struct http_server *server, const struct event *ev)
{
    char err[ERROR_MAX];
    pthread_mutex_lock(&server->publish_lock);
    int rc = server->publisher ? event_publish(server->publisher, ev, err) : 0;
    pthread_mutex_unlock(&server->publish_lock);
    if (rc < 0)
        log_warn("http publish_failed topic=%s reason=\"%s\"", event_topic_name(ev->topic), err);
}

bool http_server_query_enter(struct http_server *server)
{
    if (atomic_fetch_add(&server->queries, 1) < server->cfg->query_max_concurrent)
        return true;
    atomic_fetch_sub(&server->queries, 1);
    return false;
}

void http_server_query_leave(struct http_server *server) { atomic_fetch_sub(&server->queries, 1); }

/* ---- request handling ---- */

static enum MHD_Result http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_server *server = cls;
    (void)addrlen;
    if (!server->loopback_only || http_is_loopback(addr))
        return MHD_YES;
    log_warn("http refused_peer reason=\"not loopback and no http_token configured\"");
    return MHD_NO;
}

/* Constant-time comparison: the token must not leak through timing. */
static bool http_token_equal(const char *given, const char *token)
{
    size_t n = strlen(token);
    size_t m = strlen(given);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(token[i] ^ (i < m ? given[i] : 0));
    return diff == 0;
}

static bool http_authorized(struct http_server *server, struct MHD_Connection *conn,
                            const char *method, const char *url)
{
    const char *token = server->cfg->http_token;
    if (token[0] == '\0')
        return true;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/") == 0)
        return true; /* health stays open for probes */
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    return http_token_equal(auth + 7, token);
}

/* ---- streamed responses (http_internal.h) ---- */

struct http_stream_wake {
    pthread_mutex_t lock;
    struct MHD_Connection *connection;
    bool suspended;               /* the reader found nothing and suspended */
    bool pending;                 /* woken while not suspended: read again */
    struct http_stream stream;
};

void http_stream_wake(struct http_stream_wake *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->suspended) {
        w->suspended = false;
        MHD_resume_connection(w->connection);
    } else {
        w->pending = true;
    }
    pthread_mutex_unlock(&w->lock);
}

static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream_wake *w = cls;
    (void)pos;
    /* read outside the lock: the waker may hold its own lock while waking */
    long n = w->stream.read(w->stream.cls, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0) {
        pthread_mutex_lock(&w->lock);
        if (w->pending) {
            w->pending = false; /* something came meanwhile: asked again at once */
        } else {
            w->suspended = true;
            MHD_suspend_connection(w->connection);
        }
        pthread_mutex_unlock(&w->lock);
    }
    return (ssize_t)n;
}

static void http_stream_free(void *cls)
{
    struct http_stream_wake *w = cls;
    w->stream.done(w->stream.cls);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static struct MHD_Response *http_stream_response(struct MHD_Connection *conn,
                                                 struct http_reply *reply)
{
    struct http_stream_wake *w = calloc(1, sizeof *w);
    if (w == NULL) {
        reply->stream.done(reply->stream.cls);
        memset(&reply->stream, 0, sizeof reply->stream);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->connection = conn;
    w->stream = reply->stream;
    memset(&reply->stream, 0, sizeof reply->stream);
    w->stream.attach(w->stream.cls, w);
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, http_stream_read, w, http_stream_free);
    if (resp == NULL)
        http_stream_free(w);
    else
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return resp;
}

static enum MHD_Result http_send(struct MHD_Connection *conn, const struct http_conn *hc,
                                 struct http_reply *reply)
{
    char *buf = NULL;
    size_t len = 0;
    const char *type = "application/json";
    if (reply->json != NULL) {
        char *dump = json_dumps(reply->json, JSON_COMPACT | JSON_ENCODE_ANY);
        if (dump != NULL) {
            len = strlen(dump);
            buf = realloc(dump, len + 2);
            if (buf == NULL) {
                free(dump);
            } else {
                buf[len++] = '\n';
                buf[len] = '\0';
            }
        }
        if (buf == NULL) {
            reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            len = 0;
        }
    } else if (reply->text != NULL) {
        buf = reply->text;
        len = reply->text_len;
        reply->text = NULL;
        type = reply->content_type[0] ? reply->content_type : "text/plain; charset=utf-8";
    }
    struct MHD_Response *resp;
    if (reply->json == NULL && reply->text == NULL && reply->stream.read != NULL) {
        type = reply->content_type[0] ? reply->content_type : "text/event-stream";
        if ((resp = http_stream_response(conn, reply)) == NULL)
            return MHD_NO;
    } else if ((resp = buf ? MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE)
                           : MHD_create_response_from_buffer(0, (void *)"",
                                                             MHD_RESPMEM_PERSISTENT)) == NULL) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (reply->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", reply->disposition);
    if (reply->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (reply->retry_after > 0) {
        char s[16];
        snprintf(s, sizeof s, "%d", reply->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
    }
    if (reply->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    /* Browsers must take every answer as the type it says (never HTML). */
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (hc->cors_origin != NULL) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", hc->cors_origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "Retry-After, Content-Disposition");
    }
    if (hc->preflight) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                "GET, POST, PUT, DELETE");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Idempotency-Key, Last-Event-ID");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    enum MHD_Result rc = MHD_queue_response(conn, reply->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result http_finish(struct MHD_Connection *conn, const char *method,
                                   const char *url, struct http_conn *hc,
                                   struct http_reply *reply)
{
    if (reply->status == 0)
        http_reply_error(reply, 500, "internal error: %s %s produced no answer", method, url);
    log_info("http method=%s path=%s status=%u ms=%lld", method, url, reply->status,
             (long long)(timeutil_monotonic_ms() - hc->started_ms));
    enum MHD_Result rc = http_send(conn, hc, reply);
    http_reply_clear(reply);
    return rc;
}

/* Keep the body, up to the limit; beyond it remember only that it was too
 * large (the rest is read and dropped, then answered 413). */
static void http_append(struct http_conn *hc, const char *data, size_t size, size_t max)
{
    if (hc->too_large)
        return;
    if (hc->len + size > max) {
        hc->too_large = true;
        free(hc->body);
        hc->body = NULL;
        hc->len = hc->cap = 0;
        return;
    }
    if (hc->len + size + 1 > hc->cap) {
        size_t cap = hc->cap ? hc->cap : 4096;
        while (cap < hc->len + size + 1)
            cap *= 2;
        char *b = realloc(hc->body, cap);
        if (b == NULL) {
            hc->too_large = true; /* answered 413: no memory for it */
            free(hc->body);
            hc->body = NULL;
            hc->len = hc->cap = 0;
            return;
        }
        hc->body = b;
        hc->cap = cap;
    }
    memcpy(hc->body + hc->len, data, size);
    hc->len += size;
    hc->body[hc->len] = '\0';
}

/* Whether the request carries a body (announced by its headers). */
static bool http_has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl != NULL && strtoull(cl, NULL, 10) > 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* The checks made on the headers alone, before any body is read: true when
 * the request is refused (reply set). Browser safety first (http_guard.c),
 * then the token, then the announced body size. */
static bool http_screen(struct http_server *server, struct http_conn *hc, const char *method,
                        const char *url, struct http_reply *reply)
{
    struct MHD_Connection *conn = hc->connection;
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (server->loopback_only &&
        !http_guard_host_ok(host, server->listen_host, server->port, server->tls)) {
        http_reply_error(reply, MHD_HTTP_MISDIRECTED_REQUEST,
                         "Host '%.200s' is not this server: without http_token the API answers "
                         "only requests to %s, localhost, 127.0.0.1 or [::1] with port %u",
                         host, server->listen_host, server->port);
        return true;
    }
    if (origin != NULL) {
        if (http_guard_origin_listed(origin, server->cfg->http_cors_origins))
            hc->cors_origin = origin;
        else if (!http_guard_origin_own(origin, host, server->tls)) {
            http_reply_error(reply, MHD_HTTP_FORBIDDEN,
                             "Origin '%.200s' may not call this API (cross-origin requests are "
                             "allowed only from the origins in http_cors_origins)", origin);
            return true;
        }
        if (hc->cors_origin != NULL && strcmp(method, "OPTIONS") == 0 &&
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                        "Access-Control-Request-Method") != NULL) {
            hc->preflight = true;
            reply->status = MHD_HTTP_NO_CONTENT;
            return true;
        }
    }
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!http_guard_type_ok(url, type, http_has_body(conn))) {
        http_reply_error(reply, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                         "a request body must be sent as Content-Type: application/json%s "
                         "(got %s%.100s%s)",
                         strncmp(url, "/ingest/", 8) == 0 ? " (or application/x-ndjson for a batch)"
                                                          : "",
                         type ? "'" : "", type ? type : "no Content-Type", type ? "'" : "");
        return true;
    }
    if (!http_authorized(server, conn, method, url)) {
        http_reply_error(reply, MHD_HTTP_UNAUTHORIZED,
                         "missing or wrong bearer token (Authorization: Bearer <token>)");
        return true;
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t max = (size_t)server->cfg->http_body_max_bytes;
    if (cl != NULL && strtoull(cl, NULL, 10) > max) {
        http_reply_error(reply, MHD_HTTP_CONTENT_TOO_LARGE,
                         "request body of %s bytes is over the limit of %zu bytes "
                         "(http_body_max_bytes)", cl, max);
        return true;
    }
    return false;
}

static struct http_sock *http_sock_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? info->socket_context : NULL;
}

static struct http_watch_entry *http_watch_entry_of(struct MHD_Connection *conn)
{
    struct http_sock *sock = http_sock_of(conn);
    return sock != NULL ? sock->watch : NULL;
}

/* On the worker or async thread: the answer is ready, wake the connection. */
static void http_resume(void *arg)
{
    struct http_conn *hc = arg;
    hc->state = HTTP_DONE;
    MHD_resume_connection(hc->connection);
}

/* On a worker thread: run the handler; an ingest batch goes on to wait
 * for its ack on the async thread, a long operator call on its own
 * (http_long.c). */
static void http_run(struct http_work_item *item)
{
    struct http_conn *hc = (struct http_conn *)(void *)item;
    http_route_dispatch(&hc->req, &hc->reply);
    struct http_ingest_call *call = hc->reply.ingest;
    if (call != NULL && hc->reply.status == 0) {
        call->done = http_resume;
        call->done_arg = hc;
        if (http_async_submit(hc->server->async, call) == 0)
            return;
        call->rc = -1;
        error_set(call->err, "the server is stopping; the batch was not sent");
    }
    if (hc->reply.deferred.run != NULL && hc->reply.status == 0 &&
        http_long_submit(hc->server->longs, &hc->reply, http_resume, hc) == 0)
        return;
    http_resume(hc);
}

/* An ingest handler only checks the request and hands the batch to the
 * async thread (no disk, no waiting): it runs here, on the polling thread,
 * saving the hop through a worker for the most frequent request. */
static bool http_runs_inline(const char *method, const char *url)
{
    return strcmp(method, "POST") == 0 && strncmp(url, "/ingest/", 8) == 0;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    struct http_server *server = cls;
    (void)version;
    struct http_conn *hc = *con_cls;
    size_t max = (size_t)server->cfg->http_body_max_bytes;

    if (hc == NULL) {
        struct http_sock *sock = http_sock_of(conn);
        if (sock != NULL && sock->refused)
            return MHD_NO; /* already answered 503: never run it */
        /* First call: headers only. Refuse early what needs no body. */
        hc = calloc(1, sizeof *hc);
        if (hc == NULL)
            return MHD_NO;
        hc->started_ms = timeutil_monotonic_ms();
        hc->server = server;
        hc->connection = conn;
        *con_cls = hc;
        if (http_console_owns(conn, method, url))
            return http_console_answer(conn, method, url);
        struct http_reply reply;
        memset(&reply, 0, sizeof reply);
        if (http_screen(server, hc, method, url, &reply))
            return http_finish(conn, method, url, hc, &reply);
        return MHD_YES;
    }
    if (hc->state == HTTP_DONE) {
        if (hc->reply.ingest != NULL)
            http_ingest_finish(&hc->req, &hc->reply);
        return http_finish(conn, method, url, hc, &hc->reply);
    }
    if (hc->state == HTTP_RUNNING)
        return MHD_YES; /* not expected while suspended */
    if (*upload_data_size > 0) {
        http_append(hc, upload_data, *upload_data_size, max);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (hc->too_large) {
        struct http_reply reply;
        memset(&reply, 0, sizeof reply);
        http_reply_error(&reply, MHD_HTTP_CONTENT_TOO_LARGE,
                         "request body is over the limit of %zu bytes (http_body_max_bytes)",
                         max);
        return http_finish(conn, method, url, hc, &reply);
    }
    /* Whole request received: its deadline no longer runs. */
    http_watch_arm(server->watch, http_watch_entry_of(conn), false);
    hc->req = (struct http_request){
        .server = server,
        .cfg = server->cfg,
        .connection = conn,
        .method = method,
        .path = url,
        .body = hc->body ? hc->body : "",
        .body_len = hc->len,
    };
    hc->state = HTTP_RUNNING;
    hc->item.run = http_run;
    MHD_suspend_connection(conn);
    if (http_runs_inline(method, url)) {
        http_run(&hc->item);
    } else if (http_work_submit(server->work, &hc->item) < 0) {
        http_reply_error(&hc->reply, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is stopping");
        hc->reply.retry_after = HTTP_RETRY_AFTER_S;
        http_resume(hc);
    }
    return MHD_YES;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_server *server = cls;
    (void)toe;
    struct http_conn *hc = *con_cls;
    if (hc != NULL) {
        http_reply_clear(&hc->reply);
        free(hc->body);
        free(hc);
        *con_cls = NULL;
    }
    /* The next request on this connection has its own deadline. */
    http_watch_arm(server->watch, http_watch_entry_of(conn), true);
}

/* Over http_max_connections: answer 503 + Retry-After on the raw socket
 * (plain HTTP; with TLS the connection is only closed) and end it before
 * any request is read. libmicrohttpd itself would stop accepting instead,
 * leaving clients hanging in the listen backlog. */
static void http_refuse_busy(const struct http_server *server, int fd)
{
    static const char body[] =
        "{\"detail\":\"the server has http_max_connections connections open; retry later\"}\n";
    char busy[512];
    int len = snprintf(busy, sizeof busy,
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                       "X-Content-Type-Options: nosniff\r\nRetry-After: %d\r\n"
                       "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                       HTTP_RETRY_AFTER_S, sizeof body - 1, body);
    if (!server->tls && send(fd, busy, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("http busy_reply_failed reason=\"%s\"", strerror(errno));
    shutdown(fd, server->tls ? SHUT_RDWR : SHUT_WR);
}

static void http_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *server = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct http_sock *sock = calloc(1, sizeof *sock);
        *socket_context = sock;
        long long open = atomic_fetch_add(&server->open, 1);
        if (sock == NULL || info == NULL)
            return;
        if (open >= server->cfg->http_max_connections) {
            sock->refused = true;
            http_refuse_busy(server, info->connect_fd);
            return;
        }
        sock->watch = http_watch_add(server->watch, info->connect_fd);
    } else {
        struct http_sock *sock = *socket_context;
        atomic_fetch_sub(&server->open, 1);
        if (sock != NULL) {
            http_watch_remove(server->watch, sock->watch);
            free(sock);
        }
        *socket_context = NULL;
    }
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[ERROR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http libmicrohttpd=\"%s\"", msg);
}

/* ---- lifecycle ---- */

/* Thousands of connections, each with its socket to ingest, need more
 * descriptors than the usual soft limit of 1024: take the hard limit. */
static void http_raise_fd_limit(const struct config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* a connection, its ingest socket and that socket's pipe */
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)cfg->http_max_connections * 3 + 256 > rl.rlim_cur)
        log_warn("http fd_limit=%llu http_max_connections=%lld reason=\"the descriptor limit "
                 "(ulimit -n, LimitNOFILE=) is below what the connection limit may need "
                 "(about 3 per connection)\"",
                 (unsigned long long)rl.rlim_cur, (long long)cfg->http_max_connections);
}

static int http_tls_load(struct http_server *server, char err[ERROR_MAX])
{
    const struct config *cfg = server->cfg;
    if (cfg->http_tls_cert_file[0] == '\0' && cfg->http_tls_key_file[0] == '\0')
        return 0;
    size_t len;
    if (fsutil_read_file(cfg->http_tls_cert_file, HTTP_PEM_MAX, &server->tls_cert, &len, err) < 0)
        return error_prefix(err, "http_tls_cert_file");
    if (fsutil_read_file(cfg->http_tls_key_file, HTTP_PEM_MAX, &server->tls_key, &len, err) < 0)
        return error_prefix(err, "http_tls_key_file");
    server->tls = true;
    return 0;
}

static void http_server_free(struct http_server *server)
{
    http_events_stop(server->events); /* ends the streams */
    http_work_stop(&server->work);
    http_async_stop(&server->async);
    http_long_stop(&server->longs);
    if (server->daemon != NULL)
        MHD_stop_daemon(server->daemon);
    http_watch_stop(&server->watch);
    http_events_free(&server->events);
    if (server->publisher)
        zmq_close(server->publisher);
    if (server->zmq)
        zmq_ctx_term(server->zmq);
    pthread_mutex_destroy(&server->publish_lock);
    free(server->tls_cert);
    free(server->tls_key);
    free(server);
}

struct http_server *http_server_start(const struct config *cfg, char err[ERROR_MAX])
{
    struct http_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        error_set(err, "http: out of memory");
        return NULL;
    }
    server->cfg = cfg;
    server->loopback_only = cfg->http_token[0] == '\0';
    atomic_init(&server->queries, 0);
    atomic_init(&server->open, 0);
    pthread_mutex_init(&server->publish_lock, NULL);
    http_raise_fd_limit(cfg);
    query_memory_limit(cfg->query_max_concurrent, cfg->query_max_memory_mib);
    int fd = -1;
    if (http_tls_load(server, err) < 0)
        goto fail;
    server->zmq = zmq_ctx_new();
    if (server->zmq == NULL) {
        error_set(err, "http: zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* One socket to ingest per waiting batch and as many kept for reuse
     * (http_async.c), beyond the default 1023, within libzmq's limit. */
    int64_t sockets = 2 * cfg->http_max_connections + 64;
    int socket_limit = zmq_ctx_get(server->zmq, ZMQ_SOCKET_LIMIT);
    if (socket_limit > 0 && sockets > socket_limit)
        sockets = socket_limit;
    zmq_ctx_set(server->zmq, ZMQ_MAX_SOCKETS, (int)sockets);
    /* Connected now, long before the first event, so that the broker's
     * XSUB has seen it (a freshly connected PUB drops its first messages). */
    server->publisher = event_publisher_open(server->zmq, cfg, err);
    if (server->publisher == NULL) {
        error_prefix(err, "http");
        goto fail;
    }
    if ((server->watch = http_watch_start(cfg->http_request_timeout_ms, err)) == NULL ||
        (server->work = http_work_start(HTTP_WORKERS, err)) == NULL ||
        (server->async = http_async_start(server->zmq, cfg, (size_t)cfg->http_max_connections,
                                          err)) == NULL ||
        (server->events = http_events_start(server->zmq, cfg, err)) == NULL ||
        (server->longs = http_long_start(err)) == NULL)
        goto fail;
    bool ipv6 = false;
    fd = http_listen_socket(server, &ipv6, err);
    if (fd < 0)
        goto fail;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned pool = cpus < 2 ? 2 : cpus > HTTP_POLL_THREADS_MAX ? HTTP_POLL_THREADS_MAX
                                                                : (unsigned)cpus;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0) |
                     (server->tls ? MHD_USE_TLS : 0);
    /* The logger comes first: libmicrohttpd warns about any option it reads
     * before it has one. */
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_mhd_log, server},
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, pool, NULL},
        /* above http_max_connections: the excess is accepted to be answered 503 */
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)(cfg->http_max_connections + HTTP_BUSY_SLACK),
         NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->http_max_connections_per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)http_completed, server},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_notify, server},
        {server->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, server->tls_cert},
        {server->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, server->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    server->daemon = MHD_start_daemon(flags, 0, http_accept, server, http_handle, server,
                                      MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    if (server->daemon == NULL) {
        error_set(err, "http %s: libmicrohttpd could not start (see the log above)",
                  cfg->http_listen);
        goto fail;
    }
    fd = -1; /* the daemon's now */
    log_info("http listening address=%s port=%u tls=%s auth=%s", cfg->http_listen, server->port,
             server->tls ? "on" : "off",
             server->loopback_only ? "none (no token: loopback clients only, for development)"
                                   : "bearer");
    if (!server->loopback_only && !server->tls) {
        struct sockaddr_storage bound;
        socklen_t len = sizeof bound;
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(server->daemon,
                                                             MHD_DAEMON_INFO_LISTEN_FD);
        if (di != NULL && getsockname(di->listen_fd, (struct sockaddr *)&bound, &len) == 0 &&
            !http_is_loopback((struct sockaddr *)&bound))
            log_warn("http token_in_clear address=%s reason=\"http_listen is not loopback and "
                     "TLS is off: the bearer token travels in clear (set http_tls_cert_file "
                     "and http_tls_key_file)\"", cfg->http_listen);
    }
    return server;
fail:
    if (fd >= 0)
        close(fd);
    http_server_free(server);
    return NULL;
}

unsigned http_server_port(const struct http_server *server) { return server->port; }

void http_server_stop(struct http_server **server)
{
    if (server == NULL || *server == NULL)
        return;
    /* Workers finish the handlers they hold, the async thread answers the
     * batches still waiting (503, re-send): every suspended connection is
     * resumed before the daemon stops. */
    http_server_free(*server);
    log_info("http stopped");
    *server = NULL;
}

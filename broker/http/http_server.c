/* http_server.c - the HTTP server of the broker (http.h): listen address,
 * libmicrohttpd daemon, per-connection body buffer with its limit, bearer
 * token check, one log line per request, and sending the handler's reply.
 *
 * Threads: libmicrohttpd runs one thread per connection (bounded by
 * HTTP_CONNECTIONS_MAX), so a slow request (a query near its time limit, a
 * batch waiting for ingest's fdatasync) never holds up the others. Handlers
 * share only the read-only config, the thread-safe ZeroMQ context and the
 * publisher socket behind publish_lock. */
#include "http.h"
#include "http_internal.h"
#include "http_console.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include <zmq.h>

#include "log.h"
#include "timeutil.h"

#define HTTP_BACKLOG 128
#define HTTP_IDLE_TIMEOUT_S 60

struct http_server {
    const struct config *cfg;
    struct MHD_Daemon *daemon;
    unsigned port;
    bool loopback_only;           /* no token: refuse non-loopback peers */
    void *zmq;
    void *publisher;
    pthread_mutex_t publish_lock;
    struct http_events *events;   /* GET /events (http_events.c) */
};

/* Per-connection state between the calls libmicrohttpd makes for one request. */
struct http_conn {
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
    int64_t started_ms;
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
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
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

static enum MHD_Result http_send(struct MHD_Connection *conn, struct http_reply *reply)
{
    if (reply->response != NULL) { /* a stream, built by its handler */
        struct MHD_Response *stream = reply->response;
        reply->response = NULL;
        enum MHD_Result queued = MHD_queue_response(conn, reply->status, stream);
        MHD_destroy_response(stream);
        return queued;
    }
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
    struct MHD_Response *resp =
        buf ? MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE)
            : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
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
    enum MHD_Result rc = http_send(conn, reply);
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

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    struct http_server *server = cls;
    (void)version;
    struct http_conn *hc = *con_cls;
    struct http_reply reply;
    memset(&reply, 0, sizeof reply);
    size_t max = (size_t)server->cfg->http_body_max_bytes;

    if (hc == NULL) {
        /* First call: headers only. Refuse early what needs no body. */
        hc = calloc(1, sizeof *hc);
        if (hc == NULL)
            return MHD_NO;
        hc->started_ms = timeutil_monotonic_ms();
        *con_cls = hc;
        if (http_console_owns(conn, method, url))
            return http_console_answer(conn, method, url);
        if (!http_authorized(server, conn, method, url)) {
            http_reply_error(&reply, MHD_HTTP_UNAUTHORIZED,
                             "missing or wrong bearer token (Authorization: Bearer <token>)");
            return http_finish(conn, method, url, hc, &reply);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > max) {
            http_reply_error(&reply, MHD_HTTP_CONTENT_TOO_LARGE,
                             "request body of %s bytes is over the limit of %zu bytes "
                             "(http_body_max_bytes)", cl, max);
            return http_finish(conn, method, url, hc, &reply);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        http_append(hc, upload_data, *upload_data_size, max);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (hc->too_large) {
        http_reply_error(&reply, MHD_HTTP_CONTENT_TOO_LARGE,
                         "request body is over the limit of %zu bytes (http_body_max_bytes)",
                         max);
        return http_finish(conn, method, url, hc, &reply);
    }
    struct http_request req = {
        .server = server,
        .cfg = server->cfg,
        .connection = conn,
        .method = method,
        .path = url,
        .body = hc->body ? hc->body : "",
        .body_len = hc->len,
    };
    http_route_dispatch(&req, &reply);
    return http_finish(conn, method, url, hc, &reply);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct http_conn *hc = *con_cls;
    if (hc != NULL) {
        free(hc->body);
        free(hc);
        *con_cls = NULL;
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

struct http_server *http_server_start(const struct config *cfg, char err[ERROR_MAX])
{
    struct http_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        error_set(err, "http: out of memory");
        return NULL;
    }
    server->cfg = cfg;
    server->loopback_only = cfg->http_token[0] == '\0';
    pthread_mutex_init(&server->publish_lock, NULL);
    int fd = -1;
    server->zmq = zmq_ctx_new();
    if (server->zmq == NULL) {
        error_set(err, "http: zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* Connected now, long before the first event, so that the broker's
     * XSUB has seen it (a freshly connected PUB drops its first messages). */
    server->publisher = event_publisher_open(server->zmq, cfg, err);
    if (server->publisher == NULL) {
        error_prefix(err, "http");
        goto fail;
    }
    server->events = http_events_start(server->zmq, cfg, err);
    if (server->events == NULL)
        goto fail;
    bool ipv6 = false;
    fd = http_listen_socket(server, &ipv6, err);
    if (fd < 0)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    server->daemon = MHD_start_daemon(
        flags, 0, http_accept, server, http_handle, server, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, server, MHD_OPTION_EXTERNAL_LOGGER,
        http_mhd_log, server, MHD_OPTION_END);
    if (server->daemon == NULL) {
        error_set(err, "http %s: libmicrohttpd could not start (see the log above)",
                  cfg->http_listen);
        goto fail;
    }
    log_info("http listening address=%s port=%u auth=%s", cfg->http_listen, server->port,
             server->loopback_only ? "none(loopback only)" : "bearer");
    return server;
fail:
    if (fd >= 0)
        close(fd);
    http_events_free(&server->events);
    if (server->publisher)
        zmq_close(server->publisher);
    if (server->zmq)
        zmq_ctx_term(server->zmq);
    pthread_mutex_destroy(&server->publish_lock);
    free(server);
    return NULL;
}

unsigned http_server_port(const struct http_server *server) { return server->port; }

void http_server_stop(struct http_server **server)
{
    if (server == NULL || *server == NULL)
        return;
    struct http_server *s = *server;
    http_events_stop(s->events); /* ends the streams, so that their threads return */
    /* Joins every connection thread: no handler runs after this. */
    MHD_stop_daemon(s->daemon);
    http_events_free(&s->events);
    if (s->publisher)
        zmq_close(s->publisher);
    zmq_ctx_term(s->zmq);
    pthread_mutex_destroy(&s->publish_lock);
    log_info("http stopped");
    free(s);
    *server = NULL;
}

/* http.h - the broker's HTTP API: schema registry, ingestion,
 * query, transform jobs, health. The only header of broker/http/ that the
 * rest of the broker includes.
 *
 * The server runs in libmicrohttpd's own threads (one internal polling
 * thread plus one thread per connection, at most HTTP_CONNECTIONS_MAX).
 * It shares nothing mutable with the broker's main loop: each request opens
 * its own catalog connection, query connection and ZeroMQ socket; the one
 * long-lived socket (the PUB socket for schema.changed / job.changed) is
 * owned by the server and used under its mutex. The server owns its own
 * ZeroMQ context, so the broker's context and sockets are never touched.
 *
 * Listening: cfg->http_listen ("host:port", "[v6]:port"; port 0 picks a free
 * port, see http_server_port). Without cfg->http_token the address must be
 * loopback (else start fails) and non-loopback peers are refused; with a
 * token every route but GET / needs "Authorization: Bearer <token>". */
#ifndef LAKEHOUSE_HTTP_H
#define LAKEHOUSE_HTTP_H

#include "config.h"
#include "error.h"

#define HTTP_CONNECTIONS_MAX 64 /* concurrent connections (threads); more wait in the backlog */

struct http_server;

/* Bind and start serving. cfg must stay valid (and unchanged) until
 * http_server_stop. Returns the server (caller owns it) or NULL with err,
 * e.g. "http 0.0.0.0:8080: refusing a non-loopback address without http_token"
 * or "http 127.0.0.1:8080: bind: Address already in use". */
struct http_server *http_server_start(const struct config *cfg, char err[ERROR_MAX]);

/* The TCP port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *server);

/* Stop accepting, wait for the running requests to finish, free, NULL *server.
 * NULL-safe. */
void http_server_stop(struct http_server **server);

#endif

/* http.h - the broker's HTTP API: schema registry, ingestion,
 * query, transform jobs, health. The only header of broker/http/ that the
 * rest of the broker includes.
 *
 * The server runs in its own threads: libmicrohttpd's polling threads
 * (epoll, at most http_max_connections connections), worker threads for
 * the handlers and one thread for the batches waiting for ingest.
 * It shares nothing mutable with the broker's main loop: each request opens
 * its own catalog connection, query connection and ZeroMQ socket; the one
 * long-lived socket (the PUB socket for schema.changed / job.changed) is
 * owned by the server and used under its mutex. The server owns its own
 * ZeroMQ context, so the broker's context and sockets are never touched.
 *
 * Listening: cfg->http_listen ("host:port", "[v6]:port"; port 0 picks a free
 * port, see http_server_port). Without cfg->http_token the address must be
 * loopback (else start fails), non-loopback peers are refused and so is a
 * Host header that does not name this server; with a token every route but
 * GET / needs "Authorization: Bearer <token>". The token is cfg->http_token
 * (config_read_token_file fills it from http_token_file before start). */
#ifndef LAKEHOUSE_HTTP_H
#define LAKEHOUSE_HTTP_H

#include "config.h"
#include "error.h"

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

/* http_console.h - the web console's static files (http_console.c), served
 * by the HTTP server before authentication: they hold no data. */
#ifndef LAKEHOUSE_HTTP_CONSOLE_H
#define LAKEHOUSE_HTTP_CONSOLE_H

#include <stdbool.h>
#include <microhttpd.h>

/* Whether the request is the console's: /console, /console/..., /favicon.ico,
 * or GET / from a browser (Accept lists text/html). */
bool http_console_owns(struct MHD_Connection *conn, const char *method, const char *url);

/* Queue the answer: the file (200, or 304 when If-None-Match has its ETag),
 * a redirect to /console/, 404 or 405. */
enum MHD_Result http_console_answer(struct MHD_Connection *conn, const char *method,
                                    const char *url);

#endif

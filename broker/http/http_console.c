/* http_console.c - serves the web console: the files embedded at build time
 * (http_console_assets.h) under /console/, with ETag/304, gzip when the
 * client accepts it, revalidation on every load (no-cache, so a new broker
 * binary is a new console at once), and a strict Content-Security-Policy.
 * The files need no token: they hold no data; the page asks for the token
 * and sends it with each API call. */
#include "http_console.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <microhttpd.h>

#include "http_console_assets.h"
#include "log.h"

/* Scripts only from this server and never eval; styles may be set inline
 * because the chart libraries put <style> and style="" in the SVG they draw. */
#define HTTP_CONSOLE_CSP                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "           \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "      \
    "form-action 'none'; frame-ancestors 'none'"

static const struct console_asset *http_console_find(const char *path)
{
    for (unsigned i = 0; i < console_asset_count; i++)
        if (strcmp(console_assets[i].path, path) == 0)
            return &console_assets[i];
    return NULL;
}

/* Whether a comma-separated header value lists token (e.g. "gzip" in
 * "deflate, gzip;q=1.0"); a q=0 entry does not count. */
static bool http_console_lists(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        if (strncasecmp(p, token, n) == 0 && strchr(" \t,;", p[n] != '\0' ? p[n] : ',')) {
            const char *end = strchr(p, ',');
            const char *q = strstr(p, "q=0");
            bool zero = q != NULL && (end == NULL || q < end) &&
                        strspn(q + 3, ".0") == strcspn(q + 3, ",");
            return !zero;
        }
        p = strchr(p, ',');
    }
    return false;
}

static enum MHD_Result http_console_queue(struct MHD_Connection *conn, unsigned status,
                                          struct MHD_Response *resp, const char *method,
                                          const char *url)
{
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Security-Policy", HTTP_CONSOLE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    log_info("http method=%s path=%s status=%u", method, url, status);
    return rc;
}

static enum MHD_Result http_console_redirect(struct MHD_Connection *conn, const char *method,
                                             const char *url)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/console/");
    return http_console_queue(conn, MHD_HTTP_FOUND, resp, method, url);
}

static enum MHD_Result http_console_plain(struct MHD_Connection *conn, unsigned status,
                                          const char *text, const char *method,
                                          const char *url)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    return http_console_queue(conn, status, resp, method, url);
}

bool http_console_owns(struct MHD_Connection *conn, const char *method, const char *url)
{
    if (strcmp(url, "/console") == 0 || strncmp(url, "/console/", 9) == 0 ||
        strcmp(url, "/favicon.ico") == 0)
        return true;
    /* A browser opening the server's root gets the console; JSON clients
     * (curl's "Accept: any", application/json) keep the health answer. */
    if (strcmp(url, "/") == 0 && strcmp(method, "GET") == 0) {
        const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
        return accept != NULL && http_console_lists(accept, "text/html");
    }
    return false;
}

enum MHD_Result http_console_answer(struct MHD_Connection *conn, const char *method,
                                    const char *url)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return http_console_plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "the console is read with GET\n", method, url);
    if (strcmp(url, "/") == 0 || strcmp(url, "/console") == 0)
        return http_console_redirect(conn, method, url);
    const char *path = url;
    if (strcmp(url, "/console/") == 0)
        path = "/console/index.html";
    else if (strcmp(url, "/favicon.ico") == 0)
        path = "/console/favicon.svg";
    const struct console_asset *asset = http_console_find(path);
    if (asset == NULL)
        return http_console_plain(conn, MHD_HTTP_NOT_FOUND, "no such console file\n", method,
                                  url);
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    bool unchanged = inm != NULL && strstr(inm, asset->etag) != NULL;
    const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    bool gzip = ae != NULL && http_console_lists(ae, "gzip");
    const unsigned char *data = gzip ? asset->gz : asset->data;
    size_t len = (size_t)((gzip ? asset->gz_end : asset->data_end) - data);
    struct MHD_Response *resp =
        unchanged ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
                  : MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, asset->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (!unchanged) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, asset->content_type);
        if (gzip)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    }
    return http_console_queue(conn, unchanged ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp,
                              method, url);
}

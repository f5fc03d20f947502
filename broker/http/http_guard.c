/* http_guard.c - the browser-safety rules of the HTTP API (http_internal.h):
 * which Host a token-less server answers, which Origin may call it, which
 * request body types it takes. Pure functions of header values, so that
 * the rules are unit-tested apart from the server.
 *
 * Why: without a token the API trusts every local process, so a web page
 * must not reach it through the operator's browser. DNS rebinding gives the
 * page a foreign Host (refused); a cross-site request carries a foreign
 * Origin (refused unless listed in http_cors_origins); and a form or
 * text/plain POST, which a browser sends without asking first, has a body
 * type other than JSON (refused 415). */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether host equals name, optionally followed by ":port" (required unless
 * the port is the scheme's default). */
static bool http_guard_host_is(const char *host, const char *name, unsigned port,
                               unsigned default_port)
{
    size_t n = strlen(name);
    if (strncasecmp(host, name, n) != 0)
        return false;
    const char *rest = host + n;
    if (*rest == '\0')
        return port == default_port;
    if (*rest != ':' || rest[1] == '\0' || strspn(rest + 1, "0123456789") != strlen(rest + 1))
        return false;
    return strtoul(rest + 1, NULL, 10) == port;
}

bool http_guard_host_ok(const char *host, const char *listen_host, unsigned port, bool tls)
{
    if (host == NULL)
        return true; /* HTTP/1.0 without Host: no browser sends that */
    unsigned def = tls ? 443 : 80;
    char bracketed[300];
    const char *listen_name = listen_host;
    if (strchr(listen_host, ':') != NULL) { /* an IPv6 literal is written [addr] in Host */
        snprintf(bracketed, sizeof bracketed, "[%s]", listen_host);
        listen_name = bracketed;
    }
    return http_guard_host_is(host, listen_name, port, def) ||
           http_guard_host_is(host, "localhost", port, def) ||
           http_guard_host_is(host, "127.0.0.1", port, def) ||
           http_guard_host_is(host, "[::1]", port, def);
}

bool http_guard_origin_listed(const char *origin, const char *list)
{
    size_t n = strlen(origin);
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, " ,\t");
        size_t len = strcspn(p, " ,\t");
        /* an entry may end in '/', which browsers never send */
        size_t cmp = len > 0 && p[len - 1] == '/' ? len - 1 : len;
        if (len > 0 && cmp == n && strncasecmp(p, origin, n) == 0)
            return true;
        p += len;
    }
    return false;
}

bool http_guard_origin_own(const char *origin, const char *host, bool tls)
{
    if (host == NULL)
        return false;
    const char *scheme = tls ? "https://" : "http://";
    size_t s = strlen(scheme);
    size_t n = strlen(origin);
    return n > s && strncasecmp(origin, scheme, s) == 0 && strcasecmp(origin + s, host) == 0;
}

/* The media type without parameters, lower-case, in out. */
static void http_guard_media_type(const char *content_type, char *out, size_t size)
{
    const char *p = content_type + strspn(content_type, " \t");
    size_t len = strcspn(p, "; \t");
    if (len >= size)
        len = size - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    out[len] = '\0';
}

bool http_guard_type_ok(const char *path, const char *content_type, bool has_body)
{
    if (content_type == NULL)
        return !has_body;
    char type[64];
    http_guard_media_type(content_type, type, sizeof type);
    if (strcmp(type, "application/json") == 0)
        return true;
    size_t n = strlen(path);
    if (strcmp(type, "application/x-ndjson") == 0)
        return strncmp(path, "/ingest/", 8) == 0 && n > 6 && strcmp(path + n - 6, "/batch") == 0;
    if (strcmp(type, "application/yaml") == 0) /* schemas and concept files */
        return strncmp(path, "/endpoints", 10) == 0 || strncmp(path, "/models/", 8) == 0;
    return false;
}

/* s3.c - see s3.h. libcurl signs each request (CURLOPT_AWS_SIGV4); the
 * payload is sent as UNSIGNED-PAYLOAD, which S3 accepts and which spares
 * hashing every body twice. Query strings are built already encoded and in
 * sorted order, as the SigV4 canonical request needs them. */
#include "s3.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include "fsutil.h"
#include "strbuf.h"

#define S3_PROBE_TIMEOUT_MS 3000L
#define S3_CONNECT_TIMEOUT_MS 5000L
#define S3_CREDENTIALS_MAX (64 * 1024)

struct s3_client {
    CURL *curl;
    char *scheme_host;  /* "http://host:port" (virtual-hosted: with "<bucket>.") */
    char *base;         /* scheme_host, plus "/<bucket>" when path-style */
    char *bucket;
    char *sigv4;        /* "aws:amz:<region>:s3" */
    char *userpwd;      /* "<key>:<secret>" - never printed */
    long timeout_ms;
    int list_page_size;
};

const char *s3_status_name(enum s3_status st)
{
    switch (st) {
    case S3_OK: return "ok";
    case S3_AUTH: return "auth";
    case S3_NOT_FOUND: return "not found";
    case S3_EXISTS: return "exists";
    case S3_UNREACHABLE: return "unreachable";
    case S3_OTHER: break;
    }
    return "other";
}

static int s3_global_ready;

struct s3_client *s3_client_new(const struct s3_settings *s, char err[ERROR_MAX])
{
    if (s->endpoint == NULL || s->endpoint[0] == '\0') {
        error_set(err, "s3: no endpoint");
        return NULL;
    }
    if (s->bucket == NULL || s->bucket[0] == '\0') {
        error_set(err, "s3 %.200s: no bucket", s->endpoint);
        return NULL;
    }
    const char *sep = strstr(s->endpoint, "://");
    if (sep == NULL || (strncmp(s->endpoint, "http://", 7) != 0 &&
                        strncmp(s->endpoint, "https://", 8) != 0)) {
        error_set(err, "s3_endpoint '%.200s': must start with http:// or https://", s->endpoint);
        return NULL;
    }
    if (!s3_global_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            error_set(err, "s3: libcurl did not initialise");
            return NULL;
        }
        s3_global_ready = 1;
    }
    struct s3_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        error_set(err, "s3: out of memory");
        return NULL;
    }
    size_t n = strlen(s->endpoint);
    while (n > 0 && s->endpoint[n - 1] == '/')
        n--;
    const char *host = sep + 3;
    int scheme_len = (int)(host - s->endpoint);
    int ok;
    if (s->path_style) {
        ok = asprintf(&c->scheme_host, "%.*s", (int)n, s->endpoint) >= 0 &&
             asprintf(&c->base, "%s/%s", c->scheme_host, s->bucket) >= 0;
    } else {
        ok = asprintf(&c->scheme_host, "%.*s%s.%.*s", scheme_len, s->endpoint, s->bucket,
                      (int)(n - (size_t)scheme_len), host) >= 0 &&
             (c->base = strdup(c->scheme_host)) != NULL;
    }
    const char *region = s->region != NULL && s->region[0] != '\0' ? s->region : "us-east-1";
    ok = ok && (c->bucket = strdup(s->bucket)) != NULL &&
         asprintf(&c->sigv4, "aws:amz:%s:s3", region) >= 0 &&
         asprintf(&c->userpwd, "%s:%s", s->access_key ? s->access_key : "",
                  s->secret_key ? s->secret_key : "") >= 0 &&
         (c->curl = curl_easy_init()) != NULL;
    if (!ok) {
        error_set(err, "s3: out of memory");
        s3_client_free(&c);
        return NULL;
    }
    c->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : 30000;
    c->list_page_size = s->list_page_size;
    return c;
}

void s3_client_free(struct s3_client **cp)
{
    struct s3_client *c = *cp;
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    if (c->userpwd != NULL) {
        memset(c->userpwd, 0, strlen(c->userpwd));
        free(c->userpwd);
    }
    free(c->scheme_host);
    free(c->base);
    free(c->bucket);
    free(c->sigv4);
    free(c);
    *cp = NULL;
}

/* URI-encode as SigV4 wants: unreserved characters kept, '/' kept when
 * keep_slash (object keys), everything else %XX in upper case. */
static void s3_encode(struct strbuf *b, const char *s, bool keep_slash)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/'))
            strbuf_addf(b, "%c", *p);
        else
            strbuf_addf(b, "%%%02X", *p);
    }
}

struct s3_request {
    const char *method;
    const char *key;     /* NULL: the bucket itself */
    const char *query;   /* encoded, sorted; NULL: none */
    const void *body;    /* PUT */
    size_t body_len;
    bool exclusive;
    bool probe;          /* short timeout */
    struct strbuf *out; /* response body (NULL: a scratch buffer) */
    long status;
    int64_t length;      /* HEAD: Content-Length */
};

struct s3_upload {
    const char *p;
    size_t left;
};

static size_t s3_read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct s3_upload *u = arg;
    size_t n = size * nitems < u->left ? size * nitems : u->left;
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static size_t s3_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct strbuf *b = arg;
    strbuf_append(b, data, size * nmemb);
    return b->failed ? 0 : size * nmemb;
}

/* The <Code> of an S3 error document, or "". */
static void s3_error_code(const struct strbuf *body, char *code, size_t size)
{
    code[0] = '\0';
    if (body->len == 0)
        return;
    const char *start = memmem(body->s, body->len, "<Code>", 6);
    if (start == NULL)
        return;
    start += 6;
    const char *end = memmem(start, body->len - (size_t)(start - (const char *)body->s),
                             "</Code>", 7);
    if (end != NULL)
        snprintf(code, size, "%.*s", (int)(end - start), start);
}

static enum s3_status s3_perform(struct s3_client *c, struct s3_request *r, char err[ERROR_MAX])
{
    struct strbuf url = {0};
    strbuf_addf(&url, "%s", c->base);
    if (r->key != NULL) {
        strbuf_addf(&url, "/");
        s3_encode(&url, r->key, true);
    } else if (!c->base[0] || c->base[strlen(c->base) - 1] != '/') {
        strbuf_addf(&url, "/");
    }
    if (r->query != NULL)
        strbuf_addf(&url, "?%s", r->query);
    if (url.failed) {
        strbuf_free(&url);
        return error_set(err, "s3: out of memory"), S3_OTHER;
    }
    struct strbuf scratch = {0};
    struct strbuf *out = r->out != NULL ? r->out : &scratch;
    size_t out_start = out->len;
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url.s);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, c->userpwd);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     r->probe ? S3_PROBE_TIMEOUT_MS : S3_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->probe ? S3_PROBE_TIMEOUT_MS : c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    struct curl_slist *headers = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (r->exclusive)
        headers = curl_slist_append(headers, "If-None-Match: *");
    /* No "Expect:" override: curl 7.88 signs even a removed header, and the
     * server then computes another signature. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    struct s3_upload up = {r->body, r->body_len};
    if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    strbuf_free(&url);
    char where[S3_KEY_MAX + 300];
    snprintf(where, sizeof where, "s3 %s s3://%s/%s", r->method, c->bucket,
             r->key != NULL ? r->key : "");
    enum s3_status st = S3_OK;
    if (rc != CURLE_OK) {
        bool unreachable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
                           rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
                           rc == CURLE_SSL_CONNECT_ERROR;
        error_set(err, "%.1100s: %s", where, curl_easy_strerror(rc));
        st = unreachable ? S3_UNREACHABLE : S3_OTHER;
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status >= 200 && r->status < 300) {
        curl_off_t len = -1;
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        r->length = len;
        if (out->failed) {
            error_set(err, "%.1100s: out of memory", where);
            st = S3_OTHER;
        }
        goto done;
    }
    char code[128];
    struct strbuf answer = {out->s + out_start, out->len - out_start, 0, false};
    s3_error_code(&answer, code, sizeof code);
    out->len = out_start;
    if (r->status == 401 || r->status == 403)
        st = S3_AUTH;
    else if (r->status == 404)
        st = S3_NOT_FOUND;
    else if (r->exclusive && (r->status == 412 || r->status == 409))
        st = S3_EXISTS;
    else
        st = S3_OTHER;
    error_set(err, "%.1100s: HTTP %ld%s%s (%s)", where, r->status, code[0] ? " " : "", code,
              st == S3_AUTH     ? "credentials refused"
              : st == S3_EXISTS ? "the key exists already"
              : st == S3_NOT_FOUND ? "not found"
                                   : "refused");
done:
    strbuf_free(&scratch);
    return st;
}

enum s3_status s3_put(struct s3_client *c, const char *key, const void *data, size_t len,
                      bool exclusive, char err[ERROR_MAX])
{
    struct s3_request r = {.method = "PUT", .key = key, .body = data, .body_len = len,
                           .exclusive = exclusive};
    return s3_perform(c, &r, err);
}

enum s3_status s3_get(struct s3_client *c, const char *key, struct strbuf *out,
                      char err[ERROR_MAX])
{
    struct s3_request r = {.method = "GET", .key = key, .out = out};
    return s3_perform(c, &r, err);
}

enum s3_status s3_head(struct s3_client *c, const char *key, int64_t *size, char err[ERROR_MAX])
{
    struct s3_request r = {.method = "HEAD", .key = key};
    enum s3_status st = s3_perform(c, &r, err);
    if (st == S3_OK && size != NULL)
        *size = r.length;
    return st;
}

enum s3_status s3_delete(struct s3_client *c, const char *key, char err[ERROR_MAX])
{
    struct s3_request r = {.method = "DELETE", .key = key};
    return s3_perform(c, &r, err);
}

enum s3_status s3_head_bucket(struct s3_client *c, char err[ERROR_MAX])
{
    struct s3_request r = {.method = "HEAD", .probe = true};
    return s3_perform(c, &r, err);
}

enum s3_status s3_create_bucket(struct s3_client *c, char err[ERROR_MAX])
{
    struct s3_request r = {.method = "PUT"};
    return s3_perform(c, &r, err);
}

static const char *s3_xml_text(xmlNode *n, const char *name, xmlChar **owned)
{
    for (xmlNode *k = n->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE && strcmp((const char *)k->name, name) == 0) {
            *owned = xmlNodeGetContent(k);
            return *owned != NULL ? (const char *)*owned : "";
        }
    }
    *owned = NULL;
    return NULL;
}

/* One page of ListObjectsV2: calls fn per <Contents>; *next gets the
 * continuation token (NULL when the listing is complete). */
static enum s3_status s3_list_page(struct s3_client *c, const struct strbuf *xml, s3_list_fn fn,
                                   void *arg, char **next, bool *stopped, char err[ERROR_MAX])
{
    *next = NULL;
    xmlDoc *doc = xmlReadMemory((const char *)xml->s, (int)xml->len, "list.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL || strcmp((const char *)root->name, "ListBucketResult") != 0) {
        xmlFreeDoc(doc);
        return error_set(err, "s3 LIST s3://%s: the answer is not a ListBucketResult",
                         c->bucket), S3_OTHER;
    }
    enum s3_status st = S3_OK;
    for (xmlNode *n = root->children; n != NULL && !*stopped; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Contents") != 0)
            continue;
        xmlChar *k = NULL, *s = NULL, *m = NULL;
        const char *key = s3_xml_text(n, "Key", &k);
        const char *size = s3_xml_text(n, "Size", &s);
        const char *mod = s3_xml_text(n, "LastModified", &m);
        if (key == NULL) {
            st = S3_OTHER;
            error_set(err, "s3 LIST s3://%s: an entry without Key", c->bucket);
        } else {
            struct s3_object o = {key, size != NULL ? strtoll(size, NULL, 10) : -1,
                                  mod != NULL ? mod : ""};
            if (fn(&o, arg) != 0)
                *stopped = true;
        }
        xmlFree(k);
        xmlFree(s);
        xmlFree(m);
        if (st != S3_OK)
            break;
    }
    xmlChar *t = NULL, *tok = NULL;
    const char *truncated = s3_xml_text(root, "IsTruncated", &t);
    const char *token = s3_xml_text(root, "NextContinuationToken", &tok);
    if (st == S3_OK && truncated != NULL && strcmp(truncated, "true") == 0) {
        if (token == NULL || token[0] == '\0') {
            st = S3_OTHER;
            error_set(err, "s3 LIST s3://%s: truncated without a continuation token", c->bucket);
        } else if ((*next = strdup(token)) == NULL) {
            st = S3_OTHER;
            error_set(err, "s3: out of memory");
        }
    }
    xmlFree(t);
    xmlFree(tok);
    xmlFreeDoc(doc);
    return st;
}

enum s3_status s3_list(struct s3_client *c, const char *prefix, s3_list_fn fn, void *arg,
                       char err[ERROR_MAX])
{
    char *token = NULL;
    bool stopped = false;
    enum s3_status st = S3_OK;
    do {
        /* parameters in sorted order: continuation-token, list-type, max-keys, prefix */
        struct strbuf q = {0};
        if (token != NULL) {
            strbuf_addf(&q, "continuation-token=");
            s3_encode(&q, token, false);
            strbuf_addf(&q, "&");
        }
        strbuf_addf(&q, "list-type=2&");
        if (c->list_page_size > 0)
            strbuf_addf(&q, "max-keys=%d&", c->list_page_size);
        strbuf_addf(&q, "prefix=");
        s3_encode(&q, prefix != NULL ? prefix : "", false);
        free(token);
        token = NULL;
        struct strbuf body = {0};
        struct s3_request r = {.method = "GET", .query = q.s, .out = &body};
        if (q.failed) {
            st = S3_OTHER;
            error_set(err, "s3: out of memory");
        } else {
            st = s3_perform(c, &r, err);
            if (st == S3_OK)
                st = s3_list_page(c, &body, fn, arg, &token, &stopped, err);
        }
        strbuf_free(&q);
        strbuf_free(&body);
    } while (st == S3_OK && token != NULL && !stopped);
    free(token);
    return st;
}

/* The value after "name =" on a credentials file line, or NULL. */
static const char *s3_credentials_value(const char *line, const char *name)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0)
        return NULL;
    line += n;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != '=')
        return NULL;
    line++;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

static void s3_copy_trimmed(char *dst, const char *src)
{
    size_t n = strcspn(src, "\r\n");
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\t'))
        n--;
    if (n >= S3_SECRET_MAX)
        n = S3_SECRET_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int s3_credentials_load(const char *file, char access_key[S3_SECRET_MAX],
                        char secret_key[S3_SECRET_MAX], char err[ERROR_MAX])
{
    access_key[0] = secret_key[0] = '\0';
    const char *env_key = getenv("LAKEHOUSE_S3_ACCESS_KEY_ID");
    const char *env_secret = getenv("LAKEHOUSE_S3_SECRET_ACCESS_KEY");
    if (env_key != NULL && env_key[0] != '\0' && env_secret != NULL && env_secret[0] != '\0') {
        s3_copy_trimmed(access_key, env_key);
        s3_copy_trimmed(secret_key, env_secret);
        return 0;
    }
    if (file == NULL || file[0] == '\0')
        return error_set(err, "no S3 credentials: set LAKEHOUSE_S3_ACCESS_KEY_ID and "
                              "LAKEHOUSE_S3_SECRET_ACCESS_KEY, or s3_credentials_file");
    char *text = NULL;
    size_t len = 0;
    char ferr[ERROR_MAX];
    if (fsutil_read_file(file, S3_CREDENTIALS_MAX, &text, &len, ferr) < 0)
        return error_set(err, "s3_credentials_file '%.200s': cannot be read", file);
    for (char *line = text; line != NULL && *line != '\0';) {
        char *eol = strchr(line, '\n');
        const char *v;
        if (access_key[0] == '\0' && (v = s3_credentials_value(line, "aws_access_key_id")))
            s3_copy_trimmed(access_key, v);
        else if (secret_key[0] == '\0' &&
                 (v = s3_credentials_value(line, "aws_secret_access_key")))
            s3_copy_trimmed(secret_key, v);
        line = eol != NULL ? eol + 1 : NULL;
    }
    memset(text, 0, len);
    free(text);
    if (access_key[0] == '\0' || secret_key[0] == '\0') {
        access_key[0] = secret_key[0] = '\0';
        return error_set(err, "s3_credentials_file '%.200s': needs aws_access_key_id = ... and "
                              "aws_secret_access_key = ... lines", file);
    }
    return 0;
}

int s3_check_config(const struct config *cfg, bool probe, void (*report)(const char *, void *),
                    void *arg)
{
    if (strcmp(cfg->iceberg_export, "s3") != 0)
        return 0;
    char err[ERROR_MAX];
    int problems = 0;
    if (cfg->s3_bucket[0] == '\0') {
        report("iceberg_export 's3' needs s3_bucket", arg);
        problems++;
    }
    if (cfg->s3_endpoint[0] == '\0') {
        report("iceberg_export 's3' needs s3_endpoint (e.g. https://s3.us-east-1.amazonaws.com)",
               arg);
        problems++;
    }
    char key[S3_SECRET_MAX], secret[S3_SECRET_MAX];
    if (s3_credentials_load(cfg->s3_credentials_file, key, secret, err) < 0) {
        report(err, arg);
        problems++;
    }
    if (problems == 0 && probe) {
        struct s3_settings s = {cfg->s3_endpoint, cfg->s3_region, cfg->s3_bucket, key, secret,
                                cfg->s3_path_style != 0, S3_PROBE_TIMEOUT_MS, 0};
        struct s3_client *c = s3_client_new(&s, err);
        enum s3_status st = c != NULL ? s3_head_bucket(c, err) : S3_OTHER;
        if (st != S3_OK) {
            char msg[ERROR_MAX];
            snprintf(msg, sizeof msg, "s3_endpoint '%.200s', s3_bucket '%.200s': %s (%.600s)",
                     cfg->s3_endpoint, cfg->s3_bucket,
                     st == S3_UNREACHABLE ? "unreachable"
                     : st == S3_AUTH      ? "credentials refused"
                     : st == S3_NOT_FOUND ? "no such bucket"
                                          : "bucket check failed",
                     err);
            report(msg, arg);
            problems++;
        }
        s3_client_free(&c);
    }
    memset(secret, 0, sizeof secret);
    return problems;
}

/* log.c - key=value (or JSON) log lines on stderr (see log.h). One write()
 * per line so that lines of concurrent processes sharing stderr do not
 * interleave. */
#include "log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static const char *log_process = "lakehouse";
/* Atomic: the broker's HTTP threads log while SIGHUP may change these. */
static _Atomic int log_min_level = LOG_LEVEL_INFO;
static _Atomic int log_format = LOG_FORMAT_TEXT;
static log_hook_fn log_hook;
static pthread_mutex_t log_hook_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *process_name, enum log_level min_level)
{
    log_process = process_name;
    log_min_level = min_level;
}

void log_set_level(enum log_level min_level) { log_min_level = min_level; }

void log_set_format(enum log_format format) { log_format = format; }

int log_format_from_name(const char *name, enum log_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

void log_set_hook(log_hook_fn hook)
{
    pthread_mutex_lock(&log_hook_lock);
    log_hook = hook;
    pthread_mutex_unlock(&log_hook_lock);
}

/* Append s (n bytes) to out as the inside of a JSON string. */
static size_t log_json_escape(char *out, size_t pos, size_t size, const char *s, size_t n)
{
    for (size_t i = 0; i < n && pos + 7 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(out + pos, size - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    return pos;
}

static size_t log_json_add(char *out, size_t pos, size_t size, const char *text)
{
    size_t n = strlen(text);
    if (pos + n < size) {
        memcpy(out + pos, text, n);
        pos += n;
    }
    return pos;
}

/* An integer literal that JSON can carry as a number. */
static bool log_is_integer(const char *s, size_t n)
{
    size_t i = s[0] == '-' ? 1 : 0;
    if (n <= i || n - i > 18 || (s[i] == '0' && n - i > 1))
        return false;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* The message "event k=v k2=\"v 2\" ..." as JSON members after the prefix:
 * ,"event":"event","k":"v",... ; other text goes to "msg". */
static size_t log_json_message(char *out, size_t pos, size_t size, const char *msg)
{
    char rest[LOG_LINE_MAX];
    size_t rest_len = 0;
    const char *p = msg;
    bool first = true;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *tok = p;
        const char *eq = NULL;
        while (*p != '\0' && *p != ' ' && *p != '=' && *p != '"')
            p++;
        if (*p == '=' && p > tok)
            eq = p;
        if (eq == NULL) {
            /* not key=value: the first word is the event, the rest text */
            while (*p != '\0' && *p != ' ')
                p++;
            if (first) {
                pos = log_json_add(out, pos, size, ",\"event\":\"");
                pos = log_json_escape(out, pos, size, tok, (size_t)(p - tok));
                pos = log_json_add(out, pos, size, "\"");
            } else if (rest_len + (size_t)(p - tok) + 2 < sizeof rest) {
                if (rest_len > 0)
                    rest[rest_len++] = ' ';
                memcpy(rest + rest_len, tok, (size_t)(p - tok));
                rest_len += (size_t)(p - tok);
            }
            first = false;
            continue;
        }
        first = false;
        const char *val = eq + 1;
        const char *end;
        bool quoted = *val == '"';
        if (quoted) {
            val++;
            end = val;
            while (*end != '\0' && *end != '"') {
                if (*end == '\\' && end[1] != '\0')
                    end++;
                end++;
            }
            p = *end == '"' ? end + 1 : end;
        } else {
            end = val;
            while (*end != '\0' && *end != ' ')
                end++;
            p = end;
        }
        pos = log_json_add(out, pos, size, ",\"");
        pos = log_json_escape(out, pos, size, tok, (size_t)(eq - tok));
        pos = log_json_add(out, pos, size, "\":");
        size_t n = (size_t)(end - val);
        if (!quoted && log_is_integer(val, n)) {
            if (pos + n < size) {
                memcpy(out + pos, val, n);
                pos += n;
            }
        } else {
            pos = log_json_add(out, pos, size, "\"");
            pos = log_json_escape(out, pos, size, val, n);
            pos = log_json_add(out, pos, size, "\"");
        }
    }
    if (rest_len > 0) {
        pos = log_json_add(out, pos, size, ",\"msg\":\"");
        pos = log_json_escape(out, pos, size, rest, rest_len);
        pos = log_json_add(out, pos, size, "\"");
    }
    return pos;
}

int log_level_from_name(const char *name, enum log_level *out)
{
    for (int i = 0; i <= LOG_LEVEL_ERROR; i++) {
        if (strcmp(name, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    if ((int)level < log_min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);

    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;

    char line[2 * LOG_LINE_MAX];
    size_t n;
    if (log_format == LOG_FORMAT_JSON) {
        int k = snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"proc\":\"%s\",\"pid\":%ld",
                         stamp, log_level_names[level], log_process, (long)getpid());
        n = log_json_message(line, (size_t)k, sizeof line - 2, msg);
        line[n++] = '}';
    } else {
        int k = snprintf(line, sizeof line, "ts=%s level=%s proc=%s pid=%ld %s", stamp,
                         log_level_names[level], log_process, (long)getpid(), msg);
        if (k < 0)
            return;
        n = (size_t)k < sizeof line - 1 ? (size_t)k : sizeof line - 2; /* truncated */
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nothing sensible to do if stderr is gone */
    if (level >= LOG_LEVEL_WARN) {
        pthread_mutex_lock(&log_hook_lock);
        if (log_hook != NULL)
            log_hook(level, msg);
        pthread_mutex_unlock(&log_hook_lock);
    }
}

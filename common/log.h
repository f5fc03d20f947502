/* log.h - one line per event, key=value, to stderr (journald picks it up).
 *
 * Line format:
 *   ts=2026-11-21T13:03:28.123Z level=info proc=ingest pid=123 <message>
 * By convention a message starts with an event word followed by key=value
 * pairs, e.g. log_info("sealed file=%s records=%zu", path, n). Values that
 * may contain spaces are quoted by the caller ("reason=\"%s\"").
 * With the json format (config log_format) the same line is one JSON object:
 *   {"ts":"...","level":"info","proc":"ingest","pid":123,"event":"sealed",
 *    "file":"...","records":3}
 * (key=value pairs become members, integers numbers, quoted values strings;
 * text that is no key=value pair is kept in "msg").
 * The module owns its level, format, process name and hook (set at start;
 * level and format again on SIGHUP, see reload.h). */
#ifndef LAKEHOUSE_LOG_H
#define LAKEHOUSE_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Set the process name shown in proc= and the minimum level written. */
void log_init(const char *process_name, enum log_level min_level);

/* "debug", "info", "warn", "error" -> level; returns -1 on an unknown name. */
int log_level_from_name(const char *name, enum log_level *out);

/* "text" or "json" -> format; -1 on an unknown name. */
int log_format_from_name(const char *name, enum log_format *out);
/* Change level / format while running (safe with other threads logging). */
void log_set_level(enum log_level min_level);
void log_set_format(enum log_format format);

/* Called (under the module's lock, from whichever thread logs) with every
 * line at level warn or above: the message part, after ts/level/proc/pid.
 * Used by stats.c to keep the last errors. NULL: none. */
typedef void (*log_hook_fn)(enum log_level level, const char *message);
void log_set_hook(log_hook_fn hook);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif

/* log.h - one line per event, key=value, to stderr (journald picks it up).
 *
 * Line format:
 *   ts=2026-11-21T13:03:28.123Z level=info proc=ingest pid=123 <message>
 * By convention a message starts with an event word followed by key=value
 * pairs, e.g. log_info("sealed file=%s records=%zu", path, n). Values that
 * may contain spaces are quoted by the caller ("reason=\"%s\"").
 * The module owns only its level and process name (set once at start). */
#ifndef LAKEHOUSE_LOG_H
#define LAKEHOUSE_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Set the process name shown in proc= and the minimum level written. */
void log_init(const char *process_name, enum log_level min_level);

/* "debug", "info", "warn", "error" -> level; returns -1 on an unknown name. */
int log_level_from_name(const char *name, enum log_level *out);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif

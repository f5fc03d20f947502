/* reload.h - the settings a running daemon applies again on SIGHUP.
 *
 * reload_setup (once, after config_load) applies the log settings of the
 * loaded configuration (log_level, log_format) and installs a SIGHUP handler
 * that only sets a flag. The process's housekeeping calls reload_poll: after
 * a SIGHUP it loads the configuration again (the same file, environment and
 * --data), applies what can change without a restart (CONFIG_RELOADABLE in
 * config.h) and logs every other setting that differs as needing a restart.
 * A file that no longer loads is logged and changes nothing. The module
 * holds process-wide state like log.h (the flag must be static for the
 * signal handler anyway). */
#ifndef LAKEHOUSE_RELOAD_H
#define LAKEHOUSE_RELOAD_H

#include <stdbool.h>

#include "config.h"
#include "error.h"

/* process: the log's process name; cfg: the configuration loaded at start
 * (kept by pointer, read-only); config_path / data_dir_override as given to
 * config_load (copied; NULL: none). -1 with err if sigaction fails. */
int reload_setup(const char *process, const struct config *cfg, const char *config_path,
                 const char *data_dir_override, char err[ERROR_MAX]);

/* After a SIGHUP: reload and apply; returns true when a SIGHUP was handled
 * (the broker then passes it on to its children), false otherwise. */
bool reload_poll(void);

#endif

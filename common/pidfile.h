/* pidfile.h - <data_dir>/run/<process>.pid, which doubles as the lock that
 * keeps one instance of each process per data directory (two processors would
 * be two silver writers; two ingests two writers of one spool).
 *
 * The lock is an flock(2) on the open pid file: the kernel releases it when the
 * process dies, so a crash never leaves a stale lock behind, and the file's
 * content (the pid) is only informative (`lakehouse status` reads it). */
#ifndef LAKEHOUSE_PIDFILE_H
#define LAKEHOUSE_PIDFILE_H

#include "error.h"

struct pidfile;

/* Create/open and lock <data_dir>/run/<process>.pid and write our pid into it.
 * process is the short name ("ingest", "processor", ...). Caller owns *out
 * (pidfile_release). -1 with err when another instance holds the lock:
 * "another lakehouse-ingest (pid 123) is running on this data directory (...)". */
int pidfile_take(const char *data_dir, const char *process, struct pidfile **out,
                 char err[ERROR_MAX]);

/* Remove the file, drop the lock, free, NULL *pidfile. NULL-safe. */
void pidfile_release(struct pidfile **pidfile);

#endif

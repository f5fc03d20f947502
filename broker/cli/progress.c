/* progress.c - the progress line of long commands (cli.h): records,
 * records/s, percent of the input when its size is known, elapsed time;
 * redrawn in place at most a few times a second. Only when stdout is a
 * terminal: in a pipe or a file the commands print exactly what they
 * printed before. A command that only waits (replay) gets a ticker thread
 * that redraws the elapsed time while the call blocks. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CLI_PROGRESS_REDRAW_MS 250

struct cli_progress {
    char what[64];
    int64_t started_ms;
    int64_t drawn_ms;
    int64_t *sizes;      /* per input file, -1 unknown (stdin, pipes) */
    size_t count;
    int64_t total;       /* sum of sizes, -1 when any is unknown */
    bool ticking;
    pthread_t ticker;
    pthread_mutex_t lock;
    bool stop;
};

static int64_t cli_progress_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cli_progress *cli_progress_start(const char *what, char *const *paths, size_t count)
{
    if (!isatty(STDOUT_FILENO))
        return NULL;
    struct cli_progress *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    snprintf(p->what, sizeof p->what, "%s", what);
    p->started_ms = cli_progress_now_ms();
    pthread_mutex_init(&p->lock, NULL);
    p->sizes = count ? calloc(count, sizeof *p->sizes) : NULL;
    p->count = p->sizes ? count : 0;
    p->total = p->count ? 0 : -1;
    for (size_t i = 0; i < p->count; i++) {
        struct stat st;
        bool known = strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISREG(st.st_mode);
        p->sizes[i] = known ? (int64_t)st.st_size : -1;
        p->total = known && p->total >= 0 ? p->total + p->sizes[i] : -1;
    }
    return p;
}

static void cli_progress_draw(const char *line)
{
    /* \r and erase-line: the next draw (or the final summary) replaces it */
    printf("\r\033[K%s", line);
    fflush(stdout);
}

static void cli_progress_elapsed(int64_t ms, char *out, size_t size)
{
    int64_t s = ms / 1000;
    if (s >= 3600)
        snprintf(out, size, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    else
        snprintf(out, size, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

void cli_progress_update(struct cli_progress *p, uint64_t records, size_t file, int64_t offset)
{
    if (p == NULL)
        return;
    int64_t now = cli_progress_now_ms();
    if (now - p->drawn_ms < CLI_PROGRESS_REDRAW_MS)
        return;
    p->drawn_ms = now;
    int64_t ms = now - p->started_ms;
    char elapsed[32], percent[32] = "";
    cli_progress_elapsed(ms, elapsed, sizeof elapsed);
    if (p->total > 0 && offset >= 0) {
        int64_t done = offset;
        for (size_t i = 0; i < file && i < p->count; i++)
            done += p->sizes[i];
        double pct = 100.0 * (double)done / (double)p->total;
        snprintf(percent, sizeof percent, "  %.0f%%", pct > 100.0 ? 100.0 : pct);
    }
    char line[200];
    snprintf(line, sizeof line, "%s %llu records  %.0f records/s%s  %s", p->what,
             (unsigned long long)records, ms > 0 ? (double)records * 1000.0 / (double)ms : 0.0,
             percent, elapsed);
    cli_progress_draw(line);
}

static void *cli_progress_tick(void *arg)
{
    struct cli_progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        char elapsed[32], line[160];
        cli_progress_elapsed(cli_progress_now_ms() - p->started_ms, elapsed, sizeof elapsed);
        snprintf(line, sizeof line, "%s  %s", p->what, elapsed);
        cli_progress_draw(line);
        pthread_mutex_unlock(&p->lock);
        usleep(500 * 1000);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void cli_progress_tick_start(struct cli_progress *p)
{
    if (p != NULL && pthread_create(&p->ticker, NULL, cli_progress_tick, p) == 0)
        p->ticking = true;
}

void cli_progress_end(struct cli_progress **progress)
{
    if (progress == NULL || *progress == NULL)
        return;
    struct cli_progress *p = *progress;
    if (p->ticking) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->ticker, NULL);
    }
    printf("\r\033[K");
    fflush(stdout);
    pthread_mutex_destroy(&p->lock);
    free(p->sizes);
    free(p);
    *progress = NULL;
}

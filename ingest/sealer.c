/* sealer.c - the sealing thread (see sealer.h). */
#include "sealer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

struct sealer_node {
    struct sealer_job job;
    char rel[PATH_MAX];
    struct sealer_node *next;
};

struct sealer {
    char data_dir[PATH_MAX];
    sealer_seal_fn seal;
    int event_fd;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* the thread: a job, stop or drain */
    pthread_cond_t idle;  /* sealer_drain: the queue changed */
    struct sealer_node *head, *tail; /* queued; head is in hand */
    size_t queued;
    struct sealer_node *done, *done_tail;
    bool stop;
    bool draining;
    bool gave_up; /* draining and a job failed: the rest stay spools */
};

static void sealer_notify(struct sealer *s)
{
    uint64_t one = 1;
    if (write(s->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("sealer_notify_failed reason=\"%s\"", strerror(errno));
}

static void *sealer_main(void *arg)
{
    struct sealer *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->stop && s->head == NULL)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->stop || s->head == NULL)
            break;
        struct sealer_node *n = s->head;
        pthread_mutex_unlock(&s->lock);
        char err[ERROR_MAX];
        int rc = s->seal(s->data_dir, &n->job, n->rel, err);
        pthread_mutex_lock(&s->lock);
        if (rc == 0) {
            s->head = n->next;
            if (s->head == NULL)
                s->tail = NULL;
            s->queued--;
            n->next = NULL;
            if (s->done_tail != NULL)
                s->done_tail->next = n;
            else
                s->done = n;
            s->done_tail = n;
            sealer_notify(s);
        } else {
            log_error("seal_failed file=%s reason=\"%s\"", n->job.path, err);
            if (s->draining) {
                s->gave_up = true;
                /* this job and the later ones stay spools: spool_recover
                 * seals them at the next start, in order */
                while (s->head != NULL) {
                    struct sealer_node *x = s->head;
                    s->head = x->next;
                    free(x);
                }
                s->tail = NULL;
                s->queued = 0;
            } else {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += SEALER_RETRY_MS / 1000;
                until.tv_nsec += (long)(SEALER_RETRY_MS % 1000) * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000L;
                }
                while (!s->stop && !s->draining &&
                       pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT) {
                }
            }
        }
        pthread_cond_broadcast(&s->idle);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int sealer_open(const char *data_dir, sealer_seal_fn seal, struct sealer **out,
                char err[ERROR_MAX])
{
    struct sealer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return error_set(err, "sealer: out of memory");
    if (fsutil_path(s->data_dir, sizeof s->data_dir, err, "%s", data_dir) < 0) {
        free(s);
        return -1;
    }
    s->seal = seal;
    s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->event_fd < 0) {
        error_set(err, "sealer: eventfd: %s", strerror(errno));
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->idle, NULL);
    /* Signals stay with the loop's thread (its poll wakes on them). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, sealer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        error_set(err, "sealer: thread: %s", strerror(rc));
        close(s->event_fd);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        pthread_cond_destroy(&s->idle);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static void sealer_free_list(struct sealer_node *n)
{
    while (n != NULL) {
        struct sealer_node *next = n->next;
        free(n);
        n = next;
    }
}

void sealer_close(struct sealer **sealer)
{
    struct sealer *s = *sealer;
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    sealer_free_list(s->head);
    sealer_free_list(s->done);
    close(s->event_fd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->idle);
    free(s);
    *sealer = NULL;
}

int sealer_fd(const struct sealer *s)
{
    return s->event_fd;
}

bool sealer_submit(struct sealer *s, const struct sealer_job *job)
{
    pthread_mutex_lock(&s->lock);
    bool full = s->queued >= SEALER_QUEUE_MAX || s->draining;
    pthread_mutex_unlock(&s->lock);
    if (full)
        return false;
    struct sealer_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return false;
    n->job = *job;
    pthread_mutex_lock(&s->lock);
    if (s->tail != NULL)
        s->tail->next = n;
    else
        s->head = n;
    s->tail = n;
    s->queued++;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return true;
}

void sealer_reap(struct sealer *s, sealer_done_fn done, void *arg)
{
    uint64_t ignored;
    if (read(s->event_fd, &ignored, sizeof ignored) < 0 && errno != EAGAIN)
        log_warn("sealer_reap_read_failed reason=\"%s\"", strerror(errno));
    pthread_mutex_lock(&s->lock);
    struct sealer_node *list = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    for (struct sealer_node *n = list; n != NULL; n = n->next)
        if (n->rel[0] != '\0')
            done(n->job.domain, n->job.endpoint, n->rel, n->job.records, arg);
    sealer_free_list(list);
}

int sealer_drain(struct sealer *s, sealer_done_fn done, void *arg)
{
    pthread_mutex_lock(&s->lock);
    s->draining = true;
    pthread_cond_broadcast(&s->wake);
    while (s->head != NULL && !s->gave_up)
        pthread_cond_wait(&s->idle, &s->lock);
    bool failed = s->gave_up;
    s->draining = false;
    s->gave_up = false;
    pthread_mutex_unlock(&s->lock);
    sealer_reap(s, done, arg);
    return failed ? -1 : 0;
}

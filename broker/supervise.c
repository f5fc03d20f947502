/* supervise.c - the broker as parent of the three workers.
 *
 * Children are the sibling binaries of the broker (same directory as
 * /proc/self/exe), started with the broker's --data (absolute) and --config.
 * Each child:
 *   - gets PR_SET_PDEATHSIG(SIGTERM), so it stops cleanly even if the broker
 *     is SIGKILLed, and never lingers as an orphan;
 *   - runs in its own process group, so that a Ctrl-C on the terminal reaches
 *     only the broker, which then stops the children in order;
 *   - has stdin on /dev/null and shares the broker's stdout/stderr (one log).
 * A child that exits while the group is running is logged (exit status or
 * signal) and restarted after a backoff that doubles from
 * restart_backoff_min_ms to restart_backoff_max_ms, and goes back to the
 * minimum once a child has stayed up for SUPERVISE_STABLE_MS.
 * Stop order is ingest -> processor -> transformer: ingest seals its spool
 * (the processor can still merge it after a restart), then the processor
 * finishes its transaction, then the transformer. Each gets SIGTERM, then
 * SIGKILL after stop_timeout_ms.
 * Children get the broker's environment without NOTIFY_SOCKET/WATCHDOG_*
 * (notify.h): under systemd only the broker reports for the group. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "notify.h"
#include "stats.h"

#define SUPERVISE_CHILDREN 3
#define SUPERVISE_STABLE_MS 60000

struct supervise_child {
    const char *name;     /* "ingest" */
    char path[PATH_MAX];  /* absolute path of the binary */
    pid_t pid;            /* 0 = not running */
    int64_t started_ms;   /* monotonic */
    int64_t restart_at_ms;/* when pid == 0 and not stopping: next start */
    int64_t backoff_ms;   /* delay before the next restart */
    unsigned restarts;
    int nice;             /* niceness set in the child before exec (0: inherited) */
};

struct supervisor {
    const struct config *cfg;
    char config_path[PATH_MAX]; /* "" = none */
    struct supervise_child children[SUPERVISE_CHILDREN]; /* in stop order */
    bool stopping;
    size_t stop_index;          /* child being stopped */
    bool term_sent;
    bool kill_sent;
    int64_t stop_deadline_ms;
    char **env;                 /* children's environment: pointers into environ */
    struct proxy *events;       /* process.up / process.down go here; NULL = none */
};

static const char *const supervise_names[SUPERVISE_CHILDREN] = {"ingest", "processor",
                                                                "transformer"};

void supervise_set_events(struct supervisor *sup, struct proxy *proxy)
{
    sup->events = proxy;
}

/* process.up / process.down: hints for watchers (GET /events). */
static void supervise_publish(struct supervisor *sup, enum event_topic topic,
                              const struct supervise_child *c, pid_t pid, const char *how)
{
    if (sup->events == NULL)
        return;
    struct event ev = {.topic = topic, .count = (int64_t)pid};
    snprintf(ev.name, sizeof ev.name, "%s", c->name);
    snprintf(ev.file, sizeof ev.file, "%s", how ? how : "");
    char err[ERROR_MAX];
    if (proxy_publish(sup->events, &ev, err) != 0)
        log_debug("event_dropped topic=%s reason=\"%s\"", event_topic_name(topic), err);
}

static int64_t supervise_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int supervise_open(const struct config *cfg, const char *config_path, struct supervisor **out,
                   char err[ERROR_MAX])
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return error_set(err, "readlink /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return error_set(err, "cannot tell the directory of the broker binary (%s)", self);
    *slash = '\0';

    struct supervisor *sup = calloc(1, sizeof *sup);
    if (sup == NULL)
        return error_set(err, "out of memory");
    sup->cfg = cfg;
    if (config_path != NULL &&
        snprintf(sup->config_path, sizeof sup->config_path, "%s", config_path) >=
            (int)sizeof sup->config_path) {
        free(sup);
        return error_set(err, "config path too long: %s", config_path);
    }
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++) {
        struct supervise_child *c = &sup->children[i];
        c->name = supervise_names[i];
        c->backoff_ms = cfg->restart_backoff_min_ms;
        /* Merges and transforms are throughput work: on a busy machine the
         * core goes to ingest first, whose acks producers wait for. */
        c->nice = strcmp(c->name, "ingest") == 0 ? 0 : (int)cfg->worker_nice;
        if (snprintf(c->path, sizeof c->path, "%s/lakehouse-%s", self, supervise_names[i]) >=
            (int)sizeof c->path) {
            free(sup);
            return error_set(err, "path too long: %s/lakehouse-%s", self, supervise_names[i]);
        }
        if (access(c->path, X_OK) != 0) {
            error_set(err, "cannot run %s (it must sit next to the broker binary): %s", c->path,
                      strerror(errno));
            free(sup);
            return -1;
        }
    }
    /* Built before any fork: between fork and exec nothing may allocate. */
    size_t count = 0;
    while (environ[count] != NULL)
        count++;
    sup->env = calloc(count + 1, sizeof *sup->env);
    if (sup->env == NULL) {
        free(sup);
        return error_set(err, "out of memory");
    }
    for (size_t i = 0, j = 0; i < count; i++)
        if (!notify_env_entry(environ[i]))
            sup->env[j++] = environ[i];
    *out = sup;
    return 0;
}

/* Fork and exec one child. Between fork and exec only async-signal-safe
 * calls: libzmq has threads in this process. */
static void supervise_spawn(struct supervisor *sup, struct supervise_child *c)
{
    char *argv[8];
    int argc = 0;
    argv[argc++] = c->path;
    argv[argc++] = "--data";
    argv[argc++] = (char *)sup->cfg->data_dir;
    if (sup->config_path[0] != '\0') {
        argv[argc++] = "--config";
        argv[argc++] = sup->config_path;
    }
    argv[argc] = NULL;
    char exec_failed[PATH_MAX + 64];
    int msg_len = snprintf(exec_failed, sizeof exec_failed,
                           "lakehouse-broker: cannot exec %s\n", c->path);
    if (msg_len < 0 || msg_len >= (int)sizeof exec_failed)
        msg_len = (int)strlen(exec_failed);

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        c->pid = 0;
        c->restart_at_ms = supervise_now_ms() + c->backoff_ms;
        log_error("child_start_failed proc=%s reason=\"fork: %s\" retry_in_ms=%lld", c->name,
                  strerror(errno), (long long)c->backoff_ms);
        return;
    }
    if (pid == 0) {
        /* child */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(1); /* the broker is already gone */
        setpgid(0, 0);
        if (c->nice > 0)
            (void)setpriority(PRIO_PROCESS, 0, c->nice); /* only lowers: always allowed */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        for (int s = 1; s < NSIG; s++)
            sigaction(s, &sa, NULL); /* EINVAL for KILL/STOP/RT internals: fine */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            if (devnull != STDIN_FILENO)
                close(devnull);
        }
        close_range(3, ~0U, 0);
        execve(c->path, argv, sup->env);
        ssize_t w = write(STDERR_FILENO, exec_failed, (size_t)msg_len);
        (void)w;
        _exit(127);
    }
    c->pid = pid;
    c->started_ms = supervise_now_ms();
    if (c->restarts == 0)
        log_info("child_started proc=%s pid=%ld path=%s", c->name, (long)pid, c->path);
    else
        log_info("child_restarted proc=%s pid=%ld restarts=%u", c->name, (long)pid,
                 c->restarts);
    supervise_publish(sup, EVENT_PROCESS_UP, c, pid, NULL);
}

void supervise_start(struct supervisor *sup)
{
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++)
        supervise_spawn(sup, &sup->children[i]);
}

/* "exit status 1", "killed by signal 9 (SIGKILL: Killed), core dumped" */
static void supervise_describe(int status, char *out, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        const char *desc = sigdescr_np(sig);
        snprintf(out, size, "killed by signal %d (SIG%s: %s)%s", sig, abbrev ? abbrev : "?",
                 desc ? desc : "?", WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(out, size, "status 0x%x", (unsigned)status);
    }
}

void supervise_reap(struct supervisor *sup)
{
    int64_t now = supervise_now_ms();
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++) {
        struct supervise_child *c = &sup->children[i];
        if (c->pid <= 0)
            continue;
        int status = 0;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        char how[160];
        if (r < 0)
            snprintf(how, sizeof how, "lost (waitpid: %s)", strerror(errno));
        else
            supervise_describe(status, how, sizeof how);
        pid_t pid = c->pid;
        int64_t uptime = now - c->started_ms;
        c->pid = 0;
        supervise_publish(sup, EVENT_PROCESS_DOWN, c, pid, how);
        if (sup->stopping) {
            bool clean = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (clean)
                log_info("child_stopped proc=%s pid=%ld how=\"%s\"", c->name, (long)pid, how);
            else
                log_warn("child_stopped proc=%s pid=%ld how=\"%s\"", c->name, (long)pid, how);
            continue;
        }
        if (uptime >= SUPERVISE_STABLE_MS)
            c->backoff_ms = sup->cfg->restart_backoff_min_ms;
        c->restart_at_ms = now + c->backoff_ms;
        log_error("child_died proc=%s pid=%ld how=\"%s\" uptime_ms=%lld restart_in_ms=%lld",
                  c->name, (long)pid, how, (long long)uptime, (long long)c->backoff_ms);
        int64_t next = c->backoff_ms * 2;
        c->backoff_ms = next > sup->cfg->restart_backoff_max_ms ? sup->cfg->restart_backoff_max_ms
                                                                : next;
        if (c->backoff_ms < 1)
            c->backoff_ms = 1;
    }
}

static void supervise_drive_stop(struct supervisor *sup, int64_t now)
{
    while (sup->stop_index < SUPERVISE_CHILDREN) {
        struct supervise_child *c = &sup->children[sup->stop_index];
        if (c->pid <= 0) {
            sup->stop_index++;
            sup->term_sent = false;
            sup->kill_sent = false;
            continue;
        }
        if (!sup->term_sent) {
            log_info("child_stopping proc=%s pid=%ld timeout_ms=%lld", c->name, (long)c->pid,
                     (long long)sup->cfg->stop_timeout_ms);
            kill(c->pid, SIGTERM);
            sup->term_sent = true;
            sup->stop_deadline_ms = now + sup->cfg->stop_timeout_ms;
        } else if (!sup->kill_sent && now >= sup->stop_deadline_ms) {
            log_warn("child_kill proc=%s pid=%ld reason=\"no exit within %lld ms of SIGTERM\"",
                     c->name, (long)c->pid, (long long)sup->cfg->stop_timeout_ms);
            kill(c->pid, SIGKILL);
            sup->kill_sent = true;
        }
        return;
    }
}

void supervise_tick(struct supervisor *sup)
{
    int64_t now = supervise_now_ms();
    if (sup->stopping) {
        supervise_drive_stop(sup, now);
        return;
    }
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++) {
        struct supervise_child *c = &sup->children[i];
        if (c->pid == 0 && now >= c->restart_at_ms) {
            c->restarts++;
            stats_count("process_restarts_total", c->name, 1);
            supervise_spawn(sup, c);
        }
    }
}

void supervise_signal(struct supervisor *sup, int sig)
{
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++)
        if (sup->children[i].pid > 0)
            kill(sup->children[i].pid, sig);
}

void supervise_begin_stop(struct supervisor *sup)
{
    if (sup->stopping)
        return;
    sup->stopping = true;
    sup->stop_index = 0;
    sup->term_sent = false;
    sup->kill_sent = false;
    supervise_drive_stop(sup, supervise_now_ms());
}

bool supervise_stopped(const struct supervisor *sup)
{
    if (!sup->stopping)
        return false;
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++) {
        if (sup->children[i].pid > 0)
            return false;
    }
    return true;
}

void supervise_close(struct supervisor **sup)
{
    if (sup == NULL || *sup == NULL)
        return;
    for (size_t i = 0; i < SUPERVISE_CHILDREN; i++) {
        struct supervise_child *c = &(*sup)->children[i];
        if (c->pid > 0) {
            log_warn("child_kill proc=%s pid=%ld reason=\"broker exiting\"", c->name,
                     (long)c->pid);
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
            }
            c->pid = 0;
        }
    }
    free((*sup)->env);
    free(*sup);
    *sup = NULL;
}

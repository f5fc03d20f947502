/* notify_listen.c - a fake systemd NOTIFY_SOCKET for tests/integration/systemd.sh.
 *
 *   lakehouse-notify-listen SOCKET [--exists PATH]... [--max-seconds N]
 *
 * Binds an AF_UNIX datagram socket at SOCKET (a path, or "@name" for an
 * abstract socket) and prints one line per datagram received, flushed at
 * once, so a shell test can follow what a process reported:
 *
 *   t=<ms since start> pid=<sender pid> exists=<1|0|-> READY=1 STATUS=serving
 *
 * The datagram's newline-separated assignments are joined by spaces. pid is
 * the sender's pid from SCM_CREDENTIALS (what systemd checks for
 * NotifyAccess=main). exists= says whether every --exists PATH was a socket
 * at the moment the datagram arrived ("-" without --exists): it lets a test
 * check that READY=1 came only after the process was serving. Prints
 * "listening" once the socket is bound. Exits 0 on SIGTERM/SIGINT or after
 * --max-seconds (default 300: never outlives a broken test for long). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_PATHS_MAX 8

static volatile sig_atomic_t listen_stop = 0;

static void listen_on_signal(int sig)
{
    (void)sig;
    listen_stop = 1;
}

static long long listen_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *listen_exists(char *const *paths, int count)
{
    if (count == 0)
        return "-";
    for (int i = 0; i < count; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0 || !S_ISSOCK(st.st_mode))
            return "0";
    }
    return "1";
}

static int listen_usage(void)
{
    fprintf(stderr, "usage: lakehouse-notify-listen SOCKET [--exists PATH]... [--max-seconds N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *sock_path = NULL;
    char *exists[LISTEN_PATHS_MAX];
    int exists_count = 0;
    long max_seconds = 300;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--exists") == 0 && i + 1 < argc && exists_count < LISTEN_PATHS_MAX)
            exists[exists_count++] = argv[++i];
        else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc)
            max_seconds = strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && sock_path == NULL)
            sock_path = argv[i];
        else
            return listen_usage();
    }
    if (sock_path == NULL || max_seconds <= 0)
        return listen_usage();

    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(sock_path);
    if (len == 0 || len >= sizeof addr.sun_path) {
        fprintf(stderr, "lakehouse-notify-listen: socket path too long: %s\n", sock_path);
        return 2;
    }
    memcpy(addr.sun_path, sock_path, len);
    if (sock_path[0] == '@')
        addr.sun_path[0] = '\0';
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
        fprintf(stderr, "lakehouse-notify-listen: socket: %s\n", strerror(errno));
        return 1;
    }
    if (sock_path[0] != '@')
        unlink(sock_path);
    if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
        fprintf(stderr, "lakehouse-notify-listen: bind %s: %s\n", sock_path, strerror(errno));
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = listen_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    long long start = listen_now_ms();
    long long deadline = start + max_seconds * 1000;
    printf("listening\n");
    fflush(stdout);
    while (!listen_stop && listen_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 200);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "lakehouse-notify-listen: poll: %s\n", strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        char buf[4096];
        union {
            struct cmsghdr align;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = control.space, .msg_controllen = sizeof control.space};
        ssize_t r = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (r < 0)
            continue;
        const char *ok = listen_exists(exists, exists_count);
        buf[r] = '\0';
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] == '\n' || buf[i] == '\0')
                buf[i] = ' ';
        long pid = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                pid = (long)cred.pid;
            }
        }
        printf("t=%lld pid=%ld exists=%s %s\n", listen_now_ms() - start, pid, ok, buf);
        fflush(stdout);
    }
    close(fd);
    if (sock_path[0] != '@')
        unlink(sock_path);
    return 0;
}

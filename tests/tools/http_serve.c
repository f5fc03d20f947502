/* http_serve.c - test driver: the broker's HTTP API (broker/http/) alone,
 * for tests and until broker/main.c starts it itself.
 *
 *   lakehouse-http-serve --data DIR [--config FILE]
 * Loads the config like every process, starts http_server_start, prints
 * "http port=N" on stdout once listening, and stops on SIGTERM/SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "layout.h"
#include "log.h"
#include "../../broker/http/http.h"

static volatile sig_atomic_t serve_stop = 0;

static void serve_on_signal(int sig) { serve_stop = sig; }

int main(int argc, char **argv)
{
    const char *data = NULL, *config_path = NULL;
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'c')
            config_path = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: lakehouse-http-serve --data DIR [--config FILE]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    static struct config cfg;
    char err[ERROR_MAX];
    log_init("http", LOG_LEVEL_INFO);
    if (config_load(&cfg, config_path, data, err) < 0 || config_read_token_file(&cfg, err) < 0 ||
        layout_create(cfg.data_dir, err) < 0) {
        log_error("start_failed reason=\"%s\"", err);
        return 1;
    }
    enum log_level level;
    if (log_level_from_name(cfg.log_level, &level) == 0)
        log_init("http", level);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = serve_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct http_server *server = http_server_start(&cfg, err);
    if (server == NULL) {
        log_error("start_failed reason=\"%s\"", err);
        return 1;
    }
    printf("http port=%u\n", http_server_port(server));
    fflush(stdout);
    while (!serve_stop)
        pause();
    http_server_stop(&server);
    return 0;
}

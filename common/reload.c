/* reload.c - SIGHUP: load the configuration again and apply the log
 * settings (see reload.h). */
#include "reload.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

static volatile sig_atomic_t reload_requested = 0;
static const struct config *reload_cfg;
static char reload_path[PATH_MAX];
static char reload_data[PATH_MAX];
static bool reload_has_path;
static bool reload_has_data;

static void reload_on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

/* Apply log_level and log_format of cfg (already validated by config_load). */
static void reload_apply(const struct config *cfg)
{
    enum log_level level;
    enum log_format format;
    if (log_level_from_name(cfg->log_level, &level) == 0)
        log_set_level(level);
    if (log_format_from_name(cfg->log_format, &format) == 0)
        log_set_format(format);
}

int reload_setup(const char *process, const struct config *cfg, const char *config_path,
                 const char *data_dir_override, char err[ERROR_MAX])
{
    reload_cfg = cfg;
    reload_has_path = config_path != NULL;
    reload_has_data = data_dir_override != NULL;
    snprintf(reload_path, sizeof reload_path, "%s", config_path ? config_path : "");
    snprintf(reload_data, sizeof reload_data, "%s", data_dir_override ? data_dir_override : "");
    log_init(process, LOG_LEVEL_INFO);
    reload_apply(cfg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = reload_on_hup; /* no SA_RESTART: a poll returns EINTR and the loop goes on */
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return error_set(err, "sigaction SIGHUP: %s", strerror(errno));
    return 0;
}

/* The settings that differ, other than the reloadable ones. */
static void reload_changed(const struct config *old, const struct config *now, char *out,
                           size_t size)
{
    out[0] = '\0';
    /* Compare the printed forms: one walk over the settings table. */
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    FILE *fa = open_memstream(&a, &alen);
    FILE *fb = open_memstream(&b, &blen);
    if (fa == NULL || fb == NULL) {
        if (fa)
            fclose(fa);
        if (fb)
            fclose(fb);
        free(a);
        free(b);
        return;
    }
    config_print(old, fa);
    config_print(now, fb);
    fclose(fa);
    fclose(fb);
    json_t *ja = json_loads(a, 0, NULL);
    json_t *jb = json_loads(b, 0, NULL);
    free(a);
    free(b);
    const char *key;
    json_t *value;
    json_object_foreach(ja, key, value) {
        if (strcmp(key, "log_level") == 0 || strcmp(key, "log_format") == 0)
            continue;
        if (!json_equal(value, json_object_get(jb, key))) {
            size_t used = strlen(out);
            snprintf(out + used, size - used, "%s%s", used ? "," : "", key);
        }
    }
    json_decref(ja);
    json_decref(jb);
}

bool reload_poll(void)
{
    if (!reload_requested)
        return false;
    reload_requested = 0;
    if (reload_cfg == NULL)
        return true;
    struct config *fresh = malloc(sizeof *fresh);
    char err[ERROR_MAX];
    if (fresh == NULL) {
        log_error("reload_failed reason=\"out of memory\"");
        return true;
    }
    if (config_load(fresh, reload_has_path ? reload_path : NULL,
                    reload_has_data ? reload_data : NULL, err) < 0) {
        log_error("reload_failed reason=\"%s\" action=\"kept the running settings\"", err);
        free(fresh);
        return true;
    }
    reload_apply(fresh);
    char changed[1024];
    reload_changed(reload_cfg, fresh, changed, sizeof changed);
    if (changed[0] != '\0')
        log_warn("reloaded log_level=%s log_format=%s restart_needed=\"%s\"", fresh->log_level,
                 fresh->log_format, changed);
    else
        log_info("reloaded log_level=%s log_format=%s", fresh->log_level, fresh->log_format);
    free(fresh);
    return true;
}

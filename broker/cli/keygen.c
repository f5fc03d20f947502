/* keygen.c - `lakehouse keygen DIR [--client NAME]`: a CURVE key pair for the
 * producer endpoint (curve.h).
 *
 * Writes DIR/server.key (secret, mode 0600) and DIR/server.pub (public,
 * 0644), or DIR/NAME.key and DIR/NAME.pub with --client NAME. Each file is
 * the 40-character Z85 key and a newline, as zmq_curve_keypair makes it.
 * DIR is created (0700) when missing. Existing files are never overwritten:
 * replacing a key is a decision, so remove the old file first. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "curve.h"
#include "fsutil.h"
#include "names.h"

static const char keygen_usage[] = "usage: lakehouse keygen DIR [--client NAME]\n";

/* Create path exclusively with mode and write key plus a newline. */
static int keygen_write(const char *path, const char *key, mode_t mode, char err[ERROR_MAX])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return error_set(err, "%s: %s%s", path, strerror(errno),
                         errno == EEXIST ? " (remove it first to make a new key)" : "");
    char line[CURVE_KEY_TEXT + 1];
    snprintf(line, sizeof line, "%s\n", key);
    /* The umask may have taken bits away from a public key: set them. */
    int rc = fsutil_write_all(fd, line, strlen(line), err);
    if (rc == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        rc = error_set(err, "%s: %s", path, strerror(errno));
    if (close(fd) < 0 && rc == 0)
        rc = error_set(err, "%s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(path);
    return rc;
}

int cli_keygen(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct option options[] = {{"client", required_argument, NULL, 'c'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *client = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        if (opt != 'c')
            return cli_option_rest(opt, keygen_usage);
        client = optarg;
    }
    if (optind + 1 != argc) {
        fputs(keygen_usage, stderr);
        return CLI_USAGE;
    }
    const char *dir = argv[optind];
    const char *name = client != NULL ? client : "server";
    char err[ERROR_MAX];
    if (names_check_object("client", name, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    if (!zmq_has("curve")) {
        cli_error("this libzmq was built without CURVE support");
        return CLI_FAILED;
    }
    char public[CURVE_KEY_TEXT], secret[CURVE_KEY_TEXT];
    if (zmq_curve_keypair(public, secret) != 0) {
        cli_error("zmq_curve_keypair: %s", zmq_strerror(zmq_errno()));
        return CLI_FAILED;
    }
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    int status = CLI_FAILED;
    if (fsutil_mkdirs(dir, 0700, err) < 0 ||
        fsutil_path(key_path, sizeof key_path, err, "%s/%s.key", dir, name) < 0 ||
        fsutil_path(pub_path, sizeof pub_path, err, "%s/%s.pub", dir, name) < 0) {
        cli_error("%s", err);
        goto out;
    }
    if (access(pub_path, F_OK) == 0) {
        cli_error("%s exists (remove it first to make a new key)", pub_path);
        goto out;
    }
    if (keygen_write(key_path, secret, 0600, err) < 0) {
        cli_error("%s", err);
        goto out;
    }
    if (keygen_write(pub_path, public, 0644, err) < 0) {
        unlink(key_path);
        cli_error("%s", err);
        goto out;
    }
    if (fsutil_fsync_dir(dir, err) < 0)
        fprintf(stderr, "lakehouse: note: %s\n", err);
    printf("secret key %s (keep it there: mode 0600)\npublic key %s: %s\n", key_path, pub_path,
           public);
    status = CLI_OK;
out:
    memset(secret, 0, sizeof secret);
    return status;
}

/*
 * mrx_api: the client's end of the control API (docs/control-api.md): a
 * DEALER socket on ipc://HOME/mrxd.sock. Whether mrxd runs is read from
 * its lock on HOME/mrxd.pid, before and while waiting, so a daemon that
 * is not there (or dies) gets a clear line, never a hang.
 */
#include "mrx_cli.h"
#include "mrx_control.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zmq.h>

#define POLL_MS 1000 /* how often a wait checks that mrxd still runs */
#define BAR_WIDTH 30

/* 1 if a daemon holds the home's lock, 0 if none does, or an error. */
static int
daemon_running(const char *home)
{
    char *path = mrx_fs_join(home, MRX_CONTROL_PIDFILE);
    int fd, rc;

    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = errno == ENOENT ? 0
                             : mrx_error_set(MRX_EDENIED, "cannot reach mrxd: %s: %s", path,
                                             strerror(errno));
        free(path);
        return rc;
    }
    free(path);
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        close(fd);
        return 0;
    }
    rc = errno == EWOULDBLOCK ? 1 : mrx_error_set(MRX_EIO, "cannot lock: %s", strerror(errno));
    close(fd);
    return rc;
}

static int
not_running(const char *home)
{
    char *conf = mrx_fs_join(home, "mrxd.conf");
    int missing = conf && access(conf, F_OK) != 0 && errno == ENOENT;

    free(conf);
    if (missing)
        return mrx_error_set(MRX_ENOTFOUND, "%s: no node here (create one with 'mrx init')", home);
    return mrx_error_set(MRX_EUNAVAILABLE, "mrxd is not running for %s: start it with 'mrxd "
                                           "--home %s' (or 'systemctl --user start mrxd')",
                         home, home);
}

static void
draw_progress(json_t *p, int *drawn)
{
    const char *stage = json_string_value(json_object_get(p, "stage"));
    json_int_t done = json_integer_value(json_object_get(p, "done"));
    json_int_t total = json_integer_value(json_object_get(p, "total"));
    char a[32], b[32], bar[BAR_WIDTH + 1];
    int filled = total > 0 ? (int)(done * BAR_WIDTH / total) : BAR_WIDTH;

    if (!stage || done < 0 || total < 0 || done > total)
        return;
    memset(bar, '#', (size_t)filled);
    memset(bar + filled, '.', (size_t)(BAR_WIDTH - filled));
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r%-10.10s [%s] %3d%%  %s of %s  ", stage, bar,
            total > 0 ? (int)(done * 100 / total) : 100,
            mrx_text_human_size(a, (unsigned long long)done),
            mrx_text_human_size(b, (unsigned long long)total));
    *drawn = 1;
}

int
mrx_cli_request(mrx_cli *cli, const char *name, json_t *params, json_t **result)
{
    char *home = NULL, *text = NULL, endpoint[4200];
    void *ctx = NULL, *sock = NULL;
    int show_progress = !cli->json && isatty(STDERR_FILENO), drawn = 0, rc, running;
    int linger = 0;

    *result = NULL;
    if ((rc = mrx_node_home_resolve(&home, cli->home)) < 0)
        goto out;
    if ((running = daemon_running(home)) <= 0) {
        rc = running < 0 ? running : not_running(home);
        goto out;
    }
    if (!(text = mrx_control_request_encode(name, params))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if (strlen(text) > MRX_CONFIG_REQUEST_MAX_LIMIT) {
        rc = mrx_error_set(MRX_ELIMIT, "request is %zu bytes, more than mrxd takes (%d)",
                           strlen(text), MRX_CONFIG_REQUEST_MAX_LIMIT);
        goto out;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s/%s", home, MRX_CONTROL_SOCKET);
    if (!(ctx = zmq_ctx_new()) || !(sock = zmq_socket(ctx, ZMQ_DEALER)) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(sock, endpoint) != 0 || zmq_send(sock, text, strlen(text), 0) < 0) {
        rc = mrx_error_set(MRX_EIO, "cannot reach mrxd at %s: %s", endpoint,
                           zmq_strerror(zmq_errno()));
        goto out;
    }
    for (;;) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        mrx_control_reply_kind kind;
        json_t *body = NULL;
        zmq_msg_t msg;
        int n = zmq_poll(&item, 1, POLL_MS);

        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n == 0) {
            /* still working, or gone? */
            if ((running = daemon_running(home)) <= 0) {
                rc = running < 0 ? running
                                 : mrx_error_set(MRX_EUNAVAILABLE, "mrxd stopped before "
                                                                   "answering; whether the "
                                                                   "request took effect, 'mrx "
                                                                   "status' will show");
                break;
            }
            continue;
        }
        zmq_msg_init(&msg);
        if (n < 0 || zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            rc = mrx_error_set(MRX_EIO, "reading mrxd's reply: %s", zmq_strerror(zmq_errno()));
            break;
        }
        rc = mrx_control_reply_parse(&kind, &body, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        if (rc < 0)
            break;
        if (kind == MRX_REPLY_PROGRESS) {
            if (show_progress)
                draw_progress(body, &drawn);
            json_decref(body);
            continue;
        }
        *result = body;
        break;
    }
    if (drawn)
        fputc('\n', stderr);
out:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    json_decref(params);
    free(text);
    free(home);
    return rc;
}

char *
mrx_cli_absolute(const char *path)
{
    char *cwd, *out = NULL;

    if (path[0] == '/')
        return strdup(path);
    if (!(cwd = getcwd(NULL, 0)))
        return NULL;
    if (asprintf(&out, "%s/%s", cwd, path) < 0)
        out = NULL;
    free(cwd);
    return out;
}

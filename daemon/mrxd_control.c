/*
 * mrxd_control: the control socket, the request queue and the workers.
 *
 * Main thread                               worker i (thread)
 *   ROUTER ipc://HOME/mrxd.sock               PAIR inproc://mrxd-worker-i
 *   PAIR @inproc://mrxd-worker-i  <------->   [client id][request text]   in
 *                                             [client id][reply text][final] out
 * A worker takes one request at a time; requests wait in a queue in the
 * main thread until a worker is free.
 */
#include "mrxd_control.h"
#include "mrxd_log.h"
#include "mrxd_sync.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WORKERS_MAX 16
#define PROGRESS_EVERY_MS 200 /* progress replies at most this often */
#define QUEUE_MAX 256         /* requests waiting for a worker */
#define LINGER_MS 2000        /* how long replies may still leave at exit */

struct mrxd_job {
    struct worker *worker;            /* where it runs */
    mrx_control_request req;          /* what was asked */
    zframe_t *client;                 /* the ROUTER id of who asked */
    mrx_bundle_progress progress;     /* handed to mrx_bundle */
    int64_t last_progress;            /* ms, monotonic, of the last progress sent */
    char last_stage[16];              /* and its stage */
};

struct worker {
    struct mrxd_control *control; /* owner */
    int index;                    /* its number */
    zsock_t *pipe;                /* main thread's end */
    zsock_t *end;                 /* the worker's end */
    zsock_t *changes;             /* PUSH: cases changed here, to sync */
    pthread_mutex_t send_lock;    /* progress comes from bundle threads */
    mrx_node *node;               /* its own handle on the node */
    pthread_t thread;
    int started;                  /* thread is running */
    int busy;                     /* serving a request */
};

struct mrxd_control {
    const mrxd_info *info;         /* borrowed */
    zloop_t *loop;                 /* borrowed */
    zsock_t *router;               /* the control socket */
    char *path;                    /* its file */
    struct worker workers[WORKERS_MAX];
    size_t n_workers;
    zlist_t *queue;                /* zmsg_t: [client id][request text] */
    int stopping;                  /* refusing new requests */
};

const mrx_control_request *
mrxd_job_request(const mrxd_job *job)
{
    return &job->req;
}

mrx_node *
mrxd_job_node(mrxd_job *job)
{
    return job->worker->node;
}

const mrxd_info *
mrxd_job_info(const mrxd_job *job)
{
    return job->worker->control->info;
}

/* Send one reply from a worker: [client][text][final]. */
static void
worker_send(struct worker *w, zframe_t *client, const char *text, int final)
{
    zmsg_t *msg = zmsg_new();

    zmsg_addmem(msg, zframe_data(client), zframe_size(client));
    zmsg_addstr(msg, text);
    zmsg_addstr(msg, final ? "final" : "more");
    pthread_mutex_lock(&w->send_lock);
    zmsg_send(&msg, w->end);
    pthread_mutex_unlock(&w->send_lock);
    zmsg_destroy(&msg);
}

static void
job_progress(void *arg, const char *stage, uint64_t done, uint64_t total)
{
    mrxd_job *job = arg;
    struct worker *w = job->worker;
    int64_t now = zclock_mono();
    char *text = NULL;

    pthread_mutex_lock(&w->send_lock);
    if (done != total && now - job->last_progress < PROGRESS_EVERY_MS &&
        strcmp(stage, job->last_stage) == 0) {
        pthread_mutex_unlock(&w->send_lock);
        return;
    }
    job->last_progress = now;
    snprintf(job->last_stage, sizeof job->last_stage, "%s", stage);
    pthread_mutex_unlock(&w->send_lock);
    if ((text = mrx_control_progress(job->req.tag, stage, done, total)))
        worker_send(w, job->client, text, 0);
    free(text);
}

const mrx_bundle_progress *
mrxd_job_progress(mrxd_job *job)
{
    job->progress.fn = job_progress;
    job->progress.arg = job;
    return &job->progress;
}

/* Serve one request on worker w and send its final reply. */
static void
serve(struct worker *w, zframe_t *client, const char *text)
{
    mrxd_job job;
    const mrxd_op *op;
    json_t *result = NULL;
    char *reply = NULL;
    int64_t start = zclock_mono();
    int rc;

    memset(&job, 0, sizeof job);
    job.worker = w;
    job.client = client;
    job.last_progress = -PROGRESS_EVERY_MS;
    /* the main thread checked the envelope; a handler checks the rest */
    if ((rc = mrx_control_request_parse(&job.req, text, strlen(text), SIZE_MAX)) == 0) {
        op = mrxd_op_find(job.req.name);
        mrx_error_clear();
        rc = op ? op->fn(&job, &result)
                : mrx_error_set(MRX_EINVAL, "unknown request \"%s\"", job.req.name);
    }
    /* a case changed here: sync tells the peers that take part */
    if (rc == 0 && w->changes) {
        const char *changed = json_string_value(json_object_get(result, "case"));
        if (!changed && strcmp(job.req.name, "case-new") == 0)
            changed = json_string_value(json_object_get(result, "id"));
        if (changed && strcmp(job.req.name, "case-show") != 0 &&
            strcmp(job.req.name, "export") != 0 && strcmp(job.req.name, "audit") != 0)
            zstr_sendf(w->changes, "%s", changed);
        /* a peer added is admitted from now on; a peer removed: its
         * live sessions end */
        if (strcmp(job.req.name, "peer-add") == 0)
            zstr_send(w->changes, "peers");
        if (strcmp(job.req.name, "peer-remove") == 0)
            zstr_sendf(w->changes, "peer:%s",
                       json_string_value(json_object_get(result, "fingerprint")));
    }
    if (rc == 0)
        reply = mrx_control_result(job.req.tag, result);
    else
        reply = mrx_control_error(job.req.tag, rc, mrx_error_last());
    /* names and outcomes only: a message may name a file or a title */
    mrxd_log(rc == 0 ? MRX_LOG_INFO : MRX_LOG_WARNING, "request %s: %s (%lld ms)", job.req.name,
             rc == 0 ? "ok" : mrx_error_name(rc), (long long)(zclock_mono() - start));
    if (!reply)
        reply = strdup("{\"error\":{\"kind\":\"out of memory\",\"message\":\"out of memory\","
                       "\"exit\":1}}");
    if (reply)
        worker_send(w, client, reply, 1);
    free(reply);
    mrx_control_request_release(&job.req);
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    if ((w->changes = zsock_new(ZMQ_PUSH))) {
        zsock_set_sndhwm(w->changes, 1000);
        zsock_set_sndtimeo(w->changes, 0);
        zsock_connect(w->changes, MRXD_SYNC_CHANGES);
    }
    for (;;) {
        zmsg_t *msg = zmsg_recv(w->end);
        zframe_t *client;
        char *text;

        if (!msg && errno == EINTR)
            continue; /* a signal meant for the main thread */
        if (!msg)
            break;
        if (zmsg_size(msg) != 2) { /* the main thread's "stop" */
            zmsg_destroy(&msg);
            break;
        }
        client = zmsg_pop(msg);
        text = zmsg_popstr(msg);
        if (client && text)
            serve(w, client, text);
        zframe_destroy(&client);
        free(text);
        zmsg_destroy(&msg);
    }
    zsock_destroy(&w->changes);
    return NULL;
}

/* Reply with an error from the main thread, for a request that never
 * reached a worker. */
static void
refuse(mrxd_control *self, zframe_t *client, const char *tag, int code, const char *message)
{
    char *reply = mrx_control_error(tag, code, message);

    mrxd_log(MRX_LOG_WARNING, "request refused: %s", mrx_error_name(code));
    if (reply) {
        zframe_send(&client, self->router, ZFRAME_MORE | ZFRAME_REUSE);
        zstr_send(self->router, reply);
    }
    free(reply);
}

/* Hand queued requests to idle workers. */
static void
dispatch(mrxd_control *self)
{
    for (size_t i = 0; i < self->n_workers && zlist_size(self->queue); i++) {
        struct worker *w = &self->workers[i];
        zmsg_t *msg;

        if (w->busy)
            continue;
        msg = zlist_pop(self->queue);
        w->busy = 1;
        zmsg_send(&msg, w->pipe);
    }
}

/* The uid of the process at the other end of a control connection, from
 * the "Peer-Address" libzmq gives an ipc connection ("...:uid:gid:pid"). */
static int
peer_uid(zframe_t *frame, uid_t *uid)
{
    const char *addr = zframe_meta(frame, "Peer-Address");
    const char *p;
    int colons = 0;
    char *end;
    unsigned long v;

    if (!addr)
        return -1;
    for (p = addr + strlen(addr); p > addr; p--)
        if (p[-1] == ':' && ++colons == 3)
            break;
    if (colons != 3)
        return -1;
    errno = 0;
    v = strtoul(p, &end, 10);
    if (errno || end == p || *end != ':')
        return -1;
    *uid = (uid_t)v;
    return 0;
}

static int
on_request(zloop_t *loop, zsock_t *router, void *arg)
{
    mrxd_control *self = arg;
    zmsg_t *msg = zmsg_recv(router);
    zframe_t *client = NULL, *body;
    mrx_control_request req;
    uid_t uid;
    char *text = NULL;
    int rc;

    (void)loop;
    if (!msg)
        return 0;
    client = zmsg_pop(msg);
    body = zmsg_first(msg);
    memset(&req, 0, sizeof req);
    if (!client || !body) {
        zframe_destroy(&client);
        zmsg_destroy(&msg);
        return 0;
    }
    /* the socket's folder is the owner's alone; this holds even if it
     * was opened up by mistake (or for root, which ignores modes) */
    if (peer_uid(body, &uid) != 0 || uid != geteuid()) {
        char message[160];
        snprintf(message, sizeof message,
                 "mrxd serves only its owner (uid %lu); this client is not", (unsigned long)geteuid());
        refuse(self, client, NULL, MRX_EDENIED, message);
        goto out;
    }
    if (zmsg_size(msg) != 1) {
        refuse(self, client, NULL, MRX_EINVAL, "a request is one frame holding one JSON object");
        goto out;
    }
    if ((rc = mrx_control_request_parse(&req, (const char *)zframe_data(body), zframe_size(body),
                                        (size_t)self->info->config->request_max)) < 0) {
        refuse(self, client, req.tag, rc, mrx_error_last());
        goto out;
    }
    if (!mrxd_op_find(req.name)) {
        char message[128];
        snprintf(message, sizeof message, "unknown request \"%s\"", req.name);
        refuse(self, client, req.tag, MRX_EINVAL, message);
        goto out;
    }
    if (self->stopping) {
        refuse(self, client, req.tag, MRX_EUNAVAILABLE, "mrxd is stopping");
        goto out;
    }
    if (zlist_size(self->queue) >= QUEUE_MAX) {
        refuse(self, client, req.tag, MRX_ELIMIT, "mrxd is busy: too many requests waiting");
        goto out;
    }
    /* the worker gets the text again, NUL-terminated */
    if ((text = zframe_strdup(body))) {
        zmsg_t *job = zmsg_new();
        zmsg_append(job, &client);
        zmsg_addstr(job, text);
        zlist_append(self->queue, job);
        dispatch(self);
    }
out:
    free(text);
    mrx_control_request_release(&req);
    zframe_destroy(&client);
    zmsg_destroy(&msg);
    return 0;
}

static int
all_idle(const mrxd_control *self)
{
    for (size_t i = 0; i < self->n_workers; i++)
        if (self->workers[i].busy)
            return 0;
    return 1;
}

static int
on_worker(zloop_t *loop, zsock_t *pipe, void *arg)
{
    struct worker *w = arg;
    mrxd_control *self = w->control;
    zmsg_t *msg = zmsg_recv(pipe);
    char *final;

    (void)loop;
    if (!msg)
        return 0;
    final = zmsg_size(msg) == 3 ? zframe_strdup(zmsg_last(msg)) : NULL;
    if (final) {
        zframe_t *flag = zmsg_last(msg);
        zmsg_remove(msg, flag);
        zframe_destroy(&flag);
        zmsg_send(&msg, self->router);
        if (strcmp(final, "final") == 0) {
            w->busy = 0;
            dispatch(self);
        }
    }
    free(final);
    zmsg_destroy(&msg);
    if (self->stopping && all_idle(self))
        return -1; /* the last running request has been answered */
    return 0;
}

int
mrxd_control_drained(const mrxd_control *self)
{
    return self->stopping && all_idle(self);
}

int
mrxd_control_stop(mrxd_control *self)
{
    zmsg_t *msg;

    self->stopping = 1;
    while ((msg = zlist_pop(self->queue))) {
        zframe_t *client = zmsg_pop(msg);
        char *text = zmsg_popstr(msg);
        mrx_control_request req;
        /* each refusal carries its request's tag */
        if (text)
            mrx_control_request_parse(&req, text, strlen(text), SIZE_MAX);
        refuse(self, client, text ? req.tag : NULL, MRX_EUNAVAILABLE, "mrxd is stopping");
        if (text)
            mrx_control_request_release(&req);
        free(text);
        zframe_destroy(&client);
        zmsg_destroy(&msg);
    }
    /* a packaging or opening in progress stops at its next chunk and
     * removes what it wrote; nothing it did was acknowledged */
    mrx_bundle_interrupt();
    return all_idle(self);
}

/* The socket file, checked to fit an AF_UNIX address. */
static int
socket_path(char **out, const char *home)
{
    struct sockaddr_un sa;

    if (!(*out = mrx_fs_join(home, MRX_CONTROL_SOCKET)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (strlen(*out) >= sizeof sa.sun_path) {
        int rc = mrx_error_set(MRX_ELIMIT, "%s: path too long for a socket (%zu bytes at most)",
                               *out, sizeof sa.sun_path - 1);
        free(*out);
        *out = NULL;
        return rc;
    }
    return 0;
}

int
mrxd_control_new(mrxd_control **out, const mrxd_info *info, zloop_t *loop)
{
    mrxd_control *self = calloc(1, sizeof *self);
    char endpoint[sizeof(struct sockaddr_un) + 16];
    int rc = 0;

    *out = NULL;
    if (!self || !(self->queue = zlist_new())) {
        free(self);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    self->info = info;
    self->loop = loop;
    if ((rc = socket_path(&self->path, info->home)) < 0)
        goto fail;
    /* we hold the pid lock: a socket file left here is a dead daemon's */
    if (unlink(self->path) != 0 && errno != ENOENT) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot remove: %s", self->path, strerror(errno));
        goto fail;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s", self->path);
    if (!(self->router = zsock_new(ZMQ_ROUTER))) {
        rc = mrx_error_set(MRX_EIO, "cannot create the control socket");
        goto fail;
    }
    zsock_set_maxmsgsize(self->router, MRX_CONFIG_REQUEST_MAX_LIMIT);
    zsock_set_linger(self->router, LINGER_MS);
    if (zsock_bind(self->router, "%s", endpoint) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot listen: %s", self->path, zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (chmod(self->path, 0600) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: chmod: %s", self->path, strerror(errno));
        goto fail;
    }
    self->n_workers = (size_t)info->config->workers;
    if (self->n_workers > WORKERS_MAX)
        self->n_workers = WORKERS_MAX;
    for (size_t i = 0; i < self->n_workers; i++) {
        struct worker *w = &self->workers[i];
        w->control = self;
        w->index = (int)i;
        pthread_mutex_init(&w->send_lock, NULL);
        if ((rc = mrx_node_open(&w->node, info->home)) < 0)
            goto fail;
        w->pipe = zsock_new_pair(NULL);
        w->end = zsock_new_pair(NULL);
        if (!w->pipe || !w->end || zsock_bind(w->pipe, "inproc://mrxd-worker-%p", (void *)w) != 0 ||
            zsock_connect(w->end, "inproc://mrxd-worker-%p", (void *)w) != 0) {
            rc = mrx_error_set(MRX_EIO, "cannot connect worker %zu", i);
            goto fail;
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            rc = mrx_error_set(MRX_EIO, "cannot start worker %zu", i);
            goto fail;
        }
        w->started = 1;
        zloop_reader(loop, w->pipe, on_worker, w);
    }
    zloop_reader(loop, self->router, on_request, self);
    *out = self;
    return 0;
fail:
    mrxd_control_destroy(&self);
    return rc;
}

void
mrxd_control_destroy(mrxd_control **self_p)
{
    mrxd_control *self = *self_p;
    zmsg_t *msg;

    if (!self)
        return;
    for (size_t i = 0; i < WORKERS_MAX; i++) {
        struct worker *w = &self->workers[i];
        if (w->started) {
            zstr_send(w->pipe, "stop");
            pthread_join(w->thread, NULL);
        }
        if (self->loop && w->pipe)
            zloop_reader_end(self->loop, w->pipe);
        zsock_destroy(&w->pipe);
        zsock_destroy(&w->end);
        mrx_node_destroy(&w->node);
        if (w->control)
            pthread_mutex_destroy(&w->send_lock);
    }
    if (self->router) {
        if (self->loop)
            zloop_reader_end(self->loop, self->router);
        zsock_destroy(&self->router);
    }
    if (self->path)
        unlink(self->path);
    while (self->queue && (msg = zlist_pop(self->queue)))
        zmsg_destroy(&msg);
    zlist_destroy(&self->queue);
    free(self->path);
    free(self);
    *self_p = NULL;
}

/*
 * mrxd_control: the control API server (docs/control-api.md). A ROUTER
 * socket at ipc://HOME/mrxd.sock takes requests from the node's owner
 * only; the envelope is checked on the main thread, and each request then
 * runs on one of a few worker threads, each with its own handle on the
 * node, so a long packaging never stalls the loop. Replies (progress,
 * then a result or an error) travel back through the main thread, the
 * only one that touches the socket.
 */
#ifndef MRXD_CONTROL_H
#define MRXD_CONTROL_H

#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "mrx_bundle.h"
#include "mrx_config.h"
#include "mrx_control.h"
#include "mrx_node.h"

/* What the daemon knows about itself, for the status request. */
typedef struct mrxd_info {
    const char *home;        /* the node home */
    const char *config_path; /* the configuration file in use */
    pid_t pid;               /* the daemon's process */
    time_t started;          /* when it started */
    const mrx_config *config; /* the configuration in force (main thread's) */
    pthread_mutex_t *config_lock; /* held to read config off the main thread */
} mrxd_info;

/* One request being served on a worker. */
typedef struct mrxd_job mrxd_job;

const mrx_control_request *mrxd_job_request(const mrxd_job *job);
/* The worker's own handle on the node (not shared with other threads). */
mrx_node *mrxd_job_node(mrxd_job *job);
const mrxd_info *mrxd_job_info(const mrxd_job *job);
/* A progress sink for mrx_bundle that sends progress replies, at most
 * five a second. */
const mrx_bundle_progress *mrxd_job_progress(mrxd_job *job);

/* A request handler: on success *result is the result object (owned by
 * the caller); on failure the error is set and its code returned. */
typedef int (*mrxd_handler)(mrxd_job *job, json_t **result);

typedef struct mrxd_op {
    const char *name; /* the request name */
    mrxd_handler fn;  /* what serves it */
} mrxd_op;

/* The handler of a request name, or NULL (mrxd_ops.c). */
const mrxd_op *mrxd_op_find(const char *name);

typedef struct mrxd_control mrxd_control;

/* Bind the control socket in info->home (removing a stale one; the
 * caller holds the pid lock) and start config->workers workers, each
 * with its own handle on the node. */
int mrxd_control_new(mrxd_control **out, const mrxd_info *info, zloop_t *loop);
void mrxd_control_destroy(mrxd_control **self_p);

/* Begin a clean stop: queued requests are refused, running ones are
 * asked to stop at their next chunk. Returns 1 once nothing runs (the
 * loop may end), 0 while workers are still busy; the control then ends
 * the loop itself when the last one finishes. */
int mrxd_control_stop(mrxd_control *self);

/* True once a stop has begun and no request runs. */
int mrxd_control_drained(const mrxd_control *self);

#endif

/*
 * mrx_config: the node's configuration file, $MRX_HOME/mrxd.conf, a JSON
 * object read strictly (unknown keys, wrong types and bad values are
 * refused with the key named). Every setting: docs/formats.md.
 */
#ifndef MRX_CONFIG_H
#define MRX_CONFIG_H

#include <stddef.h>

#include "mrx_cert.h"

#define MRX_CONFIG_MAX (64 * 1024)

/* How much mrxd logs: each level includes the ones before it. */
typedef enum mrx_log_level {
    MRX_LOG_ERROR,
    MRX_LOG_WARNING,
    MRX_LOG_INFO,
    MRX_LOG_DEBUG,
} mrx_log_level;

/* The daemon's tunables: name, default, lowest and highest value. One
 * table in mrx_config.c; docs/formats.md and mrxd.conf(5) list them. */
#define MRX_CONFIG_SYNC_INTERVAL_DEFAULT 300   /* seconds between background sync rounds */
#define MRX_CONFIG_WORKERS_DEFAULT 2           /* threads running control requests */
#define MRX_CONFIG_REQUEST_MAX_DEFAULT 65536   /* bytes of one control request */
#define MRX_CONFIG_REQUEST_MAX_LIMIT 1048576   /* the largest request_max allowed */
#define MRX_CONFIG_REPORT_INTERVAL_DEFAULT 86400 /* seconds of silence the audit flags */

typedef struct mrx_config {
    char name[MRX_NAME_MAX + 1];                  /* node name */
    mrx_role role;                                /* node role */
    char fpr[MRX_FPR_LEN + 1];                    /* node OpenPGP key */
    char *listen[MRX_CERT_ENDPOINTS_MAX];         /* endpoints to listen on */
    size_t n_listen;                              /* how many of those */
    long sync_interval;                           /* seconds between sync rounds */
    long workers;                                 /* control request threads */
    long request_max;                             /* largest control request, bytes */
    long report_interval;                         /* a node silent longer is flagged */
    mrx_log_level log_level;                      /* what mrxd logs */
} mrx_config;

/* Empty, with every tunable at its default. */
void mrx_config_init(mrx_config *self);
void mrx_config_release(mrx_config *self);

/* Read and check path; on failure the message names the file and key. */
int mrx_config_load(mrx_config *self, const char *path);

/* Write self to path atomically (mode 0600). */
int mrx_config_save(const mrx_config *self, const char *path);

/* Add an endpoint to listen on (copied). */
int mrx_config_add_listen(mrx_config *self, const char *endpoint);

/* "error", "warning", "info", "debug". */
const char *mrx_log_level_name(mrx_log_level level);

#endif

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

typedef struct mrx_config {
    char name[MRX_NAME_MAX + 1];                  /* node name */
    mrx_role role;                                /* node role */
    char fpr[MRX_FPR_LEN + 1];                    /* node OpenPGP key */
    char *listen[MRX_CERT_ENDPOINTS_MAX];         /* endpoints to listen on */
    size_t n_listen;                              /* how many of those */
} mrx_config;

void mrx_config_init(mrx_config *self);
void mrx_config_release(mrx_config *self);

/* Read and check path; on failure the message names the file and key. */
int mrx_config_load(mrx_config *self, const char *path);

/* Write self to path atomically (mode 0600). */
int mrx_config_save(const mrx_config *self, const char *path);

/* Add an endpoint to listen on (copied). */
int mrx_config_add_listen(mrx_config *self, const char *endpoint);

#endif

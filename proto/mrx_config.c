/*
 * mrx_config: mrxd.conf through jansson.
 */
#include "mrx_config.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The numeric tunables: where each lives, its default and range. */
static const struct tunable {
    const char *key;
    size_t offset;
    long def, min, max;
} tunables[] = {
    {"sync_interval", offsetof(mrx_config, sync_interval), MRX_CONFIG_SYNC_INTERVAL_DEFAULT, 5,
     86400},
    {"workers", offsetof(mrx_config, workers), MRX_CONFIG_WORKERS_DEFAULT, 1, 16},
    {"request_max", offsetof(mrx_config, request_max), MRX_CONFIG_REQUEST_MAX_DEFAULT, 1024,
     MRX_CONFIG_REQUEST_MAX_LIMIT},
    {"report_interval", offsetof(mrx_config, report_interval), MRX_CONFIG_REPORT_INTERVAL_DEFAULT,
     60, 31536000},
};

#define N_TUNABLES (sizeof tunables / sizeof tunables[0])

static const char *const log_levels[] = {"error", "warning", "info", "debug"};

const char *
mrx_log_level_name(mrx_log_level level)
{
    return (size_t)level < sizeof log_levels / sizeof log_levels[0] ? log_levels[level] : "?";
}

static long *
tunable_at(mrx_config *self, const struct tunable *t)
{
    return (long *)((char *)self + t->offset);
}

void
mrx_config_init(mrx_config *self)
{
    memset(self, 0, sizeof *self);
    for (size_t i = 0; i < N_TUNABLES; i++)
        *tunable_at(self, &tunables[i]) = tunables[i].def;
    self->log_level = MRX_LOG_INFO;
}

/* A numeric tunable: an integer within its range. */
static int
tunable_value(mrx_config *self, const struct tunable *t, json_t *value, const char *path)
{
    json_int_t v;

    if (!json_is_integer(value))
        return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be a whole number", path, t->key);
    v = json_integer_value(value);
    if (v < t->min || v > t->max)
        return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be between %ld and %ld, not %lld", path,
                             t->key, t->min, t->max, (long long)v);
    *tunable_at(self, t) = (long)v;
    return 0;
}

static const struct tunable *
tunable_named(const char *key)
{
    for (size_t i = 0; i < N_TUNABLES; i++)
        if (strcmp(tunables[i].key, key) == 0)
            return &tunables[i];
    return NULL;
}

void
mrx_config_release(mrx_config *self)
{
    for (size_t i = 0; i < self->n_listen; i++)
        free(self->listen[i]);
    memset(self, 0, sizeof *self);
}

int
mrx_config_add_listen(mrx_config *self, const char *endpoint)
{
    if (!mrx_endpoint_valid(endpoint))
        return mrx_error_set(MRX_EINVAL, "bad endpoint \"%.64s\" (tcp://HOST:PORT expected)",
                             endpoint);
    if (self->n_listen == MRX_CERT_ENDPOINTS_MAX)
        return mrx_error_set(MRX_ELIMIT, "more than %d listen endpoints", MRX_CERT_ENDPOINTS_MAX);
    for (size_t i = 0; i < self->n_listen; i++)
        if (strcmp(self->listen[i], endpoint) == 0)
            return mrx_error_set(MRX_EINVAL, "endpoint %s given twice", endpoint);
    if (!(self->listen[self->n_listen] = strdup(endpoint)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    self->n_listen++;
    return 0;
}

static int
string_value(const char **out, json_t *value, const char *path, const char *key)
{
    if (!json_is_string(value))
        return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be a string", path, key);
    *out = json_string_value(value);
    return 0;
}

int
mrx_config_load(mrx_config *self, const char *path)
{
    json_error_t jerr;
    json_t *root = NULL, *value;
    const char *key, *s = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;

    mrx_config_init(self);
    if ((rc = mrx_fs_read_file(&text, &len, path, MRX_CONFIG_MAX)) < 0)
        return rc;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = mrx_error_set(MRX_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = mrx_error_set(MRX_EINVAL, "%s: must hold one JSON object", path);
        goto out;
    }
    json_object_foreach(root, key, value) {
        if (strcmp(key, "name") == 0) {
            if ((rc = string_value(&s, value, path, key)) < 0)
                goto out;
            if (!mrx_text_is_single_line(s, MRX_NAME_MAX) || strpbrk(s, "<>()")) {
                rc = mrx_error_set(MRX_EINVAL, "%s: \"name\" must be 1-%d characters on one "
                                               "line, none of <>()",
                                   path, MRX_NAME_MAX);
                goto out;
            }
            strcpy(self->name, s);
        } else if (strcmp(key, "role") == 0) {
            if ((rc = string_value(&s, value, path, key)) < 0)
                goto out;
            if ((rc = mrx_role_parse(&self->role, s)) < 0) {
                mrx_error_wrap(rc, "%s: \"role\"", path);
                goto out;
            }
        } else if (strcmp(key, "fingerprint") == 0) {
            if ((rc = string_value(&s, value, path, key)) < 0)
                goto out;
            if (!mrx_text_is_fpr(s)) {
                rc = mrx_error_set(MRX_EINVAL, "%s: \"fingerprint\" must be 40 uppercase hex "
                                               "digits",
                                   path);
                goto out;
            }
            strcpy(self->fpr, s);
        } else if (strcmp(key, "listen") == 0) {
            size_t i;
            json_t *item;
            if (!json_is_array(value)) {
                rc = mrx_error_set(MRX_EINVAL, "%s: \"listen\" must be an array of endpoints",
                                   path);
                goto out;
            }
            json_array_foreach(value, i, item) {
                if ((rc = string_value(&s, item, path, key)) < 0 ||
                    (rc = mrx_config_add_listen(self, s)) < 0) {
                    mrx_error_wrap(rc, "%s: \"listen\"", path);
                    goto out;
                }
            }
        } else if (strcmp(key, "log_level") == 0) {
            size_t i;
            if ((rc = string_value(&s, value, path, key)) < 0)
                goto out;
            for (i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++)
                if (strcmp(s, log_levels[i]) == 0)
                    break;
            if (i == sizeof log_levels / sizeof log_levels[0]) {
                rc = mrx_error_set(MRX_EINVAL, "%s: \"log_level\" must be error, warning, info or "
                                               "debug, not \"%.20s\"",
                                   path, s);
                goto out;
            }
            self->log_level = (mrx_log_level)i;
        } else if (tunable_named(key)) {
            if ((rc = tunable_value(self, tunable_named(key), value, path)) < 0)
                goto out;
        } else {
            rc = mrx_error_set(MRX_EINVAL, "%s: unknown setting \"%.40s\"", path, key);
            goto out;
        }
    }
    if (!self->name[0] || !self->fpr[0] || !json_object_get(root, "role")) {
        rc = mrx_error_set(MRX_EINVAL, "%s: \"name\", \"role\" and \"fingerprint\" are required",
                           path);
        goto out;
    }
out:
    json_decref(root);
    free(text);
    if (rc < 0)
        mrx_config_release(self);
    return rc;
}

int
mrx_config_save(const mrx_config *self, const char *path)
{
    json_t *root = json_object(), *listen = json_array();
    char *text = NULL;
    int rc = 0;

    if (!root || !listen) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < self->n_listen; i++)
        json_array_append_new(listen, json_string(self->listen[i]));
    json_object_set_new(root, "name", json_string(self->name));
    json_object_set_new(root, "role", json_string(mrx_role_name(self->role)));
    json_object_set_new(root, "fingerprint", json_string(self->fpr));
    json_object_set(root, "listen", listen);
    for (size_t i = 0; i < N_TUNABLES; i++)
        json_object_set_new(root, tunables[i].key,
                            json_integer(*tunable_at((mrx_config *)self, &tunables[i])));
    json_object_set_new(root, "log_level", json_string(mrx_log_level_name(self->log_level)));
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    {
        size_t len = strlen(text);
        char *with_newline = realloc(text, len + 2);
        if (!with_newline) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            goto out;
        }
        text = with_newline;
        strcpy(text + len, "\n");
        rc = mrx_fs_write_atomic(path, text, len + 1, 0600);
    }
out:
    free(text);
    json_decref(listen);
    json_decref(root);
    return rc;
}

/*
 * mrx_control: control API messages through jansson.
 */
#include "mrx_control.h"
#include "mrx_error.h"

#include <stdlib.h>
#include <string.h>

void
mrx_control_request_release(mrx_control_request *self)
{
    json_decref(self->params);
    memset(self, 0, sizeof *self);
}

/* A request or tag name: printable ASCII without quotes or spaces. */
static int
plain_word(const char *s, size_t max)
{
    size_t len = strlen(s);

    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

int
mrx_control_request_parse(mrx_control_request *out, const char *buf, size_t len, size_t max)
{
    json_error_t jerr;
    json_t *root = NULL, *value;
    const char *key;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (len > max)
        return mrx_error_set(MRX_ELIMIT, "request is %zu bytes, the limit is %zu", len, max);
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return mrx_error_set(MRX_EINVAL, "request is not JSON: %s (at byte %d)", jerr.text,
                             jerr.position);
    if (!json_is_object(root)) {
        rc = mrx_error_set(MRX_EINVAL, "request must be a JSON object");
        goto out;
    }
    /* the tag first, wherever it is, so a refusal can carry it */
    value = json_object_get(root, "tag");
    if (json_is_string(value) && plain_word(json_string_value(value), MRX_CONTROL_TAG_MAX))
        strcpy(out->tag, json_string_value(value));
    json_object_foreach(root, key, value) {
        if (strcmp(key, "request") == 0) {
            if (!json_is_string(value) ||
                !plain_word(json_string_value(value), MRX_CONTROL_NAME_MAX)) {
                rc = mrx_error_set(MRX_EINVAL, "\"request\" must be a request name (1-%d "
                                               "printable characters, no spaces or quotes)",
                                   MRX_CONTROL_NAME_MAX);
                goto out;
            }
            strcpy(out->name, json_string_value(value));
        } else if (strcmp(key, "tag") == 0) {
            if (!json_is_string(value) || !plain_word(json_string_value(value), MRX_CONTROL_TAG_MAX)) {
                rc = mrx_error_set(MRX_EINVAL, "\"tag\" must be a string of 1-%d printable "
                                               "characters without spaces or quotes",
                                   MRX_CONTROL_TAG_MAX);
                goto out;
            }
            strcpy(out->tag, json_string_value(value));
        } else if (strcmp(key, "params") == 0) {
            if (!json_is_object(value)) {
                rc = mrx_error_set(MRX_EINVAL, "\"params\" must be a JSON object");
                goto out;
            }
            out->params = json_incref(value);
        } else {
            rc = mrx_error_set(MRX_EINVAL, "unknown member \"%.32s\" in the request", key);
            goto out;
        }
    }
    if (!out->name[0]) {
        rc = mrx_error_set(MRX_EINVAL, "\"request\" is missing");
        goto out;
    }
    if (!out->params && !(out->params = json_object()))
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
out:
    json_decref(root);
    if (rc < 0) {
        /* the tag is kept, so even a refusal can be matched to its request */
        char tag[MRX_CONTROL_TAG_MAX + 1];
        memcpy(tag, out->tag, sizeof tag);
        mrx_control_request_release(out);
        memcpy(out->tag, tag, sizeof tag);
    }
    return rc;
}

char *
mrx_control_request_encode(const char *name, json_t *params)
{
    json_t *root = json_pack("{s:s}", "request", name);
    char *text;

    if (!root)
        return NULL;
    if (params)
        json_object_set(root, "params", params);
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

static int
check_string(const char *req, const char *name, json_t *value, int path, size_t max)
{
    const char *s;

    if (!json_is_string(value))
        return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be a string", req, name);
    s = json_string_value(value);
    if (json_string_length(value) == 0 || json_string_length(value) > max ||
        strlen(s) != json_string_length(value))
        return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be 1-%zu bytes without NUL", req, name,
                             max);
    if (path && s[0] != '/')
        return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be an absolute path", req, name);
    return 0;
}

int
mrx_control_check_params(const mrx_control_request *req, const mrx_control_param *spec, size_t n)
{
    const char *key;
    json_t *value, *item;
    size_t i, j;
    int rc;

    json_object_foreach(req->params, key, value) {
        for (i = 0; i < n; i++)
            if (strcmp(spec[i].name, key) == 0)
                break;
        if (i == n)
            return mrx_error_set(MRX_EINVAL, "%s: unknown parameter \"%.32s\"", req->name, key);
        switch (spec[i].type) {
        case MRX_PARAM_STRING:
        case MRX_PARAM_PATH:
            if ((rc = check_string(req->name, key, value, spec[i].type == MRX_PARAM_PATH,
                                   MRX_CONTROL_STRING_MAX)) < 0)
                return rc;
            break;
        case MRX_PARAM_DOCUMENT:
            if ((rc = check_string(req->name, key, value, 0, MRX_CONTROL_DOCUMENT_MAX)) < 0)
                return rc;
            break;
        case MRX_PARAM_BOOL:
            if (!json_is_boolean(value))
                return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be true or false", req->name,
                                     key);
            break;
        case MRX_PARAM_STRINGS:
        case MRX_PARAM_PATHS:
            if (!json_is_array(value) || json_array_size(value) == 0 ||
                json_array_size(value) > MRX_CONTROL_ARRAY_MAX)
                return mrx_error_set(MRX_EINVAL, "%s: \"%s\" must be an array of 1-%d strings",
                                     req->name, key, MRX_CONTROL_ARRAY_MAX);
            json_array_foreach(value, j, item) {
                if ((rc = check_string(req->name, key, item, spec[i].type == MRX_PARAM_PATHS,
                                       MRX_CONTROL_STRING_MAX)) < 0)
                    return rc;
            }
            break;
        }
    }
    for (i = 0; i < n; i++)
        if (spec[i].required && !json_object_get(req->params, spec[i].name))
            return mrx_error_set(MRX_EINVAL, "%s: \"%s\" is required", req->name, spec[i].name);
    return 0;
}

const char *
mrx_control_string(const mrx_control_request *req, const char *name)
{
    return json_string_value(json_object_get(req->params, name));
}

int
mrx_control_flag(const mrx_control_request *req, const char *name)
{
    return json_is_true(json_object_get(req->params, name));
}

json_t *
mrx_control_array(const mrx_control_request *req, const char *name)
{
    json_t *value = json_object_get(req->params, name);

    return json_is_array(value) ? value : NULL;
}

/* {"tag": tag, kind: body} as compact text; steals body. */
static char *
reply(const char *tag, const char *kind, json_t *body)
{
    json_t *root = json_object();
    char *text = NULL;

    if (root && body) {
        if (tag && tag[0])
            json_object_set_new(root, "tag", json_string(tag));
        json_object_set(root, kind, body);
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(body);
    json_decref(root);
    return text;
}

char *
mrx_control_result(const char *tag, json_t *result)
{
    return reply(tag, "result", result);
}

char *
mrx_control_error(const char *tag, int code, const char *message)
{
    return reply(tag, "error",
                 json_pack("{s:s,s:s,s:i}", "kind", mrx_error_name(code), "message", message,
                           "exit", mrx_error_exit_code(code)));
}

char *
mrx_control_progress(const char *tag, const char *stage, uint64_t done, uint64_t total)
{
    return reply(tag, "progress",
                 json_pack("{s:s,s:I,s:I}", "stage", stage, "done",
                           (json_int_t)(done > INT64_MAX ? INT64_MAX : done), "total",
                           (json_int_t)(total > INT64_MAX ? INT64_MAX : total)));
}

int
mrx_control_reply_parse(mrx_control_reply_kind *kind, json_t **body, const char *buf, size_t len)
{
    json_t *root = json_loadb(buf, len, 0, NULL), *value;
    const char *kind_name, *message;
    int rc = 0;

    *body = NULL;
    if (!root || !json_is_object(root)) {
        rc = mrx_error_set(MRX_EFORMAT, "mrxd sent a reply that is not a JSON object");
        goto out;
    }
    if (!!json_object_get(root, "result") + !!json_object_get(root, "progress") +
            !!json_object_get(root, "error") !=
        1) {
        rc = mrx_error_set(MRX_EFORMAT, "mrxd sent a reply that is not exactly one of result, "
                                        "progress or error");
    } else if ((value = json_object_get(root, "result"))) {
        *kind = MRX_REPLY_RESULT;
        *body = json_incref(value);
    } else if ((value = json_object_get(root, "progress")) && json_is_object(value) &&
               json_is_string(json_object_get(value, "stage")) &&
               json_is_integer(json_object_get(value, "done")) &&
               json_is_integer(json_object_get(value, "total"))) {
        *kind = MRX_REPLY_PROGRESS;
        *body = json_incref(value);
    } else if ((value = json_object_get(root, "error")) &&
               (kind_name = json_string_value(json_object_get(value, "kind"))) &&
               (message = json_string_value(json_object_get(value, "message")))) {
        *kind = MRX_REPLY_ERROR;
        rc = mrx_error_set(mrx_error_code_named(kind_name), "%s", message);
    } else {
        rc = mrx_error_set(MRX_EFORMAT, "mrxd sent a reply of no known kind");
    }
out:
    json_decref(root);
    return rc;
}

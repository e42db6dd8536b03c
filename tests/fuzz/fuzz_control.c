/*
 * fuzz_control: proto/mrx_control.c against arbitrary bytes from a control
 * socket, read both as a request (as mrxd does) and as a reply (as mrx
 * does). What a parser accepts must hold the invariants it promises, and
 * survive being encoded and parsed again.
 */
#include "mrx_control.h"
#include "mrx_error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 65536

/* One parameter of each type, one of them required. */
static const mrx_control_param spec[] = {
    {"case", MRX_PARAM_STRING, 1},     {"title", MRX_PARAM_STRING, 0}, {"file", MRX_PARAM_PATH, 0},
    {"members", MRX_PARAM_STRINGS, 0}, {"files", MRX_PARAM_PATHS, 0},
    {"certificate", MRX_PARAM_DOCUMENT, 0}, {"wait", MRX_PARAM_BOOL, 0},
};

#define N_SPEC (sizeof spec / sizeof spec[0])

/* What plain_word promises: 1 to max printable ASCII bytes, none of them a
 * space, a quote or a backslash. */
static int
is_word(const char *s, size_t max)
{
    size_t len = strlen(s);

    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

/* The error message is always one line. */
static void
check_message(void)
{
    if (strpbrk(mrx_error_last(), "\r\n"))
        abort();
}

/* A checked string parameter: 1 to max bytes without NUL, absolute if a
 * path. */
static int
string_within(json_t *value, int path, size_t max)
{
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);

    return s && len > 0 && len <= max && strlen(s) == len && (!path || s[0] == '/');
}

static int
string_ok(json_t *value, int path)
{
    return string_within(value, path, MRX_CONTROL_STRING_MAX);
}

/* check_params passed: every member is in spec and of its type, every
 * required one is there. */
static void
check_checked(const mrx_control_request *req)
{
    const char *key;
    json_t *value, *item;
    size_t i, j;

    json_object_foreach(req->params, key, value) {
        for (i = 0; i < N_SPEC; i++)
            if (strcmp(spec[i].name, key) == 0)
                break;
        if (i == N_SPEC)
            abort();
        switch (spec[i].type) {
        case MRX_PARAM_STRING:
        case MRX_PARAM_PATH:
            if (!string_ok(value, spec[i].type == MRX_PARAM_PATH) ||
                mrx_control_string(req, key) != json_string_value(value))
                abort();
            break;
        case MRX_PARAM_DOCUMENT:
            if (!string_within(value, 0, MRX_CONTROL_DOCUMENT_MAX) ||
                mrx_control_string(req, key) != json_string_value(value))
                abort();
            break;
        case MRX_PARAM_STRINGS:
        case MRX_PARAM_PATHS:
            if (mrx_control_array(req, key) != value || json_array_size(value) == 0 ||
                json_array_size(value) > MRX_CONTROL_ARRAY_MAX)
                abort();
            json_array_foreach(value, j, item) {
                if (!string_ok(item, spec[i].type == MRX_PARAM_PATHS))
                    abort();
            }
            break;
        case MRX_PARAM_BOOL:
            if (!json_is_boolean(value) || mrx_control_flag(req, key) != json_is_true(value))
                abort();
            break;
        }
    }
    for (i = 0; i < N_SPEC; i++)
        if (spec[i].required && !json_object_get(req->params, spec[i].name))
            abort();
}

/* A parsed request encodes and parses back to the same name and params
 * (its text may grow: 1e5 comes back as 100000.0); its replies parse back
 * to what they carried. */
static void
round_trip(const mrx_control_request *req)
{
    mrx_control_request back;
    mrx_control_reply_kind kind;
    json_t *body = NULL;
    char *text = mrx_control_request_encode(req->name, req->params);

    if (!text || mrx_control_request_parse(&back, text, strlen(text), strlen(text)) != 0 ||
        strcmp(back.name, req->name) != 0 || back.tag[0] || !json_equal(back.params, req->params))
        abort();
    mrx_control_request_release(&back);
    free(text);

    text = mrx_control_result(req->tag, json_deep_copy(req->params));
    if (!text || mrx_control_reply_parse(&kind, &body, text, strlen(text)) != 0 ||
        kind != MRX_REPLY_RESULT || !json_equal(body, req->params))
        abort();
    json_decref(body);
    free(text);

    text = mrx_control_progress(req->tag, req->name, 1, 2);
    if (!text || mrx_control_reply_parse(&kind, &body, text, strlen(text)) != 0 ||
        kind != MRX_REPLY_PROGRESS || !json_is_string(json_object_get(body, "stage")) ||
        strcmp(json_string_value(json_object_get(body, "stage")), req->name) != 0)
        abort();
    json_decref(body);
    free(text);

    text = mrx_control_error(req->tag, MRX_ENOTFOUND, req->name);
    body = (json_t *)&body;
    if (!text || mrx_control_reply_parse(&kind, &body, text, strlen(text)) != MRX_ENOTFOUND ||
        kind != MRX_REPLY_ERROR || body || strcmp(mrx_error_last(), req->name) != 0)
        abort();
    free(text);
}

static void
fuzz_request(const uint8_t *data, size_t size)
{
    mrx_control_request req;
    int rc = mrx_control_request_parse(&req, (const char *)data, size, MAX);

    check_message();
    if (rc == 0) {
        if (!is_word(req.name, MRX_CONTROL_NAME_MAX) ||
            (req.tag[0] && !is_word(req.tag, MRX_CONTROL_TAG_MAX)) || !json_is_object(req.params))
            abort();
        rc = mrx_control_check_params(&req, spec, N_SPEC);
        check_message();
        if (rc == 0)
            check_checked(&req);
        else if (rc != MRX_EINVAL)
            abort();
        round_trip(&req);
    } else {
        /* refused: nothing kept but a valid tag */
        if (rc != MRX_EINVAL && rc != MRX_ELIMIT && rc != MRX_ENOMEM)
            abort();
        if (req.name[0] || req.params || (req.tag[0] && !is_word(req.tag, MRX_CONTROL_TAG_MAX)))
            abort();
    }
    mrx_control_request_release(&req);
    if (req.name[0] || req.tag[0] || req.params)
        abort();

    /* one byte over the limit is refused before it is read */
    if (size > 0) {
        if (mrx_control_request_parse(&req, (const char *)data, size, size - 1) != MRX_ELIMIT ||
            req.name[0] || req.tag[0] || req.params)
            abort();
        mrx_control_request_release(&req);
    }
}

static void
fuzz_reply(const uint8_t *data, size_t size)
{
    const mrx_control_reply_kind unset = (mrx_control_reply_kind)-1;
    mrx_control_reply_kind kind = unset;
    json_t *body = (json_t *)&body;
    int rc = mrx_control_reply_parse(&kind, &body, (const char *)data, size);

    check_message();
    if (rc == 0) {
        if ((kind != MRX_REPLY_RESULT && kind != MRX_REPLY_PROGRESS) || !body ||
            (kind == MRX_REPLY_PROGRESS && !json_is_object(body)))
            abort();
        json_decref(body);
    } else if (rc < MRX_EUNAVAILABLE || rc > MRX_EINVAL || body) {
        abort();
    } else if (kind != MRX_REPLY_ERROR && (kind != unset || rc != MRX_EFORMAT)) {
        /* only an error reply carries its own code; the rest is malformed */
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_request(data, size);
    fuzz_reply(data, size);
    return 0;
}

/*
 * mrx_control: the messages of mrxd's local control API
 * (docs/control-api.md). A request names what to do and carries its
 * parameters; the daemon answers with any number of progress replies and
 * then exactly one result or one error. Both the daemon and the client
 * read and write them here; the sockets are theirs.
 */
#ifndef MRX_CONTROL_H
#define MRX_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MRX_CONTROL_SOCKET "mrxd.sock" /* the control socket, in the node home */
#define MRX_CONTROL_PIDFILE "mrxd.pid" /* held locked by the running daemon */
#define MRX_CONTROL_NAME_MAX 32        /* bytes of a request name */
#define MRX_CONTROL_TAG_MAX 64         /* bytes of a request's tag */
#define MRX_CONTROL_STRING_MAX 4096    /* bytes of one string parameter */
#define MRX_CONTROL_ARRAY_MAX 1024     /* items of one array parameter */
#define MRX_CONTROL_DOCUMENT_MAX (64 * 1024) /* bytes of a document parameter */

/* A request, parsed and checked for shape (not yet for meaning). */
typedef struct mrx_control_request {
    char name[MRX_CONTROL_NAME_MAX + 1]; /* "case-new", ... */
    char tag[MRX_CONTROL_TAG_MAX + 1];   /* echoed in every reply; "" if none */
    json_t *params;                      /* the parameters object (owned) */
} mrx_control_request;

/* Parse one request of len bytes. Refuses anything over max bytes, text
 * that is not one JSON object, unknown members, and members of the wrong
 * type, each with a one-line message. On success release *out with
 * mrx_control_request_release. */
int mrx_control_request_parse(mrx_control_request *out, const char *buf, size_t len, size_t max);
void mrx_control_request_release(mrx_control_request *self);

/* The JSON text of a request (params borrowed, may be NULL); free it. */
char *mrx_control_request_encode(const char *name, json_t *params);

/* What a request's parameters must look like. */
typedef enum mrx_control_type {
    MRX_PARAM_STRING,  /* a string of 1 to MRX_CONTROL_STRING_MAX bytes, no NUL */
    MRX_PARAM_STRINGS, /* an array of 1 to MRX_CONTROL_ARRAY_MAX such strings */
    MRX_PARAM_PATH,    /* a string that is an absolute path */
    MRX_PARAM_PATHS,   /* an array of absolute paths */
    MRX_PARAM_DOCUMENT, /* a string of 1 to MRX_CONTROL_DOCUMENT_MAX bytes (a certificate) */
    MRX_PARAM_BOOL,    /* true or false */
} mrx_control_type;

typedef struct mrx_control_param {
    const char *name;      /* member of params */
    mrx_control_type type; /* its shape */
    int required;          /* whether it must be there */
} mrx_control_param;

/* Check req's parameters against spec: every member known, of its type,
 * every required one present. */
int mrx_control_check_params(const mrx_control_request *req, const mrx_control_param *spec,
                             size_t n);

/* A checked string parameter, or NULL if absent (borrowed). */
const char *mrx_control_string(const mrx_control_request *req, const char *name);
/* A checked array parameter, or NULL if absent (borrowed). */
json_t *mrx_control_array(const mrx_control_request *req, const char *name);
/* Whether the (checked) boolean parameter name is true; absent is false. */
int mrx_control_flag(const mrx_control_request *req, const char *name);

/* Replies, as JSON text to send (free it); tag may be "" or NULL. */
char *mrx_control_result(const char *tag, json_t *result); /* steals result */
char *mrx_control_error(const char *tag, int code, const char *message);
char *mrx_control_progress(const char *tag, const char *stage, uint64_t done, uint64_t total);

typedef enum mrx_control_reply_kind {
    MRX_REPLY_PROGRESS, /* body: {"stage", "done", "total"} */
    MRX_REPLY_RESULT,   /* body: the request's result */
    MRX_REPLY_ERROR,    /* the error is set (mrx_error_last) and returned */
} mrx_control_reply_kind;

/* Parse a reply. For a result or progress *body is a new reference; for
 * an error reply the daemon's message becomes the current error and its
 * code is returned. A malformed reply is MRX_EFORMAT. */
int mrx_control_reply_parse(mrx_control_reply_kind *kind, json_t **body, const char *buf,
                            size_t len);

#endif

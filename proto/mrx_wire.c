/*
 * mrx_wire: sync messages to and from frames, every field checked.
 */
#include "mrx_wire.h"
#include "mrx_error.h"
#include "mrx_text.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
    [MRX_WIRE_HELLO] = "HELLO",     [MRX_WIRE_CASES] = "CASES", [MRX_WIRE_CASES_OK] = "CASES-OK",
    [MRX_WIRE_HEADS] = "HEADS",     [MRX_WIRE_HEADS_OK] = "HEADS-OK",
    [MRX_WIRE_FEEDS] = "FEEDS",     [MRX_WIRE_PACK] = "PACK",   [MRX_WIRE_NOTIFY] = "NOTIFY",
    [MRX_WIRE_ERROR] = "ERROR",     [MRX_WIRE_FETCH] = "FETCH", [MRX_WIRE_CHUNK] = "CHUNK",
    [MRX_WIRE_CREDIT] = "CREDIT",   [MRX_WIRE_VIEW] = "VIEW",
};

#define N_COMMANDS (sizeof names / sizeof names[0])
#define ZERO_COMMIT "0000000000000000000000000000000000000000"

const char *
mrx_wire_command_name(mrx_wire_command command)
{
    return (size_t)command < N_COMMANDS ? names[command] : "?";
}

mrx_wire_msg *
mrx_wire_msg_new(mrx_wire_command command)
{
    mrx_wire_msg *self = calloc(1, sizeof *self);

    if (self)
        self->command = command;
    return self;
}

void
mrx_wire_msg_destroy(mrx_wire_msg **self_p)
{
    mrx_wire_msg *self = *self_p;

    if (!self)
        return;
    free(self->text);
    free(self->cases);
    free(self->feeds);
    if (!self->data_borrowed)
        free(self->data);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------
 * Decoding: a cursor over the frames; each reader checks one field.
 */

struct cursor {
    zmsg_t *msg;
    zframe_t *frame; /* the next frame to read, or NULL at the end */
    const char *command;
    mrx_wire_error code; /* why it failed */
};

static int
malformed(struct cursor *c, mrx_wire_error code, const char *what)
{
    c->code = code;
    return mrx_error_set(MRX_EFORMAT, "%s: %s", c->command, what);
}

static zframe_t *
next(struct cursor *c)
{
    zframe_t *f = c->frame;

    if (f)
        c->frame = zmsg_next(c->msg);
    return f;
}

static int
read_u64(struct cursor *c, uint64_t *out, const char *what)
{
    zframe_t *f = next(c);
    const unsigned char *p;
    uint64_t v = 0;

    if (!f || zframe_size(f) != 8)
        return malformed(c, MRX_WIRE_EMALFORMED, what);
    p = zframe_data(f);
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    *out = v;
    return 0;
}

/* A fixed-size field of hex digits of one case. */
static int
read_hex(struct cursor *c, char *out, size_t len, int upper, const char *what)
{
    zframe_t *f = next(c);
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    const char *p;

    if (!f || zframe_size(f) != len)
        return malformed(c, MRX_WIRE_EMALFORMED, what);
    p = (const char *)zframe_data(f);
    for (size_t i = 0; i < len; i++)
        if (!p[i] || !strchr(digits, p[i]))
            return malformed(c, MRX_WIRE_EMALFORMED, what);
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static int
read_commit(struct cursor *c, char out[MRX_WIRE_COMMIT_LEN + 1], int zero_ok, const char *what)
{
    int rc = read_hex(c, out, MRX_WIRE_COMMIT_LEN, 0, what);

    if (rc == 0 && strcmp(out, ZERO_COMMIT) == 0) {
        if (!zero_ok)
            return malformed(c, MRX_WIRE_EMALFORMED, what);
        out[0] = '\0';
    }
    return rc;
}

/* Text of 1 to max bytes without NUL; one line if single_line. */
static int
read_text(struct cursor *c, char **out, size_t max, int single_line, const char *what)
{
    zframe_t *f = next(c);
    size_t len;

    if (!f)
        return malformed(c, MRX_WIRE_EMALFORMED, what);
    len = zframe_size(f);
    if (len == 0 || len > max)
        return malformed(c, len ? MRX_WIRE_ELIMIT : MRX_WIRE_EMALFORMED, what);
    if (memchr(zframe_data(f), '\0', len))
        return malformed(c, MRX_WIRE_EMALFORMED, what);
    if (!(*out = malloc(len + 1)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    memcpy(*out, zframe_data(f), len);
    (*out)[len] = '\0';
    if (single_line && !mrx_text_is_single_line(*out, max)) {
        free(*out);
        *out = NULL;
        return malformed(c, MRX_WIRE_EMALFORMED, what);
    }
    return 0;
}

static int
read_count(struct cursor *c, size_t *out, size_t max, const char *what)
{
    uint64_t n;
    int rc;

    if ((rc = read_u64(c, &n, what)) < 0)
        return rc;
    if (n > max)
        return malformed(c, MRX_WIRE_ELIMIT, what);
    *out = (size_t)n;
    return 0;
}

/* n feeds of author, commit (and with_events, a count), each author once. */
static int
read_feeds(struct cursor *c, mrx_wire_msg *m, int zero_ok, int with_events)
{
    int rc;

    if ((rc = read_count(c, &m->n_feeds, MRX_WIRE_FEEDS_MAX, "feed count")) < 0)
        return rc;
    if (m->n_feeds && !(m->feeds = calloc(m->n_feeds, sizeof *m->feeds)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_feeds; i++) {
        mrx_wire_feed *f = &m->feeds[i];
        if ((rc = read_hex(c, f->author, MRX_FPR_LEN, 1, "feed author")) < 0 ||
            (rc = read_commit(c, f->commit, zero_ok, "feed commit")) < 0 ||
            (with_events && (rc = read_u64(c, &f->events, "feed events")) < 0))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->feeds[j].author, f->author) == 0)
                return malformed(c, MRX_WIRE_EMALFORMED, "a feed listed twice");
    }
    return 0;
}

static int
read_data(struct cursor *c, mrx_wire_msg *m, size_t max, const char *what)
{
    zframe_t *f = next(c);

    if (!f)
        return malformed(c, MRX_WIRE_EMALFORMED, what);
    if (zframe_size(f) > max)
        return malformed(c, MRX_WIRE_ELIMIT, what);
    m->data_len = zframe_size(f);
    if (m->command == MRX_WIRE_CHUNK) {
        /* the bulk of a transfer: read where it lies */
        m->data = zframe_data(f);
        m->data_borrowed = 1;
        return 0;
    }
    if (!(m->data = malloc(m->data_len ? m->data_len : 1)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    memcpy(m->data, zframe_data(f), m->data_len);
    return 0;
}

/* A credit: 1 to MRX_WIRE_CREDIT_MAX chunks. */
static int
read_credit(struct cursor *c, mrx_wire_msg *m)
{
    int rc;

    if ((rc = read_u64(c, &m->credit, "credit")) < 0)
        return rc;
    if (m->credit == 0)
        return malformed(c, MRX_WIRE_EMALFORMED, "credit");
    if (m->credit > MRX_WIRE_CREDIT_MAX)
        return malformed(c, MRX_WIRE_ELIMIT, "credit");
    return 0;
}

/* An offset into a bundle: a whole number of chunks. */
static int
read_offset(struct cursor *c, mrx_wire_msg *m)
{
    int rc;

    if ((rc = read_u64(c, &m->offset, "offset")) < 0)
        return rc;
    if (m->offset % MRX_WIRE_CHUNK_MAX != 0)
        return malformed(c, MRX_WIRE_EMALFORMED, "offset");
    return 0;
}

/* The case and bundle that FETCH, CHUNK and CREDIT begin with. */
static int
read_case_bundle(struct cursor *c, mrx_wire_msg *m)
{
    int rc;

    if ((rc = read_hex(c, m->case_id, MRX_SHA256_HEX_LEN, 0, "case id")) < 0)
        return rc;
    return read_hex(c, m->bundle, MRX_SHA256_HEX_LEN, 0, "bundle id");
}

static int
decode_fields(struct cursor *c, mrx_wire_msg *m)
{
    char *command = NULL;
    int rc = 0;

    switch (m->command) {
    case MRX_WIRE_HELLO:
        return read_text(c, &m->text, MRX_CERT_MAX, 0, "certificate");
    case MRX_WIRE_CASES:
        return 0;
    case MRX_WIRE_CASES_OK:
        if ((rc = read_count(c, &m->n_cases, MRX_WIRE_CASES_MAX, "case count")) < 0)
            return rc;
        if (m->n_cases && !(m->cases = calloc(m->n_cases, sizeof *m->cases)))
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        for (size_t i = 0; i < m->n_cases && rc == 0; i++)
            if ((rc = read_hex(c, m->cases[i].id, MRX_SHA256_HEX_LEN, 0, "case id")) == 0)
                rc = read_hex(c, m->cases[i].owner, MRX_FPR_LEN, 1, "case owner");
        return rc;
    case MRX_WIRE_HEADS:
    case MRX_WIRE_NOTIFY:
        return read_hex(c, m->case_id, MRX_SHA256_HEX_LEN, 0, "case id");
    case MRX_WIRE_HEADS_OK:
        if ((rc = read_hex(c, m->case_id, MRX_SHA256_HEX_LEN, 0, "case id")) < 0)
            return rc;
        return read_feeds(c, m, 0, 1);
    case MRX_WIRE_FEEDS:
        if ((rc = read_hex(c, m->case_id, MRX_SHA256_HEX_LEN, 0, "case id")) < 0)
            return rc;
        return read_feeds(c, m, 1, 0);
    case MRX_WIRE_PACK:
        if ((rc = read_hex(c, m->case_id, MRX_SHA256_HEX_LEN, 0, "case id")) < 0 ||
            (rc = read_feeds(c, m, 0, 0)) < 0)
            return rc;
        return read_data(c, m, MRX_WIRE_PACK_MAX, "pack");
    case MRX_WIRE_ERROR:
        if ((rc = read_text(c, &command, MRX_WIRE_COMMAND_MAX, 1, "refused command")) < 0)
            return rc;
        strcpy(m->error_command, command);
        free(command);
        if ((rc = read_u64(c, &m->error_code, "error code")) < 0)
            return rc;
        return read_text(c, &m->text, MRX_WIRE_ERROR_MAX, 1, "error message");
    case MRX_WIRE_FETCH:
        if ((rc = read_case_bundle(c, m)) < 0 || (rc = read_offset(c, m)) < 0 ||
            (rc = read_credit(c, m)) < 0)
            return rc;
        return read_text(c, &m->text, MRX_WIRE_REQUEST_MAX, 0, "signed request");
    case MRX_WIRE_CHUNK:
        if ((rc = read_case_bundle(c, m)) < 0 || (rc = read_offset(c, m)) < 0 ||
            (rc = read_data(c, m, MRX_WIRE_CHUNK_MAX, "chunk")) < 0)
            return rc;
        return m->data_len ? 0 : malformed(c, MRX_WIRE_EMALFORMED, "an empty chunk");
    case MRX_WIRE_CREDIT:
        if ((rc = read_case_bundle(c, m)) < 0)
            return rc;
        return read_credit(c, m);
    case MRX_WIRE_VIEW:
        if ((rc = read_hex(c, m->case_id, MRX_SHA256_HEX_LEN, 0, "case id")) < 0)
            return rc;
        return read_text(c, &m->text, MRX_WIRE_VIEW_MAX, 0, "view");
    }
    return malformed(c, MRX_WIRE_EUNKNOWN, "unknown command");
}

int
mrx_wire_decode(mrx_wire_msg **out, mrx_wire_error *code, zmsg_t *msg)
{
    struct cursor c = {msg, NULL, "message", MRX_WIRE_EMALFORMED};
    zframe_t *tag, *cmd;
    mrx_wire_msg *m = NULL;
    size_t i;
    int rc;

    *out = NULL;
    *code = MRX_WIRE_EMALFORMED;
    tag = zmsg_first(msg);
    if (!tag || zframe_size(tag) != strlen(MRX_WIRE_TAG) ||
        memcmp(zframe_data(tag), MRX_WIRE_TAG, strlen(MRX_WIRE_TAG)) != 0)
        return mrx_error_set(MRX_EFORMAT, "not an mrx version 1 message");
    if (!(cmd = zmsg_next(msg)))
        return mrx_error_set(MRX_EFORMAT, "message without a command");
    for (i = 0; i < N_COMMANDS; i++)
        if (zframe_size(cmd) == strlen(names[i]) &&
            memcmp(zframe_data(cmd), names[i], zframe_size(cmd)) == 0)
            break;
    if (i == N_COMMANDS) {
        *code = MRX_WIRE_EUNKNOWN;
        return mrx_error_set(MRX_EFORMAT, "unknown command");
    }
    if (!(m = mrx_wire_msg_new((mrx_wire_command)i)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    c.command = names[i];
    c.frame = zmsg_next(msg);
    if ((rc = decode_fields(&c, m)) == 0 && c.frame)
        rc = malformed(&c, MRX_WIRE_EMALFORMED, "more frames than fields");
    if (rc < 0) {
        *code = c.code;
        mrx_wire_msg_destroy(&m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---------------------------------------------------------------------
 * Encoding
 */

static void
add_u64(zmsg_t *msg, uint64_t v)
{
    unsigned char b[8];

    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    zmsg_addmem(msg, b, sizeof b);
}

static void
add_commit(zmsg_t *msg, const char *commit)
{
    zmsg_addstr(msg, commit[0] ? commit : ZERO_COMMIT);
}

static void
add_feeds(zmsg_t *msg, const mrx_wire_msg *m, int with_events)
{
    add_u64(msg, m->n_feeds);
    for (size_t i = 0; i < m->n_feeds; i++) {
        zmsg_addstr(msg, m->feeds[i].author);
        add_commit(msg, m->feeds[i].commit);
        if (with_events)
            add_u64(msg, m->feeds[i].events);
    }
}

zmsg_t *
mrx_wire_encode(const mrx_wire_msg *m)
{
    zmsg_t *msg;

    if (m->n_feeds > MRX_WIRE_FEEDS_MAX || m->n_cases > MRX_WIRE_CASES_MAX ||
        m->data_len > MRX_WIRE_PACK_MAX ||
        (m->command == MRX_WIRE_CHUNK && (m->data_len > MRX_WIRE_CHUNK_MAX || m->data_len == 0)) ||
        ((m->command == MRX_WIRE_FETCH || m->command == MRX_WIRE_CREDIT) &&
         (m->credit == 0 || m->credit > MRX_WIRE_CREDIT_MAX)) ||
        (m->command == MRX_WIRE_FETCH && !m->text) ||
        (m->text && strlen(m->text) > (m->command == MRX_WIRE_HELLO    ? MRX_CERT_MAX
                                       : m->command == MRX_WIRE_VIEW   ? MRX_WIRE_VIEW_MAX
                                       : m->command == MRX_WIRE_FETCH  ? MRX_WIRE_REQUEST_MAX
                                                                       : MRX_WIRE_ERROR_MAX))) {
        mrx_error_set(MRX_ELIMIT, "%s: over a limit of the protocol",
                      mrx_wire_command_name(m->command));
        return NULL;
    }
    if (m->command == MRX_WIRE_CHUNK) {
        zframe_t *data = zframe_new(m->data, m->data_len);
        return data ? mrx_wire_encode_chunk(m->case_id, m->bundle, m->offset, &data) : NULL;
    }
    if (!(msg = zmsg_new()))
        return NULL;
    zmsg_addstr(msg, MRX_WIRE_TAG);
    zmsg_addstr(msg, mrx_wire_command_name(m->command));
    switch (m->command) {
    case MRX_WIRE_HELLO:
        zmsg_addstr(msg, m->text);
        break;
    case MRX_WIRE_CASES:
        break;
    case MRX_WIRE_CASES_OK:
        add_u64(msg, m->n_cases);
        for (size_t i = 0; i < m->n_cases; i++) {
            zmsg_addstr(msg, m->cases[i].id);
            zmsg_addstr(msg, m->cases[i].owner);
        }
        break;
    case MRX_WIRE_HEADS:
    case MRX_WIRE_NOTIFY:
        zmsg_addstr(msg, m->case_id);
        break;
    case MRX_WIRE_HEADS_OK:
        zmsg_addstr(msg, m->case_id);
        add_feeds(msg, m, 1);
        break;
    case MRX_WIRE_FEEDS:
        zmsg_addstr(msg, m->case_id);
        add_feeds(msg, m, 0);
        break;
    case MRX_WIRE_PACK:
        zmsg_addstr(msg, m->case_id);
        add_feeds(msg, m, 0);
        zmsg_addmem(msg, m->data, m->data_len);
        break;
    case MRX_WIRE_ERROR:
        zmsg_addstr(msg, m->error_command);
        add_u64(msg, m->error_code);
        zmsg_addstr(msg, m->text);
        break;
    case MRX_WIRE_FETCH:
    case MRX_WIRE_CREDIT:
        zmsg_addstr(msg, m->case_id);
        zmsg_addstr(msg, m->bundle);
        if (m->command == MRX_WIRE_FETCH)
            add_u64(msg, m->offset);
        add_u64(msg, m->credit);
        if (m->command == MRX_WIRE_FETCH)
            zmsg_addstr(msg, m->text);
        break;
    case MRX_WIRE_CHUNK:
        break; /* above */
    case MRX_WIRE_VIEW:
        zmsg_addstr(msg, m->case_id);
        zmsg_addstr(msg, m->text);
        break;
    }
    return msg;
}

zmsg_t *
mrx_wire_encode_chunk(const char *case_id, const char *bundle, uint64_t offset, zframe_t **data)
{
    size_t size = zframe_size(*data);
    zmsg_t *msg = NULL;

    if (size == 0 || size > MRX_WIRE_CHUNK_MAX)
        mrx_error_set(MRX_ELIMIT, "CHUNK: over a limit of the protocol");
    else if ((msg = zmsg_new())) {
        zmsg_addstr(msg, MRX_WIRE_TAG);
        zmsg_addstr(msg, mrx_wire_command_name(MRX_WIRE_CHUNK));
        zmsg_addstr(msg, case_id);
        zmsg_addstr(msg, bundle);
        add_u64(msg, offset);
        zmsg_append(msg, data);
    }
    zframe_destroy(data);
    return msg;
}

zmsg_t *
mrx_wire_error_msg(const char *command, mrx_wire_error code, const char *message)
{
    mrx_wire_msg m;
    char text[MRX_WIRE_ERROR_MAX + 1];

    memset(&m, 0, sizeof m);
    m.command = MRX_WIRE_ERROR;
    /* one line of UTF-8 within its limit, whatever came in (a message may
     * quote a peer's bytes): what the peer's decoder takes */
    mrx_text_to_single_line(m.error_command, MRX_WIRE_COMMAND_MAX, command, "?");
    m.error_code = (uint64_t)code;
    mrx_text_to_single_line(text, MRX_WIRE_ERROR_MAX, message, "refused");
    m.text = text;
    return mrx_wire_encode(&m);
}

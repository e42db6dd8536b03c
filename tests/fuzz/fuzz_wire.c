/*
 * fuzz_wire: proto/mrx_wire.c against arbitrary frames from a peer. The
 * input is cut into frames, each a length (LEB128: 7 bits a byte, low
 * first, the top bit set on every byte but the last) and that many bytes;
 * a length past the end takes what is left. The frames are decoded as
 * mrxd decodes a message; what is accepted must hold every rule of
 * docs/protocol.md, and encode back to the very same frames. What is
 * refused must say why in one line, with a code of the protocol. Then the
 * first frames are made an ERROR by mrx_wire_error_msg.
 */
#include "mrx_error.h"
#include "mrx_text.h"
#include "mrx_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 once mrx_wire_error_msg makes text the decoder takes of any input
 * (test_wire: wire_error_msg_makes_one_line_text_the_decoder_takes_of_any_input);
 * until then only what it does today is checked. */
#ifndef WIRE_ERROR_MSG_DECODES
#define WIRE_ERROR_MSG_DECODES 1
#endif

/* Frames of at most this many length bytes (2^28 - 1 bytes). */
#define LENGTH_BYTES_MAX 4

/* The input cut into frames. */
static zmsg_t *
frames_of(const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new();
    size_t at = 0;

    if (!msg)
        abort();
    while (at < size) {
        size_t len = 0, shift = 0;
        for (int i = 0; i < LENGTH_BYTES_MAX && at < size; i++, shift += 7) {
            uint8_t b = data[at++];
            len |= (size_t)(b & 0x7f) << shift;
            if (!(b & 0x80))
                break;
        }
        if (len > size - at)
            len = size - at;
        if (zmsg_addmem(msg, data + at, len) != 0)
            abort();
        at += len;
    }
    return msg;
}

static int
is_hex(const char *s, size_t len, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr(digits, s[i]))
            return 0;
    return 1;
}

static int
is_id(const char *s)
{
    return is_hex(s, MRX_SHA256_HEX_LEN, 0);
}

static int
is_commit(const char *s)
{
    return is_hex(s, MRX_WIRE_COMMIT_LEN, 0) && strspn(s, "0") != MRX_WIRE_COMMIT_LEN;
}

static int
text_within(const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0;

    return len > 0 && len <= max;
}

/* What the decoder promises of an accepted message m, decoded from msg. */
static void
check_accepted(const mrx_wire_msg *m, zmsg_t *msg)
{
    mrx_wire_command c = m->command;
    int has_case =
        c != MRX_WIRE_HELLO && c != MRX_WIRE_CASES && c != MRX_WIRE_CASES_OK && c != MRX_WIRE_ERROR;
    int has_bundle = c == MRX_WIRE_FETCH || c == MRX_WIRE_CHUNK || c == MRX_WIRE_CREDIT;
    int has_feeds = c == MRX_WIRE_HEADS_OK || c == MRX_WIRE_FEEDS || c == MRX_WIRE_PACK;

    if ((unsigned)c > MRX_WIRE_VIEW)
        abort();
    if (has_case ? !is_id(m->case_id) : m->case_id[0] != '\0')
        abort();
    if (has_bundle ? !is_id(m->bundle) : m->bundle[0] != '\0')
        abort();
    switch (c) {
    case MRX_WIRE_HELLO:
        if (!text_within(m->text, MRX_CERT_MAX))
            abort();
        break;
    case MRX_WIRE_VIEW:
        if (!text_within(m->text, MRX_WIRE_VIEW_MAX))
            abort();
        break;
    case MRX_WIRE_FETCH:
        if (!text_within(m->text, MRX_WIRE_REQUEST_MAX))
            abort();
        break;
    case MRX_WIRE_ERROR:
        if (!m->text || !mrx_text_is_single_line(m->text, MRX_WIRE_ERROR_MAX) ||
            !mrx_text_is_single_line(m->error_command, MRX_WIRE_COMMAND_MAX))
            abort();
        break;
    default:
        if (m->text)
            abort();
    }
    if (c != MRX_WIRE_ERROR && (m->error_command[0] || m->error_code))
        abort();
    if (c == MRX_WIRE_CASES_OK) {
        if (m->n_cases > MRX_WIRE_CASES_MAX || (m->n_cases && !m->cases))
            abort();
        for (size_t i = 0; i < m->n_cases; i++)
            if (!is_id(m->cases[i].id) || !mrx_text_is_fpr(m->cases[i].owner))
                abort();
    } else if (m->n_cases || m->cases) {
        abort();
    }
    if (has_feeds) {
        if (m->n_feeds > MRX_WIRE_FEEDS_MAX || (m->n_feeds && !m->feeds))
            abort();
        for (size_t i = 0; i < m->n_feeds; i++) {
            const mrx_wire_feed *f = &m->feeds[i];
            if (!mrx_text_is_fpr(f->author) ||
                !(is_commit(f->commit) || (c == MRX_WIRE_FEEDS && f->commit[0] == '\0')) ||
                (c != MRX_WIRE_HEADS_OK && f->events))
                abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(m->feeds[j].author, f->author) == 0)
                    abort();
        }
    } else if (m->n_feeds || m->feeds) {
        abort();
    }
    if (c == MRX_WIRE_FETCH || c == MRX_WIRE_CHUNK) {
        if (m->offset % MRX_WIRE_CHUNK_MAX != 0)
            abort();
    } else if (m->offset) {
        abort();
    }
    if (c == MRX_WIRE_FETCH || c == MRX_WIRE_CREDIT) {
        if (m->credit < 1 || m->credit > MRX_WIRE_CREDIT_MAX)
            abort();
    } else if (m->credit) {
        abort();
    }
    if (c == MRX_WIRE_PACK) {
        if (!m->data || m->data_borrowed || m->data_len > MRX_WIRE_PACK_MAX ||
            m->data_len != zframe_size(zmsg_last(msg)))
            abort();
    } else if (c == MRX_WIRE_CHUNK) {
        /* the bytes are where they lie in msg */
        if (!m->data_borrowed || m->data_len < 1 || m->data_len > MRX_WIRE_CHUNK_MAX ||
            m->data != zframe_data(zmsg_last(msg)) || m->data_len != zframe_size(zmsg_last(msg)))
            abort();
    } else if (m->data || m->data_len || m->data_borrowed) {
        abort();
    }
}

static void
check_equal(const mrx_wire_msg *a, const mrx_wire_msg *b)
{
    if (a->command != b->command || strcmp(a->case_id, b->case_id) != 0 ||
        strcmp(a->bundle, b->bundle) != 0 || a->offset != b->offset || a->credit != b->credit ||
        !a->text != !b->text || (a->text && strcmp(a->text, b->text) != 0) ||
        strcmp(a->error_command, b->error_command) != 0 || a->error_code != b->error_code ||
        a->n_cases != b->n_cases || a->n_feeds != b->n_feeds || a->data_len != b->data_len ||
        (a->data_len && memcmp(a->data, b->data, a->data_len) != 0))
        abort();
    for (size_t i = 0; i < a->n_cases; i++)
        if (strcmp(a->cases[i].id, b->cases[i].id) != 0 ||
            strcmp(a->cases[i].owner, b->cases[i].owner) != 0)
            abort();
    for (size_t i = 0; i < a->n_feeds; i++)
        if (strcmp(a->feeds[i].author, b->feeds[i].author) != 0 ||
            strcmp(a->feeds[i].commit, b->feeds[i].commit) != 0 ||
            a->feeds[i].events != b->feeds[i].events)
            abort();
}

/* The same frames, byte for byte. */
static void
check_same_frames(zmsg_t *a, zmsg_t *b)
{
    zframe_t *fa, *fb;

    if (zmsg_size(a) != zmsg_size(b))
        abort();
    for (fa = zmsg_first(a), fb = zmsg_first(b); fa && fb; fa = zmsg_next(a), fb = zmsg_next(b))
        if (!zframe_eq(fa, fb))
            abort();
}

/* A refusal: no message, a code of the protocol, one line saying why. */
static void
check_refused(int rc, const mrx_wire_msg *m, mrx_wire_error code)
{
    const char *why = mrx_error_last();

    if ((rc != MRX_EFORMAT && rc != MRX_ENOMEM) || m || !why[0] || strpbrk(why, "\r\n"))
        abort();
    if (rc == MRX_EFORMAT && code != MRX_WIRE_EMALFORMED && code != MRX_WIRE_EUNKNOWN &&
        code != MRX_WIRE_ELIMIT)
        abort();
}

/* Decoded, re-encoded to the input's frames, decoded to the same fields
 * and encoded to the same frames again. */
static void
fuzz_decode(zmsg_t *msg)
{
    mrx_wire_msg *m = (mrx_wire_msg *)&m, *again = NULL;
    mrx_wire_error code = (mrx_wire_error)0;
    size_t frames = zmsg_size(msg);
    zmsg_t *wire = NULL, *wire2 = NULL;
    int rc = mrx_wire_decode(&m, &code, msg);

    if (zmsg_size(msg) != frames)
        abort();
    if (rc != 0) {
        check_refused(rc, m, code);
        return;
    }
    if (!m)
        abort();
    check_accepted(m, msg);
    if (!(wire = mrx_wire_encode(m)))
        abort();
    check_same_frames(wire, msg);
    if (mrx_wire_decode(&again, &code, wire) != 0)
        abort();
    check_accepted(again, wire);
    check_equal(m, again);
    if (!(wire2 = mrx_wire_encode(again)))
        abort();
    check_same_frames(wire2, wire);
    zmsg_destroy(&wire2);
    mrx_wire_msg_destroy(&again);
    /* a CHUNK's data lies in wire: it goes after the message */
    zmsg_destroy(&wire);
    mrx_wire_msg_destroy(&m);
    if (m)
        abort();
}

/* A frame as a C string (up to its first NUL); free it. */
static char *
string_of(zframe_t *f)
{
    size_t len = f ? zframe_size(f) : 0;
    char *s = malloc(len + 1);

    if (!s)
        abort();
    if (len)
        memcpy(s, zframe_data(f), len);
    s[len] = '\0';
    return s;
}

/* An ERROR whose command and message are the second and third frames. */
static void
fuzz_error_msg(zmsg_t *msg)
{
    zframe_t *first = zmsg_first(msg);
    zframe_t *command_frame = first ? zmsg_next(msg) : NULL;
    zframe_t *message_frame = command_frame ? zmsg_next(msg) : NULL;
    char *command = string_of(command_frame), *message = string_of(message_frame);
    mrx_wire_error code =
        (mrx_wire_error)(first && zframe_size(first) ? 1 + zframe_data(first)[0] % 7 : 1);
    zmsg_t *wire = mrx_wire_error_msg(command, code, message);
    mrx_wire_msg *m = NULL;
    zframe_t *f;
    size_t len;

    if (!wire || zmsg_size(wire) != 5)
        abort();
    zmsg_first(wire);
    zmsg_next(wire);
    /* the command: 1 to 16 bytes, made one line of UTF-8 */
    f = zmsg_next(wire);
    len = zframe_size(f);
    if (len < 1 || len > MRX_WIRE_COMMAND_MAX)
        abort();
    zmsg_next(wire);
    /* the message: 1 to 512 bytes, no control character below space */
    f = zmsg_next(wire);
    len = zframe_size(f);
    if (len < 1 || len > MRX_WIRE_ERROR_MAX)
        abort();
    for (size_t i = 0; i < len; i++)
        if (zframe_data(f)[i] < 0x20)
            abort();
    if (mrx_wire_decode(&m, &code, wire) == 0) {
        check_accepted(m, wire);
        if (m->command != MRX_WIRE_ERROR)
            abort();
    } else if (WIRE_ERROR_MSG_DECODES) {
        abort();
    }
    mrx_wire_msg_destroy(&m);
    zmsg_destroy(&wire);
    free(command);
    free(message);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zmsg_t *msg = frames_of(data, size);

    fuzz_decode(msg);
    fuzz_error_msg(msg);
    zmsg_destroy(&msg);
    return 0;
}

/*
 * test_wire: proto/mrx_wire.c, the codec of the sync protocol
 * (docs/protocol.md): every command through encode and decode, every
 * refusal with the ERROR code the protocol gives and a message naming the
 * field, the limits on both sides, and the ERROR text made of any input.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_text.h"
#include "mrx_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BUNDLE_ID "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define FPR_A "0123456789ABCDEF0123456789ABCDEF01234567"
#define FPR_B "89ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define COMMIT_A "0123456789abcdef0123456789abcdef01234567"
#define COMMIT_B "89abcdef0123456789abcdef0123456789abcdef"
#define ZERO_COMMIT "0000000000000000000000000000000000000000"

#define CHUNK 262144

/* ---------------------------------------------------------------------
 * Helpers
 */

/* A string of n copies of c; free it. */
static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* A message by hand: the tag, then the command, then the fields. */
static zmsg_t *
start(const char *command)
{
    zmsg_t *msg = zmsg_new();

    assert_non_null(msg);
    assert_int_equal(zmsg_addstr(msg, MRX_WIRE_TAG), 0);
    assert_int_equal(zmsg_addstr(msg, command), 0);
    return msg;
}

static void
put(zmsg_t *msg, const char *s)
{
    assert_int_equal(zmsg_addstr(msg, s), 0);
}

static void
put_mem(zmsg_t *msg, const void *data, size_t len)
{
    assert_int_equal(zmsg_addmem(msg, data, len), 0);
}

static void
put_u64(zmsg_t *msg, uint64_t v)
{
    unsigned char b[8];

    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    put_mem(msg, b, sizeof b);
}

static void
put_feed(zmsg_t *msg, const char *author, const char *commit)
{
    put(msg, author);
    put(msg, commit);
}

/* Decode msg, which must be accepted and left whole. */
static mrx_wire_msg *
accepted(zmsg_t *msg)
{
    size_t frames = zmsg_size(msg);
    mrx_wire_error code = 0;
    mrx_wire_msg *m = NULL;

    if (mrx_wire_decode(&m, &code, msg) != 0)
        fail_msg("refused (code %d): %s", (int)code, mrx_error_last());
    assert_non_null(m);
    assert_int_equal(zmsg_size(msg), frames);
    return m;
}

/* *msg_p must be refused with code and a message holding needle (the
 * command and the field: "FETCH: offset"); it is destroyed. */
static void
refused(zmsg_t **msg_p, mrx_wire_error code, const char *needle)
{
    mrx_wire_msg *m = (mrx_wire_msg *)&m;
    mrx_wire_error got = 0;
    int rc = mrx_wire_decode(&m, &got, *msg_p);

    zmsg_destroy(msg_p);
    if (rc == 0) {
        mrx_wire_msg_destroy(&m);
        fail_msg("accepted, expected \"%s\" (code %d)", needle, (int)code);
    }
    assert_null(m);
    if (rc != MRX_EFORMAT)
        fail_msg("%s: rc %d, not MRX_EFORMAT (%s)", needle, rc, mrx_error_last());
    if (got != code)
        fail_msg("%s: code %d, not %d (%s)", needle, (int)got, (int)code, mrx_error_last());
    if (!strstr(mrx_error_last(), needle))
        fail_msg("message \"%s\" does not name \"%s\"", mrx_error_last(), needle);
    assert_null(strpbrk(mrx_error_last(), "\r\n"));
}

/* Every field of a and b is equal. */
static void
assert_msg_equal(const mrx_wire_msg *a, const mrx_wire_msg *b)
{
    assert_int_equal(a->command, b->command);
    assert_string_equal(a->case_id, b->case_id);
    assert_string_equal(a->bundle, b->bundle);
    assert_true(a->offset == b->offset);
    assert_true(a->credit == b->credit);
    if (a->text || b->text) {
        assert_non_null(a->text);
        assert_non_null(b->text);
        assert_string_equal(a->text, b->text);
    }
    assert_string_equal(a->error_command, b->error_command);
    assert_true(a->error_code == b->error_code);
    assert_int_equal(a->n_cases, b->n_cases);
    for (size_t i = 0; i < a->n_cases; i++) {
        assert_string_equal(a->cases[i].id, b->cases[i].id);
        assert_string_equal(a->cases[i].owner, b->cases[i].owner);
    }
    assert_int_equal(a->n_feeds, b->n_feeds);
    for (size_t i = 0; i < a->n_feeds; i++) {
        assert_string_equal(a->feeds[i].author, b->feeds[i].author);
        assert_string_equal(a->feeds[i].commit, b->feeds[i].commit);
        assert_true(a->feeds[i].events == b->feeds[i].events);
    }
    assert_int_equal(a->data_len, b->data_len);
    if (a->data_len)
        assert_memory_equal(a->data, b->data, a->data_len);
}

/* Encode m into the frames the protocol gives (frames of them, in all)
 * and decode it back to every field equal; m is destroyed. */
static void
round_trip(mrx_wire_msg **m_p, size_t frames)
{
    mrx_wire_msg *m = *m_p, *back;
    zmsg_t *wire = mrx_wire_encode(m);

    if (!wire)
        fail_msg("%s not encoded: %s", mrx_wire_command_name(m->command), mrx_error_last());
    assert_int_equal(zmsg_size(wire), frames);
    assert_memory_equal(zframe_data(zmsg_first(wire)), "MRX1", 4);
    assert_int_equal(zframe_size(zmsg_first(wire)), 4);
    assert_true(zframe_streq(zmsg_next(wire), mrx_wire_command_name(m->command)));
    back = accepted(wire);
    assert_msg_equal(m, back);
    mrx_wire_msg_destroy(&back);
    zmsg_destroy(&wire);
    mrx_wire_msg_destroy(m_p);
}

static mrx_wire_msg *
new_msg(mrx_wire_command command)
{
    mrx_wire_msg *m = mrx_wire_msg_new(command);

    assert_non_null(m);
    assert_int_equal(m->command, command);
    return m;
}

/* n cases, each id and owner made from i. */
static void
fill_cases(mrx_wire_msg *m, size_t n)
{
    m->n_cases = n;
    m->cases = calloc(n ? n : 1, sizeof *m->cases);
    assert_non_null(m->cases);
    for (size_t i = 0; i < n; i++) {
        snprintf(m->cases[i].id, sizeof m->cases[i].id, "%064zx", i);
        snprintf(m->cases[i].owner, sizeof m->cases[i].owner, "%040zX", n - i);
    }
}

/* n feeds of distinct authors; commit[0] for none where commit is "". */
static void
fill_feeds(mrx_wire_msg *m, size_t n, const char *commit, uint64_t events)
{
    m->n_feeds = n;
    m->feeds = calloc(n ? n : 1, sizeof *m->feeds);
    assert_non_null(m->feeds);
    for (size_t i = 0; i < n; i++) {
        snprintf(m->feeds[i].author, sizeof m->feeds[i].author, "%040zX", i + 1);
        snprintf(m->feeds[i].commit, sizeof m->feeds[i].commit, "%s", commit);
        m->feeds[i].events = events;
    }
}

static void
set_data(mrx_wire_msg *m, size_t len, unsigned char seed)
{
    unsigned char *p = malloc(len ? len : 1);

    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(seed + i * 7);
    m->data = p;
    m->data_len = len;
}

/* ---------------------------------------------------------------------
 * Round trips
 */

static void
wire_hello_round_trips_a_certificate(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_HELLO);

    (void)state;
    m->text = strdup("-----BEGIN PGP SIGNED MESSAGE-----\nnode: Klinik Zürich\n\tcurve: x\n");
    round_trip(&m, 3);
}

static void
wire_cases_round_trips_with_no_fields(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_CASES);

    (void)state;
    round_trip(&m, 2);
}

static void
wire_cases_ok_round_trips_cases_and_owners(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_CASES_OK);

    (void)state;
    fill_cases(m, 3);
    round_trip(&m, 2 + 1 + 3 * 2);
    /* none is a count of 0 */
    m = new_msg(MRX_WIRE_CASES_OK);
    round_trip(&m, 3);
}

static void
wire_heads_round_trips_its_case(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_HEADS);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    round_trip(&m, 3);
}

static void
wire_heads_ok_round_trips_heads_and_event_counts(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_HEADS_OK);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 2, COMMIT_A, 0);
    strcpy(m->feeds[1].commit, COMMIT_B);
    m->feeds[1].events = UINT64_MAX;
    round_trip(&m, 3 + 1 + 2 * 3);
    m = new_msg(MRX_WIRE_HEADS_OK);
    strcpy(m->case_id, CASE_ID);
    round_trip(&m, 4);
}

static void
wire_feeds_round_trips_with_and_without_have(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_FEEDS);
    zmsg_t *wire;

    (void)state;
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 2, COMMIT_A, 0);
    m->feeds[1].commit[0] = '\0'; /* no have: 40 zeros on the wire */
    wire = mrx_wire_encode(m);
    assert_non_null(wire);
    assert_true(zframe_streq(zmsg_last(wire), ZERO_COMMIT));
    zmsg_destroy(&wire);
    round_trip(&m, 3 + 1 + 2 * 2);
}

static void
wire_pack_round_trips_heads_and_pack_bytes(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_PACK), *back;
    zmsg_t *wire;

    (void)state;
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 3, COMMIT_B, 0);
    set_data(m, 1000, 0); /* holds NUL bytes */
    round_trip(&m, 3 + 1 + 3 * 2 + 1);
    /* the pack is a copy, owned by the decoded message */
    m = new_msg(MRX_WIRE_PACK);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 1, COMMIT_A, 0);
    set_data(m, 10, 1);
    wire = mrx_wire_encode(m);
    assert_non_null(wire);
    back = accepted(wire);
    assert_false(back->data_borrowed);
    assert_ptr_not_equal(back->data, zframe_data(zmsg_last(wire)));
    zmsg_destroy(&wire);
    assert_msg_equal(m, back);
    mrx_wire_msg_destroy(&back);
    mrx_wire_msg_destroy(&m);
    /* an empty pack is data of 0 bytes */
    m = new_msg(MRX_WIRE_PACK);
    strcpy(m->case_id, CASE_ID);
    round_trip(&m, 5);
}

static void
wire_notify_round_trips_its_case(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_NOTIFY);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    round_trip(&m, 3);
}

static void
wire_error_round_trips_command_code_and_message(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_ERROR);

    (void)state;
    strcpy(m->error_command, "FETCH");
    m->error_code = MRX_WIRE_ENOTFOUND;
    m->text = strdup("no such bundle here – nicht hier");
    round_trip(&m, 5);
    /* any code, and a command as long as the longest */
    m = new_msg(MRX_WIRE_ERROR);
    strcpy(m->error_command, "ABCDEFGHIJKLMNOP");
    m->error_code = UINT64_MAX;
    m->text = strdup("x");
    round_trip(&m, 5);
}

static void
wire_fetch_round_trips_offset_and_credit(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_FETCH);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->offset = (uint64_t)CHUNK * 0x10000000ULL; /* past 4 GiB: all 8 bytes used */
    m->credit = 1;
    m->text = strdup("-----BEGIN PGP SIGNED MESSAGE-----\n...");
    round_trip(&m, 7);
    m = new_msg(MRX_WIRE_FETCH);
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->credit = 32;
    m->text = strdup("r");
    round_trip(&m, 7);
}

/* A FETCH carries the reader's signed request (1 to 4096 bytes): the
 * encoder will not send one without it, the decoder takes none without
 * it or over the limit. */
static void
wire_fetch_must_carry_a_request_of_at_most_4096_bytes(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_FETCH);
    zmsg_t *msg;
    char *big = repeat('q', MRX_WIRE_REQUEST_MAX + 1);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->credit = 8;
    assert_null(mrx_wire_encode(m));
    m->text = big;
    assert_null(mrx_wire_encode(m));
    mrx_wire_msg_destroy(&m);

    msg = start("FETCH");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    put_u64(msg, 8);
    refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: signed request");
    msg = start("FETCH");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    put_u64(msg, 8);
    put(msg, "");
    refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: signed request");
    big = repeat('q', MRX_WIRE_REQUEST_MAX + 1);
    msg = start("FETCH");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    put_u64(msg, 8);
    put(msg, big);
    free(big);
    refused(&msg, MRX_WIRE_ELIMIT, "FETCH: signed request");
}

static void
wire_encode_writes_a_u64_as_8_bytes_big_endian(void **state)
{
    static const unsigned char offset[8] = {0, 0, 0, 0x12, 0x34, 0x54, 0, 0};
    static const unsigned char credit[8] = {0, 0, 0, 0, 0, 0, 0, 64};
    mrx_wire_msg *m = new_msg(MRX_WIRE_FETCH);
    zmsg_t *wire;
    zframe_t *f;

    (void)state;
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->offset = 0x1234540000ULL;
    m->credit = 64;
    m->text = strdup("r");
    wire = mrx_wire_encode(m);
    assert_non_null(wire);
    assert_true(zframe_streq(zmsg_first(wire), MRX_WIRE_TAG));
    assert_true(zframe_streq(zmsg_next(wire), "FETCH"));
    assert_true(zframe_streq(zmsg_next(wire), CASE_ID));
    assert_true(zframe_streq(zmsg_next(wire), BUNDLE_ID));
    f = zmsg_next(wire);
    assert_int_equal(zframe_size(f), 8);
    assert_memory_equal(zframe_data(f), offset, 8);
    f = zmsg_next(wire);
    assert_int_equal(zframe_size(f), 8);
    assert_memory_equal(zframe_data(f), credit, 8);
    zmsg_destroy(&wire);
    mrx_wire_msg_destroy(&m);
}

static void
wire_chunk_round_trips_and_borrows_its_data_from_the_message(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_CHUNK), *back;
    zmsg_t *wire;

    (void)state;
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->offset = 3 * CHUNK;
    set_data(m, 4097, 3);
    wire = mrx_wire_encode(m);
    assert_non_null(wire);
    assert_int_equal(zmsg_size(wire), 6);
    back = accepted(wire);
    assert_msg_equal(m, back);
    assert_true(back->data_borrowed);
    assert_ptr_equal(back->data, zframe_data(zmsg_last(wire)));
    /* destroying the decoded message leaves the frames to their owner */
    mrx_wire_msg_destroy(&back);
    assert_null(back);
    assert_memory_equal(zframe_data(zmsg_last(wire)), m->data, m->data_len);
    zmsg_destroy(&wire);
    mrx_wire_msg_destroy(&m);
}

static void
wire_encode_chunk_sends_the_frame_it_is_given_and_refuses_empty_or_oversized_ones(void **state)
{
    mrx_wire_msg *back;
    zframe_t *data = zframe_new(NULL, 5000), *big, *empty;
    void *where = zframe_data(data);
    zmsg_t *wire;

    (void)state;
    memset(where, 0x3c, 5000);
    wire = mrx_wire_encode_chunk(CASE_ID, BUNDLE_ID, 2 * CHUNK, &data);
    assert_null(data);
    assert_non_null(wire);
    /* the very frame, not a copy of it */
    assert_ptr_equal(zframe_data(zmsg_last(wire)), where);
    back = accepted(wire);
    assert_int_equal(back->command, MRX_WIRE_CHUNK);
    assert_string_equal(back->case_id, CASE_ID);
    assert_string_equal(back->bundle, BUNDLE_ID);
    assert_int_equal(back->offset, 2 * CHUNK);
    assert_int_equal(back->data_len, 5000);
    mrx_wire_msg_destroy(&back);
    zmsg_destroy(&wire);

    big = zframe_new(NULL, CHUNK + 1);
    assert_null(mrx_wire_encode_chunk(CASE_ID, BUNDLE_ID, 0, &big));
    assert_null(big);
    assert_non_null(strstr(mrx_error_last(), "over a limit"));
    empty = zframe_new(NULL, 0);
    assert_null(mrx_wire_encode_chunk(CASE_ID, BUNDLE_ID, 0, &empty));
    assert_null(empty);
}

static void
wire_credit_round_trips(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_CREDIT);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->credit = 16;
    round_trip(&m, 5);
}

static void
wire_view_round_trips_a_signed_view(void **state)
{
    mrx_wire_msg *m = new_msg(MRX_WIRE_VIEW);

    (void)state;
    strcpy(m->case_id, CASE_ID);
    m->text = strdup("-----BEGIN PGP SIGNED MESSAGE-----\n\nview: 1\r\n head: x\n");
    round_trip(&m, 4);
}

static void
wire_round_trips_every_field_at_its_limit(void **state)
{
    mrx_wire_msg *m;

    (void)state;
    m = new_msg(MRX_WIRE_HELLO);
    m->text = repeat('c', MRX_CERT_MAX);
    assert_int_equal(MRX_CERT_MAX, 65536);
    round_trip(&m, 3);

    m = new_msg(MRX_WIRE_CASES_OK);
    fill_cases(m, 4096);
    round_trip(&m, 3 + 4096 * 2);

    m = new_msg(MRX_WIRE_HEADS_OK);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 256, COMMIT_A, 4096);
    round_trip(&m, 4 + 256 * 3);

    m = new_msg(MRX_WIRE_FEEDS);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 256, "", 0);
    round_trip(&m, 4 + 256 * 2);

    m = new_msg(MRX_WIRE_PACK);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 256, COMMIT_B, 0);
    set_data(m, 8 * 1024 * 1024, 5);
    round_trip(&m, 4 + 256 * 2 + 1);

    m = new_msg(MRX_WIRE_ERROR);
    strcpy(m->error_command, "CASES-OK");
    m->error_code = MRX_WIRE_ELIMIT;
    m->text = repeat('e', 512);
    round_trip(&m, 5);

    m = new_msg(MRX_WIRE_FETCH);
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->credit = 64;
    m->text = repeat('r', MRX_WIRE_REQUEST_MAX);
    round_trip(&m, 7);

    m = new_msg(MRX_WIRE_CHUNK);
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    set_data(m, CHUNK, 9);
    round_trip(&m, 6);

    m = new_msg(MRX_WIRE_CHUNK);
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    set_data(m, 1, 9);
    round_trip(&m, 6);

    m = new_msg(MRX_WIRE_CREDIT);
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    m->credit = 64;
    round_trip(&m, 5);

    m = new_msg(MRX_WIRE_VIEW);
    strcpy(m->case_id, CASE_ID);
    m->text = repeat('v', 81920);
    round_trip(&m, 4);
}

static void
wire_command_name_names_each_command_as_on_the_wire(void **state)
{
    static const char *const want[] = {"HELLO", "CASES",  "CASES-OK", "HEADS", "HEADS-OK",
                                       "FEEDS", "PACK",   "NOTIFY",   "ERROR", "FETCH",
                                       "CHUNK", "CREDIT", "VIEW"};

    (void)state;
    assert_int_equal(MRX_WIRE_VIEW + 1, sizeof want / sizeof want[0]);
    for (int i = MRX_WIRE_HELLO; i <= MRX_WIRE_VIEW; i++)
        assert_string_equal(mrx_wire_command_name((mrx_wire_command)i), want[i]);
    assert_string_equal(mrx_wire_command_name((mrx_wire_command)(MRX_WIRE_VIEW + 1)), "?");
    assert_string_equal(mrx_wire_command_name((mrx_wire_command)-1), "?");
}

/* ---------------------------------------------------------------------
 * Refusals: tag, command, frames
 */

static void
wire_decode_refuses_a_wrong_tag(void **state)
{
    static const char *const tags[] = {"MRX0", "mrx1", "MRX", "MRX1 ", "MRX2", ""};
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        msg = zmsg_new();
        put(msg, tags[i]);
        put(msg, "CASES");
        refused(&msg, MRX_WIRE_EMALFORMED, "not an mrx version 1 message");
    }
    /* no frames at all */
    msg = zmsg_new();
    refused(&msg, MRX_WIRE_EMALFORMED, "not an mrx version 1 message");
    /* the command where the tag should be */
    msg = zmsg_new();
    put(msg, "CASES");
    refused(&msg, MRX_WIRE_EMALFORMED, "not an mrx version 1 message");
}

static void
wire_decode_refuses_a_message_without_a_command(void **state)
{
    zmsg_t *msg = zmsg_new();

    (void)state;
    put(msg, MRX_WIRE_TAG);
    refused(&msg, MRX_WIRE_EMALFORMED, "message without a command");
}

static void
wire_decode_refuses_an_unknown_command_with_code_2(void **state)
{
    static const char *const commands[] = {
        "BYE", "hello", "CASES_OK", "CASES-OK ", "HEAD", "", "ABCDEFGHIJKLMNOPQ", "?",
    };
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        msg = start(commands[i]);
        put(msg, CASE_ID);
        refused(&msg, MRX_WIRE_EUNKNOWN, "unknown command");
    }
    /* a known name with a NUL after it is not that name */
    msg = zmsg_new();
    put(msg, MRX_WIRE_TAG);
    put_mem(msg, "CASES\0", 6);
    refused(&msg, MRX_WIRE_EUNKNOWN, "unknown command");
}

static void
wire_decode_refuses_too_few_frames(void **state)
{
    zmsg_t *msg;

    (void)state;
    msg = start("HELLO");
    refused(&msg, MRX_WIRE_EMALFORMED, "HELLO: certificate");
    msg = start("HEADS");
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS: case id");
    msg = start("NOTIFY");
    refused(&msg, MRX_WIRE_EMALFORMED, "NOTIFY: case id");
    msg = start("CASES-OK");
    refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: case count");
    msg = start("HEADS-OK");
    put(msg, CASE_ID);
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: feed count");
    msg = start("PACK");
    put(msg, CASE_ID);
    put_u64(msg, 1);
    put_feed(msg, FPR_A, COMMIT_A);
    refused(&msg, MRX_WIRE_EMALFORMED, "PACK: pack");
    msg = start("ERROR");
    put(msg, "FETCH");
    refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: error code");
    msg = start("ERROR");
    put(msg, "FETCH");
    put_u64(msg, 4);
    refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: error message");
    msg = start("FETCH");
    put(msg, CASE_ID);
    refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: bundle id");
    msg = start("FETCH");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: credit");
    msg = start("CHUNK");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    refused(&msg, MRX_WIRE_EMALFORMED, "CHUNK: chunk");
    msg = start("CREDIT");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    refused(&msg, MRX_WIRE_EMALFORMED, "CREDIT: credit");
    msg = start("VIEW");
    put(msg, CASE_ID);
    refused(&msg, MRX_WIRE_EMALFORMED, "VIEW: view");
}

static void
wire_decode_refuses_too_many_frames(void **state)
{
    zmsg_t *msg;

    (void)state;
    msg = start("CASES");
    put(msg, "");
    refused(&msg, MRX_WIRE_EMALFORMED, "CASES: more frames than fields");
    msg = start("NOTIFY");
    put(msg, CASE_ID);
    put(msg, CASE_ID);
    refused(&msg, MRX_WIRE_EMALFORMED, "NOTIFY: more frames than fields");
    msg = start("CREDIT");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 1);
    put_u64(msg, 1);
    refused(&msg, MRX_WIRE_EMALFORMED, "CREDIT: more frames than fields");
    msg = start("HELLO");
    put(msg, "certificate");
    put(msg, "another");
    refused(&msg, MRX_WIRE_EMALFORMED, "HELLO: more frames than fields");
    msg = start("CHUNK");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    put(msg, "bytes");
    put(msg, "more bytes");
    refused(&msg, MRX_WIRE_EMALFORMED, "CHUNK: more frames than fields");
}

/* ---------------------------------------------------------------------
 * Refusals: field types
 */

/* A FETCH whose offset frame holds len bytes. */
static zmsg_t *
fetch_with_offset_bytes(size_t len)
{
    static const unsigned char zeros[16];
    zmsg_t *msg = start("FETCH");

    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_mem(msg, zeros, len);
    put_u64(msg, 1);
    return msg;
}

static void
wire_decode_refuses_a_u64_not_8_bytes(void **state)
{
    static const size_t sizes[] = {0, 1, 7, 9, 16};
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        msg = fetch_with_offset_bytes(sizes[i]);
        refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: offset");
    }
    msg = start("CASES-OK");
    put_mem(msg, "\0\0\0\0", 4);
    refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: case count");
    msg = start("FEEDS");
    put(msg, CASE_ID);
    put_mem(msg, "\0\0\0\0\0\0\0\0\0", 9);
    refused(&msg, MRX_WIRE_EMALFORMED, "FEEDS: feed count");
    msg = start("HEADS-OK");
    put(msg, CASE_ID);
    put_u64(msg, 1);
    put_feed(msg, FPR_A, COMMIT_A);
    put_mem(msg, "\0\0\0\1", 4);
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: feed events");
    msg = start("ERROR");
    put(msg, "FETCH");
    put(msg, "4");
    put(msg, "no such bundle");
    refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: error code");
    msg = start("CREDIT");
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_mem(msg, "\x10", 1);
    refused(&msg, MRX_WIRE_EMALFORMED, "CREDIT: credit");
}

/* Ids that are not 64 lowercase hex digits. */
static const char *const bad_ids[] = {
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",   /* 63 */
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", /* 65 */
    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",  /* upper */
    "0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef",  /* g */
    "0123456789abcdef0123456789abcdef0123456789abcdef 123456789abcdef",  /* space */
    "",
};

#define N_BAD_IDS (sizeof bad_ids / sizeof bad_ids[0])

static void
wire_decode_refuses_ids_of_wrong_length_case_or_digits(void **state)
{
    char with_nul[64];
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < N_BAD_IDS; i++) {
        msg = start("HEADS");
        put(msg, bad_ids[i]);
        refused(&msg, MRX_WIRE_EMALFORMED, "HEADS: case id");
        msg = start("NOTIFY");
        put(msg, bad_ids[i]);
        refused(&msg, MRX_WIRE_EMALFORMED, "NOTIFY: case id");
        msg = start("CASES-OK");
        put_u64(msg, 1);
        put(msg, bad_ids[i]);
        put(msg, FPR_A);
        refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: case id");
        msg = start("CREDIT");
        put(msg, CASE_ID);
        put(msg, bad_ids[i]);
        put_u64(msg, 1);
        refused(&msg, MRX_WIRE_EMALFORMED, "CREDIT: bundle id");
        msg = start("VIEW");
        put(msg, bad_ids[i]);
        put(msg, "view");
        refused(&msg, MRX_WIRE_EMALFORMED, "VIEW: case id");
    }
    /* 64 bytes, one of them a NUL */
    memcpy(with_nul, CASE_ID, 64);
    with_nul[10] = '\0';
    msg = start("FETCH");
    put_mem(msg, with_nul, 64);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    put_u64(msg, 1);
    refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: case id");
    with_nul[10] = CASE_ID[10];
    with_nul[63] = '\0';
    msg = start("CHUNK");
    put(msg, CASE_ID);
    put_mem(msg, with_nul, 64);
    put_u64(msg, 0);
    put(msg, "x");
    refused(&msg, MRX_WIRE_EMALFORMED, "CHUNK: bundle id");
}

static void
wire_decode_refuses_fingerprints_that_are_not_40_uppercase_hex(void **state)
{
    static const char *const bad[] = {
        "0123456789abcdef0123456789ABCDEF01234567",  /* lowercase */
        "0123456789ABCDEF0123456789ABCDEF0123456",   /* 39 */
        "0123456789ABCDEF0123456789ABCDEF012345678", /* 41 */
        "0123456789ABCDEF0123456789ABCDEF0123456G",  /* G */
        "",
    };
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg = start("CASES-OK");
        put_u64(msg, 1);
        put(msg, CASE_ID);
        put(msg, bad[i]);
        refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: case owner");
        msg = start("HEADS-OK");
        put(msg, CASE_ID);
        put_u64(msg, 1);
        put_feed(msg, bad[i], COMMIT_A);
        put_u64(msg, 1);
        refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: feed author");
        msg = start("FEEDS");
        put(msg, CASE_ID);
        put_u64(msg, 1);
        put_feed(msg, bad[i], COMMIT_A);
        refused(&msg, MRX_WIRE_EMALFORMED, "FEEDS: feed author");
    }
}

static void
wire_decode_refuses_commits_that_are_not_40_lowercase_hex(void **state)
{
    static const char *const bad[] = {
        "0123456789ABCDEF0123456789abcdef01234567",  /* uppercase */
        "0123456789abcdef0123456789abcdef0123456",   /* 39 */
        "0123456789abcdef0123456789abcdef012345678", /* 41 */
        "0123456789abcdef0123456789abcdef0123456z",  "",
    };
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg = start("FEEDS");
        put(msg, CASE_ID);
        put_u64(msg, 1);
        put_feed(msg, FPR_A, bad[i]);
        refused(&msg, MRX_WIRE_EMALFORMED, "FEEDS: feed commit");
        msg = start("PACK");
        put(msg, CASE_ID);
        put_u64(msg, 1);
        put_feed(msg, FPR_A, bad[i]);
        put(msg, "PACK");
        refused(&msg, MRX_WIRE_EMALFORMED, "PACK: feed commit");
    }
}

static void
wire_decode_refuses_the_zero_commit_as_a_head(void **state)
{
    zmsg_t *msg;

    (void)state;
    msg = start("HEADS-OK");
    put(msg, CASE_ID);
    put_u64(msg, 2);
    put_feed(msg, FPR_A, COMMIT_A);
    put_u64(msg, 1);
    put_feed(msg, FPR_B, ZERO_COMMIT);
    put_u64(msg, 0);
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: feed commit");
    msg = start("PACK");
    put(msg, CASE_ID);
    put_u64(msg, 1);
    put_feed(msg, FPR_A, ZERO_COMMIT);
    put(msg, "PACK");
    refused(&msg, MRX_WIRE_EMALFORMED, "PACK: feed commit");
}

static void
wire_decode_takes_the_zero_commit_as_no_have_in_feeds(void **state)
{
    zmsg_t *msg = start("FEEDS");
    mrx_wire_msg *m;

    (void)state;
    put(msg, CASE_ID);
    put_u64(msg, 2);
    put_feed(msg, FPR_A, ZERO_COMMIT);
    put_feed(msg, FPR_B, COMMIT_B);
    m = accepted(msg);
    assert_int_equal(m->command, MRX_WIRE_FEEDS);
    assert_string_equal(m->case_id, CASE_ID);
    assert_int_equal(m->n_feeds, 2);
    assert_string_equal(m->feeds[0].author, FPR_A);
    assert_string_equal(m->feeds[0].commit, "");
    assert_string_equal(m->feeds[1].author, FPR_B);
    assert_string_equal(m->feeds[1].commit, COMMIT_B);
    mrx_wire_msg_destroy(&m);
    zmsg_destroy(&msg);
}

/* ---------------------------------------------------------------------
 * Refusals: counts and groups
 */

static void
wire_decode_refuses_counts_over_their_limits_with_code_6(void **state)
{
    static const uint64_t over_cases[] = {4097, 1000000, UINT64_MAX};
    static const uint64_t over_feeds[] = {257, 4096, UINT64_MAX};
    static const char *const feed_commands[] = {"HEADS-OK", "FEEDS", "PACK"};
    char needle[64];
    zmsg_t *msg;

    (void)state;
    /* refused on the count alone, before any group is read */
    for (size_t i = 0; i < 3; i++) {
        msg = start("CASES-OK");
        put_u64(msg, over_cases[i]);
        put(msg, CASE_ID);
        put(msg, FPR_A);
        refused(&msg, MRX_WIRE_ELIMIT, "CASES-OK: case count");
        for (size_t j = 0; j < 3; j++) {
            msg = start(feed_commands[j]);
            put(msg, CASE_ID);
            put_u64(msg, over_feeds[i]);
            snprintf(needle, sizeof needle, "%s: feed count", feed_commands[j]);
            refused(&msg, MRX_WIRE_ELIMIT, needle);
        }
    }
}

static void
wire_decode_refuses_counts_with_missing_groups(void **state)
{
    zmsg_t *msg;

    (void)state;
    msg = start("CASES-OK");
    put_u64(msg, 2);
    put(msg, CASE_ID);
    put(msg, FPR_A);
    refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: case id");
    msg = start("CASES-OK");
    put_u64(msg, 1);
    put(msg, CASE_ID);
    refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: case owner");
    msg = start("HEADS-OK");
    put(msg, CASE_ID);
    put_u64(msg, 2);
    put_feed(msg, FPR_A, COMMIT_A);
    put_u64(msg, 3);
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: feed author");
    msg = start("HEADS-OK");
    put(msg, CASE_ID);
    put_u64(msg, 1);
    put_feed(msg, FPR_A, COMMIT_A);
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: feed events");
    msg = start("FEEDS");
    put(msg, CASE_ID);
    put_u64(msg, 1);
    put(msg, FPR_A);
    refused(&msg, MRX_WIRE_EMALFORMED, "FEEDS: feed commit");
    /* a count one too high takes the pack for an author */
    msg = start("PACK");
    put(msg, CASE_ID);
    put_u64(msg, 2);
    put_feed(msg, FPR_A, COMMIT_A);
    put(msg, "PACK");
    refused(&msg, MRX_WIRE_EMALFORMED, "PACK: feed author");
    /* and one too low leaves a group over */
    msg = start("FEEDS");
    put(msg, CASE_ID);
    put_u64(msg, 1);
    put_feed(msg, FPR_A, COMMIT_A);
    put_feed(msg, FPR_B, COMMIT_B);
    refused(&msg, MRX_WIRE_EMALFORMED, "FEEDS: more frames than fields");
    msg = start("CASES-OK");
    put_u64(msg, 0);
    put(msg, CASE_ID);
    put(msg, FPR_A);
    refused(&msg, MRX_WIRE_EMALFORMED, "CASES-OK: more frames than fields");
}

static void
wire_decode_refuses_a_feed_listed_twice(void **state)
{
    zmsg_t *msg;

    (void)state;
    msg = start("FEEDS");
    put(msg, CASE_ID);
    put_u64(msg, 3);
    put_feed(msg, FPR_A, COMMIT_A);
    put_feed(msg, FPR_B, ZERO_COMMIT);
    put_feed(msg, FPR_A, COMMIT_B);
    refused(&msg, MRX_WIRE_EMALFORMED, "FEEDS: a feed listed twice");
    msg = start("HEADS-OK");
    put(msg, CASE_ID);
    put_u64(msg, 2);
    put_feed(msg, FPR_B, COMMIT_A);
    put_u64(msg, 1);
    put_feed(msg, FPR_B, COMMIT_A);
    put_u64(msg, 1);
    refused(&msg, MRX_WIRE_EMALFORMED, "HEADS-OK: a feed listed twice");
    msg = start("PACK");
    put(msg, CASE_ID);
    put_u64(msg, 2);
    put_feed(msg, FPR_A, COMMIT_A);
    put_feed(msg, FPR_A, COMMIT_B);
    put(msg, "PACK");
    refused(&msg, MRX_WIRE_EMALFORMED, "PACK: a feed listed twice");
}

/* ---------------------------------------------------------------------
 * Refusals: sizes and values
 */

static void
wire_decode_refuses_a_pack_over_8_mib(void **state)
{
    size_t len = 8 * 1024 * 1024 + 1;
    char *pack = repeat('p', len);
    zmsg_t *msg = start("PACK");

    (void)state;
    put(msg, CASE_ID);
    put_u64(msg, 0);
    put_mem(msg, pack, len);
    refused(&msg, MRX_WIRE_ELIMIT, "PACK: pack");
    free(pack);
}

static void
wire_decode_refuses_an_offset_not_a_multiple_of_262144(void **state)
{
    static const uint64_t bad[] = {1,         4096, 131072, CHUNK - 1, CHUNK + 1, 3 * CHUNK + 512,
                                   UINT64_MAX};
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg = start("FETCH");
        put(msg, CASE_ID);
        put(msg, BUNDLE_ID);
        put_u64(msg, bad[i]);
        put_u64(msg, 32);
        refused(&msg, MRX_WIRE_EMALFORMED, "FETCH: offset");
        msg = start("CHUNK");
        put(msg, CASE_ID);
        put(msg, BUNDLE_ID);
        put_u64(msg, bad[i]);
        put(msg, "bytes");
        refused(&msg, MRX_WIRE_EMALFORMED, "CHUNK: offset");
    }
}

static void
wire_decode_refuses_a_credit_of_0_or_over_64(void **state)
{
    static const uint64_t bad[] = {0, 65, 1000, UINT64_MAX};
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mrx_wire_error code = bad[i] ? MRX_WIRE_ELIMIT : MRX_WIRE_EMALFORMED;
        msg = start("FETCH");
        put(msg, CASE_ID);
        put(msg, BUNDLE_ID);
        put_u64(msg, 0);
        put_u64(msg, bad[i]);
        refused(&msg, code, "FETCH: credit");
        msg = start("CREDIT");
        put(msg, CASE_ID);
        put(msg, BUNDLE_ID);
        put_u64(msg, bad[i]);
        refused(&msg, code, "CREDIT: credit");
    }
}

static void
wire_decode_refuses_an_empty_chunk(void **state)
{
    zmsg_t *msg = start("CHUNK");

    (void)state;
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, CHUNK);
    put_mem(msg, NULL, 0);
    refused(&msg, MRX_WIRE_EMALFORMED, "CHUNK: an empty chunk");
}

static void
wire_decode_refuses_a_chunk_over_256_kib(void **state)
{
    char *data = repeat('b', CHUNK + 1);
    zmsg_t *msg = start("CHUNK");

    (void)state;
    put(msg, CASE_ID);
    put(msg, BUNDLE_ID);
    put_u64(msg, 0);
    put_mem(msg, data, CHUNK + 1);
    refused(&msg, MRX_WIRE_ELIMIT, "CHUNK: chunk");
    free(data);
}

static void
wire_decode_refuses_a_view_over_80_kib_or_empty(void **state)
{
    char *view = repeat('v', 81921);
    zmsg_t *msg;

    (void)state;
    msg = start("VIEW");
    put(msg, CASE_ID);
    put(msg, view);
    refused(&msg, MRX_WIRE_ELIMIT, "VIEW: view");
    msg = start("VIEW");
    put(msg, CASE_ID);
    put(msg, "");
    refused(&msg, MRX_WIRE_EMALFORMED, "VIEW: view");
    free(view);
}

static void
wire_decode_refuses_a_view_with_a_nul(void **state)
{
    static const char view[] = "view: 1\n\0head: x\n";
    zmsg_t *msg = start("VIEW");

    (void)state;
    put(msg, CASE_ID);
    put_mem(msg, view, sizeof view - 1);
    refused(&msg, MRX_WIRE_EMALFORMED, "VIEW: view");
    msg = start("VIEW");
    put(msg, CASE_ID);
    put_mem(msg, "view\0", 5);
    refused(&msg, MRX_WIRE_EMALFORMED, "VIEW: view");
}

/* An ERROR refusing command with message (of len bytes). */
static zmsg_t *
error_frames(const char *command, const char *message, size_t len)
{
    zmsg_t *msg = start("ERROR");

    put(msg, command);
    put_u64(msg, MRX_WIRE_EDENIED);
    put_mem(msg, message, len);
    return msg;
}

static void
wire_decode_refuses_an_error_text_over_512_bytes(void **state)
{
    char *text = repeat('e', 513);
    zmsg_t *msg;

    (void)state;
    msg = error_frames("FEEDS", text, 513);
    refused(&msg, MRX_WIRE_ELIMIT, "ERROR: error message");
    /* the refused command is 1 to 16 bytes */
    msg = error_frames("ABCDEFGHIJKLMNOPQ", "denied", 6);
    refused(&msg, MRX_WIRE_ELIMIT, "ERROR: refused command");
    msg = error_frames("", "denied", 6);
    refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: refused command");
    msg = error_frames("FEEDS", "", 0);
    refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: error message");
    free(text);
}

static void
wire_decode_refuses_an_error_text_with_a_newline(void **state)
{
    static const char *const bad[] = {
        "not a member\n",   "not\na member",  "\r",
        "not a member\r\n", "tab\there",      "del\x7f",
        "\xff\xfe",         " leading space", "trailing space ",
    };
    zmsg_t *msg;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg = error_frames("HEADS", bad[i], strlen(bad[i]));
        refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: error message");
        msg = error_frames(bad[i], "denied", 6);
        refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: refused command");
    }
    msg = error_frames("HEADS", "a\0b", 3);
    refused(&msg, MRX_WIRE_EMALFORMED, "ERROR: error message");
}

static void
wire_decode_refuses_a_hello_certificate_over_64_kib(void **state)
{
    char *cert = repeat('c', MRX_CERT_MAX + 1);
    zmsg_t *msg;

    (void)state;
    msg = start("HELLO");
    put(msg, cert);
    refused(&msg, MRX_WIRE_ELIMIT, "HELLO: certificate");
    msg = start("HELLO");
    put(msg, "");
    refused(&msg, MRX_WIRE_EMALFORMED, "HELLO: certificate");
    msg = start("HELLO");
    put_mem(msg, "cert\0ificate", 12);
    refused(&msg, MRX_WIRE_EMALFORMED, "HELLO: certificate");
    free(cert);
}

/* ---------------------------------------------------------------------
 * Encoding limits
 */

/* m must not be encoded, for being over a limit; m is destroyed. */
static void
not_encoded(mrx_wire_msg **m_p)
{
    mrx_wire_msg *m = *m_p;
    zmsg_t *wire;

    mrx_error_clear();
    wire = mrx_wire_encode(m);
    if (wire) {
        zmsg_destroy(&wire);
        fail_msg("%s encoded over a limit", mrx_wire_command_name(m->command));
    }
    if (!strstr(mrx_error_last(), "over a limit"))
        fail_msg("%s: message \"%s\"", mrx_wire_command_name(m->command), mrx_error_last());
    assert_non_null(strstr(mrx_error_last(), mrx_wire_command_name(m->command)));
    mrx_wire_msg_destroy(m_p);
}

static void
wire_encode_refuses_messages_over_a_limit(void **state)
{
    mrx_wire_msg *m;

    (void)state;
    m = new_msg(MRX_WIRE_HELLO);
    m->text = repeat('c', MRX_CERT_MAX + 1);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_CASES_OK);
    fill_cases(m, 4097);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_HEADS_OK);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 257, COMMIT_A, 1);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_FEEDS);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 257, "", 0);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_PACK);
    strcpy(m->case_id, CASE_ID);
    fill_feeds(m, 257, COMMIT_A, 0);
    set_data(m, 10, 0);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_PACK);
    strcpy(m->case_id, CASE_ID);
    set_data(m, 8 * 1024 * 1024 + 1, 0);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_ERROR);
    strcpy(m->error_command, "HEADS");
    m->error_code = MRX_WIRE_EDENIED;
    m->text = repeat('e', 513);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_CHUNK);
    strcpy(m->case_id, CASE_ID);
    strcpy(m->bundle, BUNDLE_ID);
    set_data(m, CHUNK + 1, 0);
    not_encoded(&m);

    m = new_msg(MRX_WIRE_VIEW);
    strcpy(m->case_id, CASE_ID);
    m->text = repeat('v', 81921);
    not_encoded(&m);
}

/* The limits table gives a credit of 1 to 64 chunks and a chunk of at
 * least 1 byte: the decoder refuses anything else, so the encoder must not
 * send it. */
static void
wire_encode_refuses_a_credit_outside_1_to_64_and_an_empty_chunk(void **state)
{
    const struct {
        mrx_wire_command command;
        uint64_t credit;
        const char *what;
    } over[] = {
        {MRX_WIRE_FETCH, 65, "a FETCH with credit 65"},
        {MRX_WIRE_FETCH, 0, "a FETCH with credit 0"},
        {MRX_WIRE_CREDIT, UINT64_MAX, "a CREDIT of 2^64 - 1"},
        {MRX_WIRE_CREDIT, 0, "a CREDIT of 0"},
        {MRX_WIRE_CHUNK, 0, "an empty CHUNK"},
    };
    char report[1024] = "";
    size_t failed = 0;

    (void)state;
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        mrx_wire_msg *m = new_msg(over[i].command);
        zmsg_t *wire;

        strcpy(m->case_id, CASE_ID);
        strcpy(m->bundle, BUNDLE_ID);
        m->credit = over[i].credit;
        if (over[i].command == MRX_WIRE_FETCH)
            m->text = strdup("r");
        if ((wire = mrx_wire_encode(m))) {
            failed++;
            snprintf(report + strlen(report), sizeof report - strlen(report), "\n  %s",
                     over[i].what);
            zmsg_destroy(&wire);
        }
        mrx_wire_msg_destroy(&m);
    }
    if (failed)
        fail_msg("%zu messages the decoder refuses were encoded:%s", failed, report);
}

/* ---------------------------------------------------------------------
 * mrx_wire_error_msg
 */

/* mrx_wire_error_msg(command, code, message) decoded, or NULL (with why
 * in *why) if the decoder refuses it. */
static mrx_wire_msg *
error_msg(const char *command, mrx_wire_error code, const char *message, char *why, size_t len)
{
    zmsg_t *wire = mrx_wire_error_msg(command, code, message);
    mrx_wire_msg *m = NULL;
    mrx_wire_error got;

    assert_non_null(wire);
    if (mrx_wire_decode(&m, &got, wire) != 0)
        snprintf(why, len, "%s", mrx_error_last());
    zmsg_destroy(&wire);
    return m;
}

static void
wire_error_msg_keeps_a_plain_message(void **state)
{
    char why[256] = "";
    mrx_wire_msg *m = error_msg("FETCH", MRX_WIRE_ENOTFOUND, "no such bundle here", why, 256);

    (void)state;
    assert_non_null(m);
    assert_int_equal(m->command, MRX_WIRE_ERROR);
    assert_string_equal(m->error_command, "FETCH");
    assert_true(m->error_code == MRX_WIRE_ENOTFOUND);
    assert_string_equal(m->text, "no such bundle here");
    mrx_wire_msg_destroy(&m);
    m = error_msg("VIEW", MRX_WIRE_EMALFORMED, "Ansicht für Fall – ungültig", why, 256);
    assert_non_null(m);
    assert_string_equal(m->text, "Ansicht für Fall – ungültig");
    mrx_wire_msg_destroy(&m);
}

static void
wire_error_msg_fills_in_an_empty_command_and_message(void **state)
{
    char why[256] = "";
    mrx_wire_msg *m = error_msg("", MRX_WIRE_EINTERNAL, "", why, 256);

    (void)state;
    if (!m)
        fail_msg("refused: %s", why);
    assert_string_equal(m->error_command, "?");
    assert_true(m->error_code == MRX_WIRE_EINTERNAL);
    assert_string_equal(m->text, "refused");
    mrx_wire_msg_destroy(&m);
}

static void
wire_error_msg_replaces_control_characters_with_spaces(void **state)
{
    char why[256] = "";
    mrx_wire_msg *m = error_msg("HEADS", MRX_WIRE_EDENIED,
                                "a\nb\rc\td\x01"
                                "e\x1b"
                                "f",
                                why, 256);

    (void)state;
    if (!m)
        fail_msg("refused: %s", why);
    assert_string_equal(m->text, "a b c d e f");
    mrx_wire_msg_destroy(&m);
}

static void
wire_error_msg_truncates_to_the_limits(void **state)
{
    char *text = repeat('x', 2000);
    char why[256] = "";
    mrx_wire_msg *m = error_msg("ABCDEFGHIJKLMNOPQRSTUVWXYZ", MRX_WIRE_ELIMIT, text, why, 256);

    (void)state;
    if (!m)
        fail_msg("refused: %s", why);
    assert_string_equal(m->error_command, "ABCDEFGHIJKLMNOP");
    text[MRX_WIRE_ERROR_MAX] = '\0';
    assert_string_equal(m->text, text);
    mrx_wire_msg_destroy(&m);
    free(text);
}

/* Whatever the command and message (a peer's bytes, an error message that
 * quotes them), the ERROR made of them is one the peer's decoder takes:
 * else the peer cannot tell which request failed, and its session waits
 * for an answer that never comes. */
static void
wire_error_msg_makes_one_line_text_the_decoder_takes_of_any_input(void **state)
{
    char *long_utf8 = calloc(1, 2000), why[256], report[4096] = "";
    const struct {
        const char *command, *message, *what;
    } inputs[] = {
        {"HEADS", "cannot read the case\n", "a message ending in a newline"},
        {"HEADS", "\tindented", "a message starting with a tab"},
        {"HEADS", " ", "a message of a space"},
        {"HEADS", "del\x7f char", "a message with DEL"},
        {"HEADS", "nel\xc2\x85 char", "a message with a C1 control (U+0085)"},
        {"VIEW", "view: bad byte \xff", "a message that is not UTF-8"},
        {"VIEW", long_utf8, "a message cut inside a UTF-8 character"},
        {"FETCH\n", "denied", "a command with a newline"},
        {"\xff", "denied", "a command that is not UTF-8"},
        {"ABCDEFGHIJKLMNO\xc3\xa9", "denied", "a command cut inside a UTF-8 character"},
    };
    size_t failed = 0;

    (void)state;
    assert_non_null(long_utf8);
    long_utf8[0] = 'x';
    for (size_t i = 0; i < 600; i++)
        memcpy(long_utf8 + 1 + 2 * i, "\xc3\xa9", 2); /* é, cut at byte 512 */
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        mrx_wire_msg *m;

        why[0] = '\0';
        m = error_msg(inputs[i].command, MRX_WIRE_EMALFORMED, inputs[i].message, why, sizeof why);
        if (m && mrx_text_is_single_line(m->text, MRX_WIRE_ERROR_MAX) &&
            mrx_text_is_single_line(m->error_command, MRX_WIRE_COMMAND_MAX)) {
            mrx_wire_msg_destroy(&m);
            continue;
        }
        mrx_wire_msg_destroy(&m);
        failed++;
        snprintf(report + strlen(report), sizeof report - strlen(report), "\n  %s: %s",
                 inputs[i].what, why);
    }
    free(long_utf8);
    if (failed)
        fail_msg("%zu inputs made an ERROR the decoder refuses:%s", failed, report);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_hello_round_trips_a_certificate),
        cmocka_unit_test(wire_cases_round_trips_with_no_fields),
        cmocka_unit_test(wire_cases_ok_round_trips_cases_and_owners),
        cmocka_unit_test(wire_heads_round_trips_its_case),
        cmocka_unit_test(wire_heads_ok_round_trips_heads_and_event_counts),
        cmocka_unit_test(wire_feeds_round_trips_with_and_without_have),
        cmocka_unit_test(wire_pack_round_trips_heads_and_pack_bytes),
        cmocka_unit_test(wire_notify_round_trips_its_case),
        cmocka_unit_test(wire_error_round_trips_command_code_and_message),
        cmocka_unit_test(wire_fetch_round_trips_offset_and_credit),
        cmocka_unit_test(wire_fetch_must_carry_a_request_of_at_most_4096_bytes),
        cmocka_unit_test(wire_encode_writes_a_u64_as_8_bytes_big_endian),
        cmocka_unit_test(wire_chunk_round_trips_and_borrows_its_data_from_the_message),
        cmocka_unit_test(
            wire_encode_chunk_sends_the_frame_it_is_given_and_refuses_empty_or_oversized_ones),
        cmocka_unit_test(wire_credit_round_trips),
        cmocka_unit_test(wire_view_round_trips_a_signed_view),
        cmocka_unit_test(wire_round_trips_every_field_at_its_limit),
        cmocka_unit_test(wire_command_name_names_each_command_as_on_the_wire),
        cmocka_unit_test(wire_decode_refuses_a_wrong_tag),
        cmocka_unit_test(wire_decode_refuses_a_message_without_a_command),
        cmocka_unit_test(wire_decode_refuses_an_unknown_command_with_code_2),
        cmocka_unit_test(wire_decode_refuses_too_few_frames),
        cmocka_unit_test(wire_decode_refuses_too_many_frames),
        cmocka_unit_test(wire_decode_refuses_a_u64_not_8_bytes),
        cmocka_unit_test(wire_decode_refuses_ids_of_wrong_length_case_or_digits),
        cmocka_unit_test(wire_decode_refuses_fingerprints_that_are_not_40_uppercase_hex),
        cmocka_unit_test(wire_decode_refuses_commits_that_are_not_40_lowercase_hex),
        cmocka_unit_test(wire_decode_refuses_the_zero_commit_as_a_head),
        cmocka_unit_test(wire_decode_takes_the_zero_commit_as_no_have_in_feeds),
        cmocka_unit_test(wire_decode_refuses_counts_over_their_limits_with_code_6),
        cmocka_unit_test(wire_decode_refuses_counts_with_missing_groups),
        cmocka_unit_test(wire_decode_refuses_a_feed_listed_twice),
        cmocka_unit_test(wire_decode_refuses_a_pack_over_8_mib),
        cmocka_unit_test(wire_decode_refuses_an_offset_not_a_multiple_of_262144),
        cmocka_unit_test(wire_decode_refuses_a_credit_of_0_or_over_64),
        cmocka_unit_test(wire_decode_refuses_an_empty_chunk),
        cmocka_unit_test(wire_decode_refuses_a_chunk_over_256_kib),
        cmocka_unit_test(wire_decode_refuses_a_view_over_80_kib_or_empty),
        cmocka_unit_test(wire_decode_refuses_a_view_with_a_nul),
        cmocka_unit_test(wire_decode_refuses_an_error_text_over_512_bytes),
        cmocka_unit_test(wire_decode_refuses_an_error_text_with_a_newline),
        cmocka_unit_test(wire_decode_refuses_a_hello_certificate_over_64_kib),
        cmocka_unit_test(wire_encode_refuses_messages_over_a_limit),
        cmocka_unit_test(wire_encode_refuses_a_credit_outside_1_to_64_and_an_empty_chunk),
        cmocka_unit_test(wire_error_msg_keeps_a_plain_message),
        cmocka_unit_test(wire_error_msg_fills_in_an_empty_command_and_message),
        cmocka_unit_test(wire_error_msg_replaces_control_characters_with_spaces),
        cmocka_unit_test(wire_error_msg_truncates_to_the_limits),
        cmocka_unit_test(wire_error_msg_makes_one_line_text_the_decoder_takes_of_any_input),
    };
    return T_RUN(tests);
}

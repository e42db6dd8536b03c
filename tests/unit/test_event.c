/*
 * test_event: proto/mrx_event.c, ledger event text.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER "74AAAFBC4C8A50BC32ABE868601288EF3F0522AB"
#define CLINIC "F18D04A23E0510DA8C1770CA79FF84DF9AE27EBE"
#define REVIEWER "2789577E60A4AD1BC77AFC7F1B64CBCF201BDA25"
#define CASE_ID "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6"
#define PREV "c14c7f0c6e25bd4dfbb822fe264e540fc7142bf1c9d15d4c652ec8f5f97fa9e8"
#define BUNDLE "0a4c3aa02d1b0b4826daa5ffe85ef13be83c1433842a9a98b901e075136dd86f"

static mrx_event
base(mrx_event_type type, const char *author, uint64_t seq)
{
    mrx_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = type;
    strcpy(ev.author, author);
    ev.seq = seq;
    ev.time = 1795000000;
    if (type != MRX_EV_CASE_CREATED)
        strcpy(ev.case_id, CASE_ID);
    if (seq > 0)
        strcpy(ev.prev, PREV);
    return ev;
}

/* Format ev, parse it back, and check the text is stable. */
static void
round_trip(const mrx_event *ev)
{
    mrx_event back;
    char *text = NULL, *again = NULL;
    size_t len = 0;

    if (mrx_event_format(ev, &text, &len) != 0)
        fail_msg("format: %s", mrx_error_last());
    if (mrx_event_parse(&back, text, len) != 0)
        fail_msg("parse: %s\n%s", mrx_error_last(), text);
    assert_int_equal(mrx_event_format(&back, &again, NULL), 0);
    assert_string_equal(text, again);
    assert_int_equal(back.type, ev->type);
    assert_int_equal(back.seq, ev->seq);
    assert_int_equal(back.time, ev->time);
    free(text);
    free(again);
}

static void
event_every_type_round_trips(void **state)
{
    mrx_event ev;

    (void)state;
    ev = base(MRX_EV_CASE_CREATED, OWNER, 0);
    strcpy(ev.nonce, "00112233445566778899aabbccddeeff");
    round_trip(&ev);
    ev = base(MRX_EV_MEMBER_ADDED, OWNER, 1);
    strcpy(ev.member, CLINIC);
    ev.role = MRX_MEMBER_CONTRIBUTOR;
    round_trip(&ev);
    ev = base(MRX_EV_MEMBER_REMOVED, OWNER, 2);
    strcpy(ev.member, CLINIC);
    round_trip(&ev);
    ev = base(MRX_EV_BUNDLE_ADDED, CLINIC, 0);
    strcpy(ev.bundle, BUNDLE);
    ev.size = 1072855;
    ev.kind = MRX_KIND_IMAGING;
    strcpy(ev.readers[0], CLINIC);
    strcpy(ev.readers[1], OWNER);
    strcpy(ev.readers[2], REVIEWER);
    ev.n_readers = 3;
    round_trip(&ev);
    ev = base(MRX_EV_BUNDLE_SERVED, CLINIC, 1);
    strcpy(ev.bundle, BUNDLE);
    strcpy(ev.peer, REVIEWER);
    round_trip(&ev);
    ev.type = MRX_EV_BUNDLE_FETCHED;
    round_trip(&ev);
    ev.type = MRX_EV_BUNDLE_OPENED;
    round_trip(&ev);
    ev.type = MRX_EV_BUNDLE_WITHDRAWN;
    round_trip(&ev);
}

static void
event_text_is_the_documented_one(void **state)
{
    mrx_event ev = base(MRX_EV_MEMBER_ADDED, OWNER, 1);
    char *text = NULL;

    (void)state;
    strcpy(ev.member, REVIEWER);
    ev.role = MRX_MEMBER_REVIEWER;
    assert_int_equal(mrx_event_format(&ev, &text, NULL), 0);
    assert_string_equal(text, "mrx-event: 1\n"
                              "type: member-added\n"
                              "case: " CASE_ID "\n"
                              "author: " OWNER "\n"
                              "seq: 1\n"
                              "time: 2026-11-18T11:06:40Z\n"
                              "prev: " PREV "\n"
                              "member: " REVIEWER "\n"
                              "role: reviewer\n");
    free(text);
}

static int
parse_text(const char *text)
{
    mrx_event ev;

    return mrx_event_parse(&ev, text, strlen(text));
}

#define HEAD "mrx-event: 1\ntype: bundle-opened\ncase: " CASE_ID "\nauthor: " CLINIC "\n"

static void
event_parse_rejects_malformed_text(void **state)
{
    (void)state;
    assert_int_equal(parse_text(HEAD "seq: 1\ntime: 2026-11-18T09:46:40Z\nprev: " PREV
                                     "\nbundle: " BUNDLE "\n"),
                     0);
    /* version, type, order, missing and extra fields */
    assert_int_equal(parse_text("mrx-event: 2\n"), MRX_EFORMAT);
    assert_int_equal(parse_text("mrx-event: 1\ntype: bundle-eaten\n"), MRX_EFORMAT);
    assert_int_equal(parse_text(HEAD "time: 2026-11-18T09:46:40Z\nseq: 1\n"), MRX_EFORMAT);
    assert_int_equal(parse_text(HEAD "seq: 1\ntime: 2026-11-18T09:46:40Z\nbundle: " BUNDLE "\n"),
                     MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "prev"));
    assert_int_equal(parse_text(HEAD "seq: 0\ntime: 2026-11-18T09:46:40Z\nprev: " PREV
                                     "\nbundle: " BUNDLE "\n"),
                     MRX_EFORMAT);
    assert_int_equal(parse_text(HEAD "seq: 0\ntime: 2026-11-18T09:46:40Z\nbundle: " BUNDLE
                                     "\nextra: 1\n"),
                     MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "unexpected text"));
    assert_int_equal(parse_text(HEAD "seq: 0\ntime: 2026-11-18T09:46:40Z\nbundle: " BUNDLE),
                     MRX_EFORMAT);
    /* values */
    assert_int_equal(parse_text(HEAD "seq: 01\ntime: 2026-11-18T09:46:40Z\n"), MRX_EFORMAT);
    assert_int_equal(parse_text(HEAD "seq: 0\ntime: 2026-11-18 09:46:40\n"), MRX_EFORMAT);
    assert_int_equal(parse_text(HEAD "seq: 0\ntime: 2026-11-18T09:46:40Z\nbundle: xyz\n"),
                     MRX_EFORMAT);
    assert_int_equal(parse_text("mrx-event: 1\ntype: bundle-opened\ncase: nope\nauthor: " CLINIC
                                "\nseq: 0\ntime: 2026-11-18T09:46:40Z\nbundle: " BUNDLE "\n"),
                     MRX_EFORMAT);
}

static void
event_parse_rejects_rule_breaking_events(void **state)
{
    mrx_event ev;
    char *text = NULL;

    (void)state;
    /* a case-created anywhere but first */
    assert_int_equal(parse_text("mrx-event: 1\ntype: case-created\nauthor: " OWNER
                                "\nseq: 3\ntime: 2026-11-18T09:46:40Z\nprev: " PREV
                                "\nnonce: 00112233445566778899aabbccddeeff\n"),
                     MRX_EFORMAT);
    /* an owner adding itself, a reader twice, no reader, a fetch from itself */
    ev = base(MRX_EV_MEMBER_ADDED, OWNER, 1);
    strcpy(ev.member, OWNER);
    assert_int_equal(mrx_event_format(&ev, &text, NULL), MRX_EINVAL);
    ev = base(MRX_EV_BUNDLE_ADDED, CLINIC, 0);
    strcpy(ev.bundle, BUNDLE);
    strcpy(ev.readers[0], OWNER);
    strcpy(ev.readers[1], OWNER);
    ev.n_readers = 2;
    assert_int_equal(mrx_event_format(&ev, &text, NULL), MRX_EINVAL);
    assert_non_null(strstr(mrx_error_last(), "twice"));
    ev.n_readers = 0;
    assert_int_equal(mrx_event_format(&ev, &text, NULL), MRX_EINVAL);
    ev = base(MRX_EV_BUNDLE_FETCHED, CLINIC, 0);
    strcpy(ev.bundle, BUNDLE);
    strcpy(ev.peer, CLINIC);
    assert_int_equal(mrx_event_format(&ev, &text, NULL), MRX_EINVAL);
    assert_null(text);
}

static void
event_parse_rejects_oversize_and_nul(void **state)
{
    char *big = malloc(MRX_EVENT_MAX + 2);
    char with_nul[] = "mrx-event: 1\n\0type: x\n";
    mrx_event ev;

    (void)state;
    memset(big, 'a', MRX_EVENT_MAX + 1);
    big[MRX_EVENT_MAX + 1] = '\0';
    assert_int_equal(mrx_event_parse(&ev, big, MRX_EVENT_MAX + 1), MRX_ELIMIT);
    assert_int_equal(mrx_event_parse(&ev, with_nul, sizeof with_nul - 1), MRX_EFORMAT);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_every_type_round_trips),
        cmocka_unit_test(event_text_is_the_documented_one),
        cmocka_unit_test(event_parse_rejects_malformed_text),
        cmocka_unit_test(event_parse_rejects_rule_breaking_events),
        cmocka_unit_test(event_parse_rejects_oversize_and_nul),
    };
    return T_RUN(tests);
}

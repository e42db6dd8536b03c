/*
 * test_request: proto/mrx_request.c, the request a reader signs for a
 * bundle. Real keys: a request verifies only as exactly what its reader
 * signed, and a request read again from a verdict kept is the same.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static mrx_node *reader, *server;

static int
setup_group(void **state)
{
    (void)state;
    dir = t_tempdir();
    reader = t_node_new(dir, "reader", MRX_ROLE_REVIEWER);
    server = t_node_new(dir, "server", MRX_ROLE_FACILITATOR);
    t_introduce(reader, server);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_node_destroy(&reader);
    mrx_node_destroy(&server);
    return 0;
}

static mrx_request
a_request(void)
{
    mrx_request req;

    memset(&req, 0, sizeof req);
    memset(req.case_id, 'c', MRX_SHA256_HEX_LEN);
    memset(req.bundle, 'b', MRX_SHA256_HEX_LEN);
    strcpy(req.server, t_fpr(server));
    strcpy(req.reader, t_fpr(reader));
    req.offset = 3 * 262144;
    req.time = 1795000000;
    return req;
}

static void
assert_same(const mrx_request *a, const mrx_request *b)
{
    assert_string_equal(a->case_id, b->case_id);
    assert_string_equal(a->bundle, b->bundle);
    assert_string_equal(a->server, b->server);
    assert_string_equal(a->reader, b->reader);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->time, b->time);
}

static void
request_made_verifies_as_its_readers_and_reads_back_the_same(void **state)
{
    mrx_request req = a_request(), got, again;
    const char *why = NULL;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(mrx_request_make(&text, &len, mrx_node_pgp(reader), &req), 0);
    assert_int_equal(strlen(text), len);
    assert_true(len <= MRX_REQUEST_MAX);
    assert_non_null(strstr(text, "-----BEGIN PGP SIGNED MESSAGE-----"));
    /* the server, which holds the reader's key, checks it */
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(server), text, len, NULL), 0);
    assert_same(&got, &req);
    /* and as the reader's, when that is who it must be */
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(server), text, len, t_fpr(reader)), 0);
    assert_same(&got, &req);
    assert_true(mrx_request_matches(&got, req.case_id, req.bundle, req.server, &why));
    assert_null(why);
    assert_false(mrx_request_matches(&got, req.case_id, req.bundle, req.reader, &why));
    assert_string_equal(why, "it asks another node");
    /* read again from a verdict kept, without gpg: the same */
    assert_int_equal(mrx_request_read_verified(&again, text, len, req.reader), 0);
    assert_same(&again, &req);
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(server), text, len, t_fpr(server)),
                     MRX_EDENIED);
    assert_non_null(strstr(mrx_error_last(), "not by the expected"));
    free(text);
}

static void
request_refuses_an_altered_text_another_signer_and_a_malformed_body(void **state)
{
    mrx_request req = a_request(), got;
    char *text = NULL, *p, *other = NULL, body[512];
    size_t len = 0, olen = 0;

    (void)state;
    assert_int_equal(mrx_request_make(&text, &len, mrx_node_pgp(reader), &req), 0);
    /* one changed byte of the body: the signature no longer holds */
    assert_non_null(p = strstr(text, "offset: "));
    p[8] = p[8] == '7' ? '8' : '7';
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(server), text, len, NULL), MRX_ECRYPTO);
    assert_string_equal(got.reader, ""); /* nothing read */
    free(text);

    /* the server signs a request in the reader's name */
    req = a_request();
    snprintf(body, sizeof body,
             "mrx-request: 1\ncase: %s\nbundle: %s\nfrom: %s\nby: %s\noffset: 0\n"
             "time: 2026-11-26T05:00:00Z\n",
             req.case_id, req.bundle, req.server, req.reader);
    assert_int_equal(mrx_pgp_clearsign(mrx_node_pgp(server), &other, &olen, t_fpr(server), body),
                     0);
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(reader), other, olen, NULL), MRX_EDENIED);
    assert_non_null(strstr(mrx_error_last(), "is signed by"));
    free(other);
    /* a field out of its form, signed as it is */
    snprintf(body, sizeof body,
             "mrx-request: 1\ncase: %s\nbundle: %s\nfrom: nobody\nby: %s\noffset: 0\n"
             "time: 2026-11-26T05:00:00Z\n",
             req.case_id, req.bundle, req.reader);
    assert_int_equal(mrx_pgp_clearsign(mrx_node_pgp(reader), &other, &olen, t_fpr(reader), body),
                     0);
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(server), other, olen, NULL), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "from is not a fingerprint"));
    free(other);

    /* over the limit, or not clear-signed at all */
    other = malloc(MRX_REQUEST_MAX + 2);
    assert_non_null(other);
    memset(other, 'a', MRX_REQUEST_MAX + 1);
    other[MRX_REQUEST_MAX + 1] = '\0';
    assert_int_equal(mrx_request_check(&got, mrx_node_pgp(server), other, MRX_REQUEST_MAX + 1, NULL),
                     MRX_ELIMIT);
    assert_int_equal(mrx_request_read_verified(&got, "mrx-request: 1\n", 15, t_fpr(reader)),
                     MRX_EFORMAT);
    free(other);
}

static void
request_read_verified_still_checks_its_signer_and_fields(void **state)
{
    mrx_request req = a_request(), got;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(mrx_request_make(&text, &len, mrx_node_pgp(reader), &req), 0);
    /* a kept verdict for another key does not make it that key's */
    assert_int_equal(mrx_request_read_verified(&got, text, len, t_fpr(server)), MRX_EDENIED);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_made_verifies_as_its_readers_and_reads_back_the_same),
        cmocka_unit_test(request_refuses_an_altered_text_another_signer_and_a_malformed_body),
        cmocka_unit_test(request_read_verified_still_checks_its_signer_and_fields),
    };
    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

/*
 * test_cert: keys/mrx_cert.c, node certificates and their checks.
 */
#include "testlib.h"
#include "mrx_cert.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURVE "8IR:q8(Uq].=8ARG0zo>>PbLNR=l6{<24+E7V?2b"

static char *dir;
static mrx_pgp *alice, *mallory;
static char alice_fpr[41], mallory_fpr[41];

static int
setup_group(void **state)
{
    (void)state;
    dir = t_tempdir();
    alice = t_keyring(dir, "alice", alice_fpr);
    mallory = t_keyring(dir, "mallory", mallory_fpr);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_pgp_destroy(&alice);
    mrx_pgp_destroy(&mallory);
    return 0;
}

static char *
build_text(void)
{
    const char *eps[] = {"tcp://127.0.0.1:7401", "tcp://[::1]:7401"};
    mrx_cert *cert = NULL;
    char *text;

    if (mrx_cert_build(&cert, alice, "Clinic Aurora", MRX_ROLE_CLINIC, alice_fpr, CURVE, eps, 2,
                       1795000000) != 0)
        fail_msg("build: %s", mrx_error_last());
    text = strdup(mrx_cert_text(cert));
    mrx_cert_destroy(&cert);
    return text;
}

/* Sign body with signer and append key's public block: a certificate
 * that is well signed but may say anything. */
static char *
forge(mrx_pgp *signer, const char *signer_fpr, mrx_pgp *key, const char *key_fpr,
      const char *body)
{
    char *signed_text = NULL, *pub = NULL, *out = NULL;

    assert_int_equal(mrx_pgp_clearsign(signer, &signed_text, NULL, signer_fpr, body), 0);
    assert_int_equal(mrx_pgp_export(key, &pub, NULL, key_fpr), 0);
    assert_true(asprintf(&out, "%s%s", signed_text, pub) > 0);
    free(signed_text);
    free(pub);
    return out;
}

static char *
body_for(const char *fpr, const char *extra)
{
    char *body = NULL;

    assert_true(asprintf(&body,
                         "mrx-node-certificate: 1\nname: Clinic Aurora\nrole: clinic\n"
                         "fingerprint: %s\ncurve: " CURVE "\n%screated: 2026-11-25T17:00:48Z\n",
                         fpr, extra) > 0);
    return body;
}

static int
parse_rc(const char *text)
{
    mrx_cert *cert = NULL;
    int rc = mrx_cert_parse(&cert, text, strlen(text), dir);

    mrx_cert_destroy(&cert);
    /* the scratch keyring never outlives the check */
    assert_int_equal(t_count_entries(dir), 2);
    return rc;
}

static void
cert_build_then_parse_round_trips(void **state)
{
    char *text = build_text();
    mrx_cert *cert = NULL;

    (void)state;
    if (mrx_cert_parse(&cert, text, strlen(text), dir) != 0)
        fail_msg("parse: %s", mrx_error_last());
    assert_string_equal(mrx_cert_name(cert), "Clinic Aurora");
    assert_int_equal(mrx_cert_role(cert), MRX_ROLE_CLINIC);
    assert_string_equal(mrx_cert_fpr(cert), alice_fpr);
    assert_string_equal(mrx_cert_curve(cert), CURVE);
    assert_int_equal(mrx_cert_endpoint_count(cert), 2);
    assert_string_equal(mrx_cert_endpoint(cert, 1), "tcp://[::1]:7401");
    assert_int_equal(mrx_cert_created(cert), 1795000000);
    assert_string_equal(mrx_cert_text(cert), text);
    assert_non_null(strstr(mrx_cert_public_key(cert), "BEGIN PGP PUBLIC KEY BLOCK"));
    mrx_cert_destroy(&cert);
    free(text);
}

static void
cert_parse_rejects_tampered_field(void **state)
{
    char *text = build_text(), *at = strstr(text, "role: clinic");

    (void)state;
    memcpy(at, "role: doctor", 12);
    assert_int_equal(parse_rc(text), MRX_ECRYPTO);
    assert_non_null(strstr(mrx_error_last(), "signature"));
    free(text);
}

static void
cert_parse_rejects_swapped_key(void **state)
{
    /* signed by mallory, naming alice, carrying alice's key */
    char *body = body_for(alice_fpr, ""), *text = forge(mallory, mallory_fpr, alice, alice_fpr, body);

    (void)state;
    assert_int_not_equal(parse_rc(text), 0);
    free(text);
    free(body);
}

static void
cert_parse_rejects_name_of_another_key(void **state)
{
    /* signed by mallory with mallory's key, but claiming alice's fingerprint */
    char *body = body_for(alice_fpr, ""),
         *text = forge(mallory, mallory_fpr, mallory, mallory_fpr, body);

    (void)state;
    assert_int_equal(parse_rc(text), MRX_EDENIED);
    assert_non_null(strstr(mrx_error_last(), alice_fpr));
    free(text);
    free(body);
}

static void
cert_parse_rejects_bad_fields_even_when_signed(void **state)
{
    char *body, *text;

    (void)state;
    body = body_for(alice_fpr, "colour: red\n");
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "colour"));
    free(text);
    free(body);
    /* required fields left out, or out of order, or after created */
    body = strdup("name: Clinic Aurora\nrole: clinic\n");
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "mrx-node-certificate"));
    free(text);
    free(body);
    assert_true(asprintf(&body, "mrx-node-certificate: 1\nname: A\nfingerprint: %s\ncurve: " CURVE
                                "\ncreated: 2026-11-25T17:00:48Z\n",
                         alice_fpr) > 0);
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "role"));
    free(text);
    free(body);
    body = body_for(alice_fpr, "");
    body[strlen(body) - strlen("created: 2026-11-25T17:00:48Z\n")] = '\0';
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "created"));
    free(text);
    free(body);
    body = body_for(alice_fpr, "");
    {
        char *longer = NULL;
        assert_true(asprintf(&longer, "%sendpoint: tcp://a:1\n", body) > 0);
        free(body);
        body = longer;
    }
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "after created"));
    free(text);
    free(body);
    body = body_for(alice_fpr, "endpoint: http://example.org/\n");
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    free(text);
    free(body);
    body = body_for(alice_fpr, "endpoint: tcp://a:1\nendpoint: tcp://a:2\nendpoint: tcp://a:3\n"
                               "endpoint: tcp://a:4\nendpoint: tcp://a:5\nendpoint: tcp://a:6\n"
                               "endpoint: tcp://a:7\nendpoint: tcp://a:8\nendpoint: tcp://a:9\n");
    text = forge(alice, alice_fpr, alice, alice_fpr, body);
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    free(text);
    free(body);
}

static void
cert_parse_rejects_broken_shape(void **state)
{
    char *text = build_text(), *bad = NULL;
    char *big;

    (void)state;
    assert_true(asprintf(&bad, "%sextra text\n", text) > 0);
    assert_int_equal(parse_rc(bad), MRX_EFORMAT);
    free(bad);
    assert_true(asprintf(&bad, "junk before\n%s", text) > 0);
    assert_int_equal(parse_rc(bad), MRX_EFORMAT);
    free(bad);
    assert_true(asprintf(&bad, "%s%s", text, strstr(text, "-----BEGIN PGP PUBLIC KEY")) > 0);
    assert_int_equal(parse_rc(bad), MRX_EFORMAT);
    free(bad);
    {
        /* unsigned text slipped in between the signature and the key */
        char *key = strstr(text, "-----BEGIN PGP PUBLIC KEY");
        assert_true(asprintf(&bad, "%.*sunsigned: yes\n%s", (int)(key - text), text, key) > 0);
        assert_int_equal(parse_rc(bad), MRX_EFORMAT);
        assert_non_null(strstr(mrx_error_last(), "right after the signature"));
        free(bad);
    }
    *strstr(text, "-----BEGIN PGP PUBLIC KEY") = '\0';
    assert_int_equal(parse_rc(text), MRX_EFORMAT);
    assert_int_equal(parse_rc(""), MRX_EFORMAT);
    big = calloc(1, MRX_CERT_MAX + 2);
    memset(big, 'A', MRX_CERT_MAX + 1);
    assert_int_equal(parse_rc(big), MRX_ELIMIT);
    free(big);
    free(text);
}

static void
cert_load_uses_existing_keyring(void **state)
{
    char *text = build_text();
    mrx_cert *cert = NULL;

    (void)state;
    assert_int_equal(mrx_cert_load(&cert, alice, text, strlen(text)), 0);
    mrx_cert_destroy(&cert);
    /* mallory's keyring does not hold alice's key */
    assert_int_not_equal(mrx_cert_load(&cert, mallory, text, strlen(text)), 0);
    assert_null(cert);
    free(text);
}

static void
endpoint_rules(void **state)
{
    (void)state;
    assert_true(mrx_endpoint_valid("tcp://127.0.0.1:7401"));
    assert_true(mrx_endpoint_valid("tcp://clinic.example:1"));
    assert_true(mrx_endpoint_valid("tcp://[::1]:65535"));
    assert_false(mrx_endpoint_valid("tcp://127.0.0.1:0"));
    assert_false(mrx_endpoint_valid("tcp://127.0.0.1:65536"));
    assert_false(mrx_endpoint_valid("tcp://127.0.0.1"));
    assert_false(mrx_endpoint_valid("tcp://:80"));
    assert_false(mrx_endpoint_valid("ipc:///tmp/x"));
    assert_false(mrx_endpoint_valid("tcp://a b:1"));
    assert_false(mrx_endpoint_valid("tcp://[]:1"));
    assert_false(mrx_endpoint_valid("tcp://host:80x"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cert_build_then_parse_round_trips),
        cmocka_unit_test(cert_parse_rejects_tampered_field),
        cmocka_unit_test(cert_parse_rejects_swapped_key),
        cmocka_unit_test(cert_parse_rejects_name_of_another_key),
        cmocka_unit_test(cert_parse_rejects_bad_fields_even_when_signed),
        cmocka_unit_test(cert_parse_rejects_broken_shape),
        cmocka_unit_test(cert_load_uses_existing_keyring),
        cmocka_unit_test(endpoint_rules),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

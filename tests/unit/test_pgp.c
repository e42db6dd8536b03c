/*
 * test_pgp: keys/mrx_pgp.c, the verdicts on clear-signed messages, kept
 * for messages checked lately, and never for one that differs or whose
 * key was revoked since.
 */
#include "testlib.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static mrx_pgp *signer, *reader;
static char signer_fpr[41], reader_fpr[41];

static int
setup_group(void **state)
{
    (void)state;
    dir = t_tempdir();
    signer = t_keyring(dir, "signer", signer_fpr);
    reader = t_keyring(dir, "reader", reader_fpr);
    t_share_key(signer, reader, signer_fpr);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_pgp_destroy(&signer);
    mrx_pgp_destroy(&reader);
    return 0;
}

static char *
signed_message(const char *body)
{
    char *text = NULL;

    if (mrx_pgp_clearsign(signer, &text, NULL, signer_fpr, body) != 0)
        fail_msg("clearsign: %s", mrx_error_last());
    return text;
}

/* Verify text as reader; the signed text, or NULL (with the error). */
static char *
verified(const char *text, char who[41])
{
    char *plain = NULL;
    size_t len = 0;

    if (mrx_pgp_verify_clearsigned(reader, who, NULL, &plain, &len, text, strlen(text)) != 0)
        return NULL;
    assert_int_equal(len, strlen(plain));
    return plain;
}

static void
same_message_same_verdict_and_text(void **state)
{
    char *text = signed_message("view: 1\nfeed: A\n"), who[41] = "", *plain;

    (void)state;
    for (int round = 0; round < 3; round++) {
        memset(who, 0, sizeof who);
        plain = verified(text, who);
        assert_non_null(plain);
        assert_string_equal(plain, "view: 1\nfeed: A\n");
        assert_string_equal(who, signer_fpr);
        free(plain);
    }
    /* the length is optional, remembered or not */
    plain = NULL;
    assert_int_equal(mrx_pgp_verify_clearsigned(reader, NULL, NULL, &plain, NULL, text, strlen(text)), 0);
    assert_string_equal(plain, "view: 1\nfeed: A\n");
    free(plain);
    free(text);
}

static void
a_changed_byte_is_checked_anew(void **state)
{
    char *text = signed_message("heads: 3\n"), who[41], *plain, *p;

    (void)state;
    plain = verified(text, who);
    assert_non_null(plain);
    free(plain);
    /* the signed "3" becomes "4": same length, another message */
    assert_non_null(p = strstr(text, "heads: 3"));
    p[7] = '4';
    assert_null(verified(text, who));
    p[7] = '3';
    plain = verified(text, who);
    assert_non_null(plain);
    free(plain);
    free(text);
}

static void
a_revoked_key_is_not_remembered_as_good(void **state)
{
    char *text = signed_message("revoke me\n"), who[41], *plain, *path = NULL, *rev, *start;
    char got[41];
    size_t len = 0;

    (void)state;
    plain = verified(text, who);
    assert_non_null(plain);
    free(plain);
    /* gpg keeps a revocation certificate for each key it makes, its
     * armour line commented out with a leading ':' */
    assert_true(asprintf(&path, "%s/signer/openpgp-revocs.d/%s.rev", dir, signer_fpr) > 0);
    rev = t_read_file(path, &len);
    assert_non_null(start = strstr(rev, ":-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    start++;
    /* a revocation alone is not the one public key mrx_pgp_import asks
     * for, so it says no; gpg has taken the revocation in all the same */
    assert_int_not_equal(mrx_pgp_import(reader, got, start, strlen(start)), 0);
    assert_int_equal(t_sh("gpg --homedir '%s/reader' --batch --list-keys %s 2>/dev/null | "
                          "grep -q revoked", dir, signer_fpr), 0);
    assert_null(verified(text, who));
    assert_non_null(strstr(mrx_error_last(), "bad signature"));
    free(rev);
    free(path);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_message_same_verdict_and_text),
        cmocka_unit_test(a_changed_byte_is_checked_anew),
        cmocka_unit_test(a_revoked_key_is_not_remembered_as_good),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

/*
 * test_view: proto/mrx_view.c, signed views of a case: made from a real
 * ledger and checked by gpg itself, refused when anything is off,
 * compared, and kept in the case folder.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CASE_ID "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6"
#define OTHER_CASE "c14c7f0c6e25bd4dfbb822fe264e540fc7142bf1c9d15d4c652ec8f5f97fa9e8"
#define FEED_A "2789577E60A4AD1BC77AFC7F1B64CBCF201BDA25"
#define FEED_B "74AAAFBC4C8A50BC32ABE868601288EF3F0522AB"
#define HEAD_1 "1111111111111111111111111111111111111111"
#define HEAD_2 "2222222222222222222222222222222222222222"
#define HEAD_3 "3333333333333333333333333333333333333333"
#define T1 "2026-11-25T10:00:00Z"
#define T2 "2026-11-25T11:00:00Z"
#define T3 "2026-11-25T12:00:00Z"

static char *dir, *cases;
static mrx_pgp *owner_pgp, *clinic_pgp, *stranger_pgp;
static char owner_fpr[41], clinic_fpr[41], stranger_fpr[41];

static int
setup_group(void **state)
{
    (void)state;
    if (mrx_ledger_global_init() != 0)
        return -1;
    dir = t_tempdir();
    owner_pgp = t_keyring(dir, "owner", owner_fpr);
    clinic_pgp = t_keyring(dir, "clinic", clinic_fpr);
    stranger_pgp = t_keyring(dir, "stranger", stranger_fpr);
    /* the owner can verify the clinic and the clinic the owner; nobody
     * knows the stranger */
    t_share_key(clinic_pgp, owner_pgp, clinic_fpr);
    t_share_key(owner_pgp, clinic_pgp, owner_fpr);
    assert_true(asprintf(&cases, "%s/cases", dir) > 0);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_pgp_destroy(&owner_pgp);
    mrx_pgp_destroy(&clinic_pgp);
    mrx_pgp_destroy(&stranger_pgp);
    free(cases);
    return 0;
}

/* A view body with the given fields; feeds are whole "feed: ..." lines. */
static char *
body(const char *case_id, const char *node, const char *when, const char *feeds)
{
    char *out = NULL;

    assert_true(asprintf(&out, "mrx-view: 1\ncase: %s\nnode: %s\ntime: %s\n%s", case_id, node, when,
                         feeds) > 0);
    return out;
}

/* text clear-signed by fpr, from keyring pgp; takes text. */
static char *
sign(mrx_pgp *pgp, const char *fpr, char *text)
{
    char *out = NULL;
    size_t len = 0;

    if (mrx_pgp_clearsign(pgp, &out, &len, fpr, text) != 0)
        fail_msg("clearsign: %s", mrx_error_last());
    free(text);
    return out;
}

/* A view signed by the clinic (or the owner), parsed by the other. */
static mrx_view *
view_of(const char *case_id, const char *node, const char *when, const char *feeds)
{
    int by_owner = strcmp(node, owner_fpr) == 0;
    char *text = sign(by_owner ? owner_pgp : clinic_pgp, node, body(case_id, node, when, feeds));
    mrx_view *v = NULL;

    if (mrx_view_parse(&v, by_owner ? clinic_pgp : owner_pgp, text, strlen(text)) != 0)
        fail_msg("parse: %s\n%s", mrx_error_last(), text);
    free(text);
    return v;
}

/* Parsing text (by the owner's keyring) fails with code and a message
 * that says what. */
static void
expect_refused_len(const char *text, size_t len, int code, const char *words)
{
    mrx_view *v = NULL;
    int rc = mrx_view_parse(&v, owner_pgp, text, len);

    if (rc != code || !strstr(mrx_error_last(), words))
        fail_msg("expected %d \"%s\", got %d \"%s\"", code, words, rc, mrx_error_last());
    assert_null(v);
    assert_null(strchr(mrx_error_last(), '\n'));
}

static void
expect_refused(char *text, int code, const char *words)
{
    expect_refused_len(text, strlen(text), code, words);
    free(text);
}

/* Signed by the clinic, which the owner's keyring knows. */
static char *
clinic_signed(const char *case_id, const char *when, const char *feeds)
{
    return sign(clinic_pgp, clinic_fpr, body(case_id, clinic_fpr, when, feeds));
}

static mrx_ledger *
new_case(void)
{
    mrx_ledger_author owner = {owner_pgp, owner_fpr, "Dana Ruiz"};
    mrx_ledger_author clinic = {clinic_pgp, clinic_fpr, "Clinic Aurora"};
    mrx_ledger *l = NULL;
    mrx_event ev;

    if (mrx_ledger_create(&l, cases, &owner, "Rhinoplasty, Istanbul, March") != 0)
        fail_msg("create: %s", mrx_error_last());
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_ADDED;
    strcpy(ev.member, clinic_fpr);
    ev.role = MRX_MEMBER_CONTRIBUTOR;
    assert_int_equal(mrx_ledger_append(l, &owner, &ev, "certificate\n", NULL), 0);
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_ADDED;
    strcpy(ev.bundle, "0a4c3aa02d1b0b4826daa5ffe85ef13be83c1433842a9a98b901e075136dd86f");
    ev.size = 1072855;
    ev.kind = MRX_KIND_IMAGING;
    strcpy(ev.readers[0], clinic_fpr);
    strcpy(ev.readers[1], owner_fpr);
    ev.n_readers = 2;
    if (mrx_ledger_append(l, &clinic, &ev, NULL, NULL) != 0)
        fail_msg("append: %s", mrx_error_last());
    return l;
}

static void
view_make_round_trips(void **state)
{
    mrx_ledger *l = new_case();
    mrx_ledger_head *heads = NULL;
    mrx_view *v = NULL;
    char *text = NULL;
    size_t len = 0, n = 0;

    (void)state;
    if (mrx_view_make(&text, &len, l, owner_pgp, owner_fpr, 1795000000) != 0)
        fail_msg("make: %s", mrx_error_last());
    assert_int_equal(strlen(text), len);
    if (mrx_view_parse(&v, clinic_pgp, text, len) != 0)
        fail_msg("parse: %s\n%s", mrx_error_last(), text);
    assert_string_equal(mrx_view_case_id(v), mrx_ledger_case_id(l));
    assert_string_equal(mrx_view_node(v), owner_fpr);
    assert_int_equal(mrx_view_time(v), 1795000000);
    assert_int_equal(mrx_ledger_heads(l, &heads, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(mrx_view_feed_count(v), 2);
    for (size_t i = 0; i < n; i++) {
        const mrx_ledger_head *f = NULL;

        for (size_t j = 0; j < 2; j++)
            if (strcmp(mrx_view_feed(v, j)->fpr, heads[i].fpr) == 0)
                f = mrx_view_feed(v, j);
        assert_non_null(f);
        assert_string_equal(f->commit, heads[i].commit);
        assert_int_equal(f->events, strcmp(heads[i].fpr, owner_fpr) == 0 ? 2 : 1);
    }
    assert_true(strcmp(mrx_view_feed(v, 0)->fpr, mrx_view_feed(v, 1)->fpr) < 0);
    assert_null(mrx_view_feed(v, 2));
    assert_memory_equal(mrx_view_text(v, &n), text, len);
    assert_int_equal(n, len);
    /* a signer that is not a fingerprint signs nothing */
    mrx_view_destroy(&v);
    mrx_view_destroy(&v);
    free(text);
    assert_int_equal(mrx_view_make(&text, &len, l, owner_pgp, "owner", 1795000000), MRX_EINVAL);
    assert_null(text);
    free(heads);
    mrx_ledger_destroy(&l);
}

static void
view_made_verifies_with_gpg_alone(void **state)
{
    mrx_ledger *l = new_case();
    char *text = NULL, *path = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(mrx_view_make(&text, &len, l, owner_pgp, owner_fpr, 1795000000), 0);
    assert_true(asprintf(&path, "%s/made.view", dir) > 0);
    t_write_file(path, text, len);
    /* the clinic's keyring holds the owner's public key */
    assert_int_equal(t_sh("GNUPGHOME='%s/clinic' gpg --batch --status-fd 1 --verify '%s' "
                          "2>/dev/null | grep -q '^\\[GNUPG:\\] VALIDSIG .* %s$'",
                          dir, path, owner_fpr),
                     0);
    /* what gpg says was signed is the body, line by line */
    assert_int_equal(t_sh("cd '%s' && GNUPGHOME='%s/clinic' gpg --batch --decrypt made.view "
                          "2>/dev/null >made.body && "
                          "printf 'mrx-view: 1\\ncase: %s\\nnode: %s\\ntime: %s\\n' >want && "
                          "head -n 4 made.body | cmp -s - want && test $(wc -l <made.body) = 6 && "
                          "! tail -n +5 made.body | "
                          "grep -Ev '^feed: [0-9A-F]{40} [0-9a-f]{40} [1-9][0-9]*$'",
                          dir, dir, mrx_ledger_case_id(l), owner_fpr, "2026-11-18T11:06:40Z"),
                     0);
    /* one changed byte and gpg refuses it too */
    text[strlen(text) / 3] ^= 1;
    t_write_file(path, text, len);
    assert_int_not_equal(
        t_sh("GNUPGHOME='%s/clinic' gpg --batch --verify '%s' 2>/dev/null", dir, path), 0);
    free(path);
    free(text);
    mrx_ledger_destroy(&l);
}

static void
view_parse_rejects_unsigned(void **state)
{
    (void)state;
    expect_refused(body(CASE_ID, clinic_fpr, T1, "feed: " FEED_A " " HEAD_1 " 3\n"), MRX_EFORMAT,
                   "not clear-signed");
}

static void
view_parse_rejects_bad_signature(void **state)
{
    char *text = clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 3\n");
    char *p = strstr(text, " 3\n");

    (void)state;
    p[1] = '4';
    expect_refused(text, MRX_ECRYPTO, "view: bad signature");
}

static void
view_parse_rejects_unknown_signer(void **state)
{
    (void)state;
    expect_refused(sign(stranger_pgp, stranger_fpr, body(CASE_ID, stranger_fpr, T1, "")),
                   MRX_EDENIED, "unknown key");
}

static void
view_parse_rejects_signer_other_than_node(void **state)
{
    (void)state;
    /* signed by the clinic, claiming to be the owner's view */
    expect_refused(sign(clinic_pgp, clinic_fpr, body(CASE_ID, owner_fpr, T1, "")), MRX_EDENIED,
                   "is signed by " /* the clinic */);
}

static void
view_parse_rejects_fields_out_of_order(void **state)
{
    char *text = NULL;

    (void)state;
    assert_true(asprintf(&text, "mrx-view: 1\nnode: %s\ncase: %s\ntime: %s\n", clinic_fpr, CASE_ID,
                         T1) > 0);
    expect_refused(sign(clinic_pgp, clinic_fpr, text), MRX_EFORMAT,
                   "line 2: \"node\" where \"case\" belongs");
    assert_true(asprintf(&text,
                         "mrx-view: 1\ncase: %s\nnode: %s\nfeed: " FEED_A " " HEAD_1
                         " 1\ntime: %s\n",
                         CASE_ID, clinic_fpr, T1) > 0);
    expect_refused(sign(clinic_pgp, clinic_fpr, text), MRX_EFORMAT,
                   "line 4: \"feed\" where \"time\" belongs");
    assert_true(asprintf(&text, "mrx-view: 2\ncase: %s\nnode: %s\ntime: %s\n", CASE_ID, clinic_fpr,
                         T1) > 0);
    expect_refused(sign(clinic_pgp, clinic_fpr, text), MRX_EFORMAT, "version \"2\"");
    assert_true(asprintf(&text, "mrx-view: 1\ncase: %s\nnode: %s\n", CASE_ID, clinic_fpr) > 0);
    expect_refused(sign(clinic_pgp, clinic_fpr, text), MRX_EFORMAT, "\"time\" missing");
}

static void
view_parse_rejects_unknown_line(void **state)
{
    (void)state;
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 1\nnote: hi\n"),
                   MRX_EFORMAT, "line 6: \"note\" where \"feed\" belongs");
    expect_refused(clinic_signed(CASE_ID, T1, "just words\n"), MRX_EFORMAT,
                   "line 5 is not \"key: value\"");
    expect_refused(clinic_signed(CASE_ID, T1, "\n"), MRX_EFORMAT, "line 5 is not");
    /* two spaces, a tab, a trailing word: a feed line is exact */
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A "  " HEAD_1 " 1\n"), MRX_EFORMAT,
                   "a feed is \"FPR COMMIT EVENTS\"");
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A "\t" HEAD_1 " 1\n"), MRX_EFORMAT,
                   "a feed is");
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 1 x\n"), MRX_EFORMAT,
                   "bad event count");
}

static void
view_parse_rejects_repeated_and_unsorted_feeds(void **state)
{
    (void)state;
    expect_refused(clinic_signed(CASE_ID, T1,
                                 "feed: " FEED_A " " HEAD_1 " 1\nfeed: " FEED_A " " HEAD_2 " 2\n"),
                   MRX_EFORMAT, "line 6: feed " FEED_A " repeated");
    expect_refused(clinic_signed(CASE_ID, T1,
                                 "feed: " FEED_B " " HEAD_1 " 1\nfeed: " FEED_A " " HEAD_2 " 2\n"),
                   MRX_EFORMAT, "line 6: feed " FEED_A " out of order");
}

/* n feed lines with distinct, sorted authors. */
static char *
many_feeds(size_t n)
{
    char *out = calloc(n, 100), *p = out;

    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "feed: %040zX " HEAD_1 " 1\n", i);
    return out;
}

static void
view_parse_rejects_too_many_feeds(void **state)
{
    char *feeds = many_feeds(MRX_VIEW_FEEDS_MAX), *text;
    mrx_view *v = NULL;

    (void)state;
    text = clinic_signed(CASE_ID, T1, feeds);
    assert_int_equal(mrx_view_parse(&v, owner_pgp, text, strlen(text)), 0);
    assert_int_equal(mrx_view_feed_count(v), MRX_VIEW_FEEDS_MAX);
    mrx_view_destroy(&v);
    free(text);
    free(feeds);
    feeds = many_feeds(MRX_VIEW_FEEDS_MAX + 1);
    expect_refused(clinic_signed(CASE_ID, T1, feeds), MRX_ELIMIT, "more than 256 feeds");
    free(feeds);
}

static void
view_parse_rejects_bad_hex(void **state)
{
    (void)state;
    /* case id: uppercase, short */
    expect_refused(
        clinic_signed("3DD31E5CC835B3F2CDD46C9DA1982F59251E78518FEFA8163D914631C66437D6", T1, ""),
        MRX_EFORMAT, "line 2: not a case id");
    expect_refused(clinic_signed("3dd31e5c", T1, ""), MRX_EFORMAT, "not a case id");
    /* node: lowercase */
    expect_refused(sign(clinic_pgp, clinic_fpr,
                        body(CASE_ID, "2789577e60a4ad1bc77afc7f1b64cbcf201bda25", T1, "")),
                   MRX_EFORMAT, "node is not a fingerprint");
    /* feed author lowercase, head uppercase or not hex */
    expect_refused(
        clinic_signed(CASE_ID, T1, "feed: 2789577e60a4ad1bc77afc7f1b64cbcf201bda25 " HEAD_1 " 1\n"),
        MRX_EFORMAT, "feed author is not a fingerprint");
    expect_refused(
        clinic_signed(CASE_ID, T1, "feed: " FEED_A " ABCDEF1111111111111111111111111111111111 1\n"),
        MRX_EFORMAT, "feed head is not a commit id");
    expect_refused(
        clinic_signed(CASE_ID, T1, "feed: " FEED_A " g111111111111111111111111111111111111111 1\n"),
        MRX_EFORMAT, "feed head is not a commit id");
    /* event counts: none, leading zeros, signs, too large */
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 0\n"), MRX_EFORMAT,
                   "bad event count");
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 07\n"), MRX_EFORMAT,
                   "bad event count");
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " -1\n"), MRX_EFORMAT,
                   "bad event count");
    expect_refused(clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 18446744073709551616\n"),
                   MRX_EFORMAT, "bad event count");
}

static void
view_parse_rejects_bad_time(void **state)
{
    (void)state;
    expect_refused(clinic_signed(CASE_ID, "2026-02-31T10:00:00Z", ""), MRX_EFORMAT,
                   "line 4: bad time");
    expect_refused(clinic_signed(CASE_ID, "2026-11-25 10:00:00", ""), MRX_EFORMAT, "bad time");
    expect_refused(clinic_signed(CASE_ID, "1795000000", ""), MRX_EFORMAT, "bad time");
}

static void
view_parse_rejects_over_64_kib(void **state)
{
    char *filler = malloc(MRX_VIEW_MAX + 2), *text;

    (void)state;
    assert_non_null(filler);
    /* a body just over the limit, properly signed */
    memset(filler, 'x', MRX_VIEW_MAX);
    for (size_t i = 99; i < MRX_VIEW_MAX; i += 100)
        filler[i] = '\n';
    filler[MRX_VIEW_MAX - 1] = '\n';
    filler[MRX_VIEW_MAX] = '\0';
    expect_refused(clinic_signed(CASE_ID, T1, filler), MRX_ELIMIT, "view body of");
    /* a text over the signed limit is refused before gpg sees it */
    text = malloc(MRX_VIEW_SIGNED_MAX + 2);
    assert_non_null(text);
    memset(text, 'x', MRX_VIEW_SIGNED_MAX + 1);
    text[MRX_VIEW_SIGNED_MAX + 1] = '\0';
    expect_refused(text, MRX_ELIMIT, "more than 81920");
    free(filler);
}

static void
view_parse_rejects_nul_bytes(void **state)
{
    char *text = clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 1\n");
    size_t len = strlen(text);

    (void)state;
    *strstr(text, " 1\n") = '\0';
    expect_refused_len(text, len, MRX_EFORMAT, "NUL byte");
    expect_refused_len(text, 0, MRX_EFORMAT, "not clear-signed");
    free(text);
}

static void
view_parse_rejects_missing_trailing_lf(void **state)
{
    char *text = clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 1\n");
    size_t len = strlen(text);
    char *more = NULL;

    (void)state;
    assert_true(len > 0 && text[len - 1] == '\n');
    expect_refused_len(text, len - 1, MRX_EFORMAT, "must end with the line");
    /* nothing may follow the signature, nor precede the message */
    assert_true(asprintf(&more, "%sextra\n", text) > 0);
    expect_refused(more, MRX_EFORMAT, "must end with the line");
    assert_true(asprintf(&more, "%s%s", text, text) > 0);
    expect_refused(more, MRX_EFORMAT, "more than one armour block");
    assert_true(asprintf(&more, "note\n%s", text) > 0);
    expect_refused(more, MRX_EFORMAT, "not clear-signed");
    free(text);
}

/* Versions of a view that gpg still calls good but that are not the
 * view's text: trailing spaces, which OpenPGP does not sign, CRLF line
 * ends and dash escapes. */
static void
view_parse_rejects_altered_text_that_still_verifies(void **state)
{
    char *text = clinic_signed(CASE_ID, T1, "feed: " FEED_A " " HEAD_1 " 1\n");
    char *at = strstr(text, "\ntime: "), *spaced = NULL, *crlf = malloc(2 * strlen(text) + 1);
    char *p = crlf;

    (void)state;
    assert_true(asprintf(&spaced, "%.*s  %s", (int)(at - text), text, at) > 0);
    expect_refused(spaced, MRX_EFORMAT, "the signed text is not the text shown");
    for (const char *q = text; *q; q++) {
        if (*q == '\n')
            *p++ = '\r';
        *p++ = *q;
    }
    *p = '\0';
    expect_refused(crlf, MRX_EFORMAT, "not clear-signed");
    /* a dash-escaped line is not the text shown either */
    at = strstr(text, "\nfeed: ");
    assert_true(asprintf(&spaced, "%.*s\n- %s", (int)(at - text), text, at + 1) > 0);
    expect_refused(spaced, MRX_EFORMAT, "the signed text is not the text shown");
    free(text);
}

static void
view_contradicts_on_fork(void **state)
{
    mrx_view *a = view_of(CASE_ID, clinic_fpr, T1,
                          "feed: " FEED_A " " HEAD_1 " 3\nfeed: " FEED_B " " HEAD_2 " 1\n");
    mrx_view *b = view_of(CASE_ID, owner_fpr, T2, "feed: " FEED_B " " HEAD_3 " 1\n");
    char *why = NULL;

    (void)state;
    assert_int_equal(mrx_view_contradicts(a, b, &why), 1);
    assert_non_null(strstr(why, "feed " FEED_B " forked: with 1 events it ends at " HEAD_2));
    assert_non_null(strstr(why, HEAD_2));
    assert_non_null(strstr(why, HEAD_3));
    assert_null(strchr(why, '\n'));
    free(why);
    assert_int_equal(mrx_view_contradicts(b, a, NULL), 1);
    mrx_view_destroy(&a);
    mrx_view_destroy(&b);
}

static void
view_contradicts_when_a_feed_goes_backwards(void **state)
{
    mrx_view *early = view_of(CASE_ID, clinic_fpr, T1,
                              "feed: " FEED_A " " HEAD_1 " 3\nfeed: " FEED_B " " HEAD_2 " 2\n");
    mrx_view *fewer = view_of(CASE_ID, clinic_fpr, T2,
                              "feed: " FEED_A " " HEAD_2 " 2\nfeed: " FEED_B " " HEAD_2 " 2\n");
    mrx_view *gone = view_of(CASE_ID, clinic_fpr, T3, "feed: " FEED_A " " HEAD_3 " 4\n");
    char *why = NULL;

    (void)state;
    assert_int_equal(mrx_view_contradicts(fewer, early, &why), 1);
    assert_non_null(strstr(why, "went backwards on feed " FEED_A ": 3 events at " T1 ", 2 at " T2));
    free(why);
    /* a feed that disappears went back to no events */
    assert_int_equal(mrx_view_contradicts(early, gone, &why), 1);
    assert_non_null(strstr(why, "feed " FEED_B ": 2 events at " T1 ", 0 at " T3));
    free(why);
    mrx_view_destroy(&early);
    mrx_view_destroy(&fewer);
    mrx_view_destroy(&gone);
}

static void
view_does_not_contradict_progress(void **state)
{
    mrx_view *early = view_of(CASE_ID, clinic_fpr, T1, "feed: " FEED_A " " HEAD_1 " 3\n");
    mrx_view *later = view_of(CASE_ID, clinic_fpr, T2,
                              "feed: " FEED_A " " HEAD_2 " 5\nfeed: " FEED_B " " HEAD_2 " 1\n");
    /* another node, behind: it has not caught up, which is no lie */
    mrx_view *behind = view_of(CASE_ID, owner_fpr, T3, "feed: " FEED_A " " HEAD_3 " 2\n");
    /* the same node twice in one second may have learnt something */
    mrx_view *same_time = view_of(CASE_ID, clinic_fpr, T2, "feed: " FEED_A " " HEAD_3 " 4\n");
    /* another case entirely */
    mrx_view *other = view_of(OTHER_CASE, clinic_fpr, T3, "feed: " FEED_A " " HEAD_3 " 3\n");
    char *why = (char *)"unset";

    (void)state;
    assert_int_equal(mrx_view_contradicts(early, later, &why), 0);
    assert_null(why);
    assert_int_equal(mrx_view_contradicts(later, early, NULL), 0);
    assert_int_equal(mrx_view_contradicts(later, behind, NULL), 0);
    assert_int_equal(mrx_view_contradicts(later, same_time, NULL), 0);
    assert_int_equal(mrx_view_contradicts(early, other, NULL), 0);
    assert_int_equal(mrx_view_contradicts(early, early, NULL), 0);
    mrx_view_destroy(&early);
    mrx_view_destroy(&later);
    mrx_view_destroy(&behind);
    mrx_view_destroy(&same_time);
    mrx_view_destroy(&other);
}

/* A case folder of its own for storage tests. */
static char *
case_folder(void)
{
    char *path = NULL, *base = t_tempdir();

    assert_true(asprintf(&path, "%s/%s", base, CASE_ID) > 0);
    assert_int_equal(mrx_fs_mkdir_p(path, 0700), 0);
    return path;
}

static char *
latest_path(const char *case_dir, const char *node)
{
    char *path = NULL;

    assert_true(asprintf(&path, "%s/views/%s.view", case_dir, node) > 0);
    return path;
}

static void
assert_kept_is(const char *case_dir, const mrx_view *v)
{
    char *path = latest_path(case_dir, mrx_view_node(v)), *text;
    size_t len = 0, want = 0;
    const char *expected = mrx_view_text(v, &want);

    text = t_read_file(path, &len);
    assert_int_equal(len, want);
    assert_memory_equal(text, expected, len);
    free(text);
    free(path);
}

static int
keep(const char *case_dir, const mrx_view *v)
{
    int kept = -1;

    if (mrx_view_keep(&kept, NULL, owner_pgp, case_dir, v) != 0)
        fail_msg("keep: %s", mrx_error_last());
    return kept;
}

static void
view_keep_replaces_with_newer_and_ignores_older(void **state)
{
    char *case_dir = case_folder(), *path = NULL;
    mrx_view *v1 = view_of(CASE_ID, clinic_fpr, T1, "feed: " FEED_A " " HEAD_1 " 3\n");
    mrx_view *v2 = view_of(CASE_ID, clinic_fpr, T2, "feed: " FEED_A " " HEAD_2 " 4\n");
    mrx_view *back = NULL;
    struct stat st;

    (void)state;
    assert_int_equal(mrx_view_load(&back, owner_pgp, case_dir, clinic_fpr), MRX_ENOTFOUND);
    assert_int_equal(keep(case_dir, v1), MRX_VIEW_KEPT_LATEST);
    assert_kept_is(case_dir, v1);
    assert_int_equal(keep(case_dir, v2), MRX_VIEW_KEPT_LATEST);
    assert_kept_is(case_dir, v2);
    /* older, and equal: nothing changes */
    assert_int_equal(keep(case_dir, v1), 0);
    assert_int_equal(keep(case_dir, v2), 0);
    assert_kept_is(case_dir, v2);
    /* read back, verified again */
    assert_int_equal(mrx_view_load(&back, owner_pgp, case_dir, clinic_fpr), 0);
    assert_int_equal(mrx_view_time(back), mrx_view_time(v2));
    assert_string_equal(mrx_view_feed(back, 0)->commit, HEAD_2);
    mrx_view_destroy(&back);
    /* private folders and files */
    assert_true(asprintf(&path, "%s/views", case_dir) > 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    free(path);
    path = latest_path(case_dir, clinic_fpr);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(path);
    /* no evidence was called for */
    assert_true(asprintf(&path, "%s/views/conflicts", case_dir) > 0);
    assert_int_equal(t_count_entries(path), 0);
    free(path);
    assert_int_equal(mrx_view_load(&back, owner_pgp, case_dir, "clinic"), MRX_EINVAL);
    mrx_view_destroy(&v1);
    mrx_view_destroy(&v2);
    free(case_dir);
}

static void
view_keep_refuses_another_case_or_the_future(void **state)
{
    char *case_dir = case_folder();
    mrx_view *v = view_of(OTHER_CASE, clinic_fpr, T1, "");
    char *not_a_case = mrx_fs_dirname(case_dir);
    int kept = -1;

    (void)state;
    assert_int_equal(mrx_view_keep(&kept, NULL, owner_pgp, case_dir, v), MRX_EINVAL);
    assert_non_null(strstr(mrx_error_last(), "does not belong in"));
    assert_int_equal(kept, 0);
    assert_int_equal(mrx_view_keep(&kept, NULL, owner_pgp, not_a_case, v), MRX_EINVAL);
    assert_non_null(strstr(mrx_error_last(), "is not a case folder"));
    mrx_view_destroy(&v);
    /* a view from the far future would stay the latest for good */
    v = view_of(CASE_ID, clinic_fpr, "2100-01-01T00:00:00Z", "");
    assert_int_equal(mrx_view_keep(&kept, NULL, owner_pgp, case_dir, v), MRX_EINVAL);
    assert_non_null(strstr(mrx_error_last(), "dated 2100-01-01T00:00:00Z, more than a day ahead"));
    assert_int_equal(kept, 0);
    mrx_view_destroy(&v);
    free(not_a_case);
    free(case_dir);
}

static void
view_keep_stores_contradictions_as_evidence(void **state)
{
    char *case_dir = case_folder(), *conflicts = NULL, *why = NULL;
    mrx_view *v1 = view_of(CASE_ID, clinic_fpr, T1, "feed: " FEED_A " " HEAD_3 " 4\n");
    mrx_view *v2 = view_of(CASE_ID, clinic_fpr, T2, "feed: " FEED_A " " HEAD_1 " 5\n");
    mrx_view *v3 = view_of(CASE_ID, clinic_fpr, T3, "feed: " FEED_A " " HEAD_2 " 4\n");
    mrx_view *v4 =
        view_of(CASE_ID, clinic_fpr, "2026-11-25T13:00:00Z", "feed: " FEED_A " " HEAD_2 " 6\n");
    mrx_view *owners = view_of(CASE_ID, owner_fpr, T1, "feed: " FEED_A " " HEAD_1 " 5\n");
    mrx_view **list = NULL;
    int kept = 0;
    size_t n = 0;

    (void)state;
    assert_true(asprintf(&conflicts, "%s/views/conflicts", case_dir) > 0);
    assert_int_equal(keep(case_dir, v2), MRX_VIEW_KEPT_LATEST);
    /* newer but backwards: the latest, and both are evidence */
    assert_int_equal(mrx_view_keep(&kept, &why, owner_pgp, case_dir, v3), 0);
    assert_int_equal(kept, MRX_VIEW_KEPT_LATEST | MRX_VIEW_KEPT_EVIDENCE);
    assert_non_null(strstr(why, "went backwards"));
    free(why);
    assert_kept_is(case_dir, v3);
    assert_int_equal(t_count_entries(conflicts), 2);
    assert_int_equal(t_sh("cd '%s' && for f in *.view; do "
                          "test \"$f\" = \"%s-$(sha256sum < \"$f\" | cut -c1-64).view\" || exit 1; "
                          "done",
                          conflicts, clinic_fpr),
                     0);
    /* older, showing a fork against the latest: evidence, latest unchanged */
    assert_int_equal(mrx_view_keep(&kept, &why, owner_pgp, case_dir, v1), 0);
    assert_int_equal(kept, MRX_VIEW_KEPT_EVIDENCE);
    assert_non_null(strstr(why, "forked"));
    free(why);
    assert_kept_is(case_dir, v3);
    assert_int_equal(t_count_entries(conflicts), 3);
    /* the same again stores nothing new */
    assert_int_equal(keep(case_dir, v1), MRX_VIEW_KEPT_EVIDENCE);
    assert_int_equal(t_count_entries(conflicts), 3);
    /* evidence survives honest progress */
    assert_int_equal(keep(case_dir, v4), MRX_VIEW_KEPT_LATEST);
    assert_int_equal(keep(case_dir, owners), MRX_VIEW_KEPT_LATEST);
    assert_int_equal(t_count_entries(conflicts), 3);
    /* the listing: every view once, by node and time */
    if (mrx_view_list(&list, &n, owner_pgp, case_dir) != 0)
        fail_msg("list: %s", mrx_error_last());
    assert_int_equal(n, 5);
    {
        const mrx_view *owner_first[] = {owners, v1, v2, v3, v4};
        const mrx_view *clinic_first[] = {v1, v2, v3, v4, owners};
        const mrx_view **want = strcmp(owner_fpr, clinic_fpr) < 0 ? owner_first : clinic_first;

        for (size_t i = 0; i < n; i++)
            assert_string_equal(mrx_view_text(list[i], NULL), mrx_view_text(want[i], NULL));
    }
    mrx_view_list_destroy(&list, n);
    mrx_view_list_destroy(&list, n);
    mrx_view_destroy(&v1);
    mrx_view_destroy(&v2);
    mrx_view_destroy(&v3);
    mrx_view_destroy(&v4);
    mrx_view_destroy(&owners);
    free(conflicts);
    free(case_dir);
}

static void
view_keep_stops_storing_evidence_at_the_limit(void **state)
{
    char *case_dir = case_folder(), *path = NULL;
    mrx_view *v1 = view_of(CASE_ID, clinic_fpr, T1, "feed: " FEED_A " " HEAD_1 " 3\n");
    mrx_view *v2 = view_of(CASE_ID, clinic_fpr, T2, "feed: " FEED_A " " HEAD_2 " 2\n");

    (void)state;
    assert_int_equal(keep(case_dir, v1), MRX_VIEW_KEPT_LATEST);
    for (int i = 0; i < MRX_VIEW_CONFLICTS_MAX; i++) {
        assert_true(asprintf(&path, "%s/views/conflicts/%s-%064x.view", case_dir, clinic_fpr, i) >
                    0);
        t_write_file(path, "x", 1);
        free(path);
    }
    assert_int_equal(keep(case_dir, v2),
                     MRX_VIEW_KEPT_LATEST | MRX_VIEW_KEPT_EVIDENCE | MRX_VIEW_KEPT_FULL);
    assert_true(asprintf(&path, "%s/views/conflicts", case_dir) > 0);
    assert_int_equal(t_count_entries(path), MRX_VIEW_CONFLICTS_MAX);
    assert_kept_is(case_dir, v2);
    free(path);
    mrx_view_destroy(&v1);
    mrx_view_destroy(&v2);
    free(case_dir);
}

/* Loading what is in path fails with code and words. */
static void
expect_load_refused(const char *case_dir, int code, const char *words)
{
    mrx_view *v = NULL;
    int rc = mrx_view_load(&v, owner_pgp, case_dir, clinic_fpr);

    if (rc != code || !strstr(mrx_error_last(), words))
        fail_msg("expected %d \"%s\", got %d \"%s\"", code, words, rc, mrx_error_last());
    assert_null(v);
}

static void
view_load_refuses_hostile_files(void **state)
{
    char *case_dir = case_folder(), *path = latest_path(case_dir, clinic_fpr), *text, *big;
    const char *good_text;
    mrx_view *v = NULL, *good = view_of(CASE_ID, clinic_fpr, T1, "");
    mrx_view **list = NULL;
    size_t n = 0, len = 0;
    int kept = 0;

    (void)state;
    t_write_file(path, "garbage\n", 8);
    expect_load_refused(case_dir, MRX_EFORMAT, "not clear-signed");
    assert_non_null(strstr(mrx_error_last(), path));
    /* a hostile latest view also stops keeping, with the same message */
    assert_int_equal(mrx_view_keep(&kept, NULL, owner_pgp, case_dir, good), MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), path));
    assert_int_equal(mrx_view_list(&list, &n, owner_pgp, case_dir), MRX_EFORMAT);
    assert_null(list);
    /* too big to read */
    big = calloc(1, MRX_VIEW_SIGNED_MAX + 1);
    assert_non_null(big);
    t_write_file(path, big, MRX_VIEW_SIGNED_MAX + 1);
    expect_load_refused(case_dir, MRX_ELIMIT, "more than the limit");
    free(big);
    /* the owner's own view filed under the clinic's name */
    text = sign(owner_pgp, owner_fpr, body(CASE_ID, owner_fpr, T1, ""));
    t_write_file(path, text, strlen(text));
    expect_load_refused(case_dir, MRX_EFORMAT, "holds a view of case " CASE_ID " by");
    free(text);
    /* the clinic's view of another case */
    text = clinic_signed(OTHER_CASE, T1, "");
    t_write_file(path, text, strlen(text));
    expect_load_refused(case_dir, MRX_EFORMAT, "holds a view of case " OTHER_CASE);
    free(text);
    /* a folder in its place */
    unlink(path);
    assert_int_equal(mrx_fs_mkdir_p(path, 0700), 0);
    expect_load_refused(case_dir, MRX_EINVAL, "not a regular file");
    rmdir(path);
    /* evidence whose content is not what its name says */
    assert_int_equal(keep(case_dir, good), MRX_VIEW_KEPT_LATEST);
    free(path);
    assert_true(asprintf(&path, "%s/views/conflicts/%s-%064d.view", case_dir, clinic_fpr, 0) > 0);
    good_text = mrx_view_text(good, &len);
    t_write_file(path, good_text, len);
    assert_int_equal(mrx_view_list(&list, &n, owner_pgp, case_dir), MRX_EFORMAT);
    if (!strstr(mrx_error_last(), "does not match its name"))
        fail_msg("%s", mrx_error_last());
    /* names that are not views are no business of the listing */
    unlink(path);
    free(path);
    assert_true(asprintf(&path, "%s/views/notes.txt", case_dir) > 0);
    t_write_file(path, "hello\n", 6);
    assert_int_equal(mrx_view_list(&list, &n, owner_pgp, case_dir), 0);
    assert_int_equal(n, 1);
    mrx_view_list_destroy(&list, n);
    mrx_view_destroy(&v);
    mrx_view_destroy(&good);
    free(path);
    free(case_dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(view_make_round_trips),
        cmocka_unit_test(view_made_verifies_with_gpg_alone),
        cmocka_unit_test(view_parse_rejects_unsigned),
        cmocka_unit_test(view_parse_rejects_bad_signature),
        cmocka_unit_test(view_parse_rejects_unknown_signer),
        cmocka_unit_test(view_parse_rejects_signer_other_than_node),
        cmocka_unit_test(view_parse_rejects_fields_out_of_order),
        cmocka_unit_test(view_parse_rejects_unknown_line),
        cmocka_unit_test(view_parse_rejects_repeated_and_unsorted_feeds),
        cmocka_unit_test(view_parse_rejects_too_many_feeds),
        cmocka_unit_test(view_parse_rejects_bad_hex),
        cmocka_unit_test(view_parse_rejects_bad_time),
        cmocka_unit_test(view_parse_rejects_over_64_kib),
        cmocka_unit_test(view_parse_rejects_nul_bytes),
        cmocka_unit_test(view_parse_rejects_missing_trailing_lf),
        cmocka_unit_test(view_parse_rejects_altered_text_that_still_verifies),
        cmocka_unit_test(view_contradicts_on_fork),
        cmocka_unit_test(view_contradicts_when_a_feed_goes_backwards),
        cmocka_unit_test(view_does_not_contradict_progress),
        cmocka_unit_test(view_keep_replaces_with_newer_and_ignores_older),
        cmocka_unit_test(view_keep_refuses_another_case_or_the_future),
        cmocka_unit_test(view_keep_stores_contradictions_as_evidence),
        cmocka_unit_test(view_keep_stops_storing_evidence_at_the_limit),
        cmocka_unit_test(view_load_refuses_hostile_files),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

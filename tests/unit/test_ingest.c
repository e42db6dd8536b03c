/*
 * test_ingest: events written elsewhere, taken into a case's ledger by
 * mrx_case_ingest / mrx_ledger_ingest_feed: accepted only when they extend
 * our feed, verify, keep the chain and were the author's to write; refused
 * otherwise with the event and the reason named, and the ledger as it was.
 * Bad events are made with plain git (commit-tree -S).
 */
#include "testlib.h"
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static mrx_node *patient, *reviewer, *stranger;
static char case_id[65];

static char *
git_dir(mrx_node *n)
{
    char *path = NULL;

    assert_true(asprintf(&path, "%s/%s/ledger.git", mrx_node_cases(n), case_id) > 0);
    return path;
}

static mrx_ledger *
open_case(mrx_node *n)
{
    char *path = mrx_fs_join(mrx_node_cases(n), case_id);
    mrx_ledger *l = NULL;

    if (mrx_ledger_open(&l, path) != 0)
        fail_msg("open: %s", mrx_error_last());
    free(path);
    return l;
}

/* The refs of a ledger, as one string: to show nothing changed. */
static char *
refs_of(mrx_node *n)
{
    char *gd = git_dir(n), *cmd = NULL, *out = calloc(1, 8192);
    FILE *p;

    assert_true(asprintf(&cmd, "git --git-dir='%s' for-each-ref", gd) > 0);
    p = popen(cmd, "r");
    assert_non_null(p);
    (void)!fread(out, 1, 8191, p);
    pclose(p);
    free(cmd);
    free(gd);
    return out;
}

static int
setup_group(void **state)
{
    mrx_ledger_author owner;
    mrx_ledger *l = NULL, *copy = NULL;
    char *report = NULL, *src;
    mrx_event ev;

    (void)state;
    if (mrx_ledger_global_init() != 0)
        return -1;
    dir = t_tempdir();
    patient = t_node_new(dir, "patient", MRX_ROLE_PATIENT);
    reviewer = t_node_new(dir, "reviewer", MRX_ROLE_REVIEWER);
    stranger = t_node_new(dir, "stranger", MRX_ROLE_CLINIC);
    t_introduce(patient, reviewer);
    t_introduce(patient, stranger);
    t_introduce(reviewer, stranger);
    /* the patient's case, with the reviewer as a member */
    owner = t_author(patient);
    assert_int_equal(mrx_ledger_create(&l, mrx_node_cases(patient), &owner, "case"), 0);
    strcpy(case_id, mrx_ledger_case_id(l));
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_ADDED;
    strcpy(ev.member, t_fpr(reviewer));
    ev.role = MRX_MEMBER_REVIEWER;
    assert_int_equal(mrx_ledger_append(l, &owner, &ev, mrx_cert_text(mrx_node_cert(reviewer)),
                                       NULL),
                     0);
    mrx_ledger_destroy(&l);
    /* the reviewer and the stranger take up copies from the patient's */
    src = git_dir(patient);
    assert_int_equal(mrx_ledger_adopt(&copy, mrx_node_cases(reviewer), case_id, t_fpr(patient)), 0);
    if (mrx_case_ingest(copy, reviewer, src, NULL, &report) != 0)
        fail_msg("adopt: %s", mrx_error_last());
    free(report);
    mrx_ledger_destroy(&copy);
    assert_int_equal(mrx_ledger_adopt(&copy, mrx_node_cases(stranger), case_id, t_fpr(patient)), 0);
    assert_int_equal(mrx_case_ingest(copy, stranger, src, NULL, &report), 0);
    free(report);
    mrx_ledger_destroy(&copy);
    free(src);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_node_destroy(&patient);
    mrx_node_destroy(&reviewer);
    mrx_node_destroy(&stranger);
    return 0;
}

/* Append to n's own copy with the library (a well-formed event). */
static void
append(mrx_node *n, mrx_event_type type, mrx_kind kind)
{
    mrx_ledger_author a = t_author(n);
    mrx_ledger *l = open_case(n);
    mrx_event ev;

    static unsigned next_bundle = 100;

    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.kind = kind;
    /* a bundle id is added once per case: each added bundle gets its own */
    if (type == MRX_EV_BUNDLE_ADDED)
        snprintf(ev.bundle, sizeof ev.bundle, "%064u", next_bundle++);
    else
        strcpy(ev.bundle, "0a4c3aa02d1b0b4826daa5ffe85ef13be83c1433842a9a98b901e075136dd86f");
    if (type == MRX_EV_BUNDLE_ADDED) {
        strcpy(ev.readers[0], t_fpr(n));
        strcpy(ev.readers[1], t_fpr(patient));
        ev.n_readers = 2;
    }
    if (mrx_ledger_append(l, &a, &ev, NULL, NULL) != 0)
        fail_msg("append: %s", mrx_error_last());
    mrx_ledger_destroy(&l);
}

/* The patient ingests from n's copy; the refusal's code, or 0. */
static int
patient_ingests_from(mrx_node *n, char **report)
{
    mrx_ledger *l = open_case(patient);
    char *src = git_dir(n);
    int rc = mrx_case_ingest(l, patient, src, NULL, report);

    mrx_ledger_destroy(&l);
    free(src);
    return rc;
}

/* Refused, naming why, with the patient's ledger exactly as it was. */
static void
expect_refused(mrx_node *from, int code, const char *why)
{
    char *before = refs_of(patient), *after, *report = NULL, *gd = git_dir(patient);
    int rc = patient_ingests_from(from, &report);

    if (rc != code || !strstr(mrx_error_last(), why))
        fail_msg("wanted %d naming \"%s\", got %d: %s\n%s", code, why, rc, mrx_error_last(),
                 report ? report : "");
    after = refs_of(patient);
    assert_string_equal(before, after);
    assert_int_equal(t_sh("ls -a '%s/..' | grep -q quarantine", gd), 1);
    free(before);
    free(after);
    free(report);
    free(gd);
}

/* Make a commit with plain git in n's copy on feed_owner's feed, signed by
 * signer's key, with the given parents and message; the feed moves to it. */
static void
craft(mrx_node *n, mrx_node *signer, mrx_node *feed_owner, const char *parents,
      const char *message)
{
    char *gd = git_dir(n), *msg_path = mrx_fs_join(dir, "msg");

    t_write_file(msg_path, message, strlen(message));
    /* like a real event: author FPR@mrx at the event's own time */
    assert_int_equal(t_sh("cd '%s' && tree=$(git hash-object -t tree -w /dev/null) && "
                          "t=$(sed -n 's/^time: //p' '%s') && "
                          "c=$(GIT_AUTHOR_DATE=\"$t\" GIT_COMMITTER_DATE=\"$t\" GNUPGHOME='%s' "
                          "git -c user.name=x -c user.email=%s@mrx commit-tree "
                          "-S%s %s $tree <'%s') && git update-ref refs/feeds/%s $c",
                          gd, msg_path, mrx_node_gnupghome(signer), t_fpr(feed_owner), t_fpr(signer),
                          parents, msg_path, t_fpr(feed_owner)),
                     0);
    free(gd);
    free(msg_path);
}

/* The SHA-256 of commit rev in n's copy, as the ledger chains them. */
static void
sha_of(char out[65], mrx_node *n, const char *rev)
{
    char *gd = git_dir(n), *cmd = NULL;
    FILE *p;

    assert_true(asprintf(&cmd, "cd '%s' && c=$(git rev-parse %s) && ( printf 'commit %%s\\0' "
                               "$(git cat-file -s $c); git cat-file commit $c ) | sha256sum",
                         gd, rev) > 0);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fread(out, 1, 64, p), 64);
    out[64] = '\0';
    pclose(p);
    free(cmd);
    free(gd);
}

/* A reset of a copy's feed back to rev (or away, for ""). */
static void
reset_feed(mrx_node *n, mrx_node *feed_owner, const char *rev)
{
    char *gd = git_dir(n);

    if (*rev)
        assert_int_equal(t_sh("git --git-dir='%s' update-ref refs/feeds/%s %s", gd,
                            t_fpr(feed_owner), rev),
                         0);
    else
        assert_int_equal(t_sh("git --git-dir='%s' update-ref -d refs/feeds/%s", gd,
                            t_fpr(feed_owner)),
                         0);
    free(gd);
}

/* Now, as event text writes it: crafted events must fall inside the
 * author's membership, or they are refused for that first. */
static const char *
now_text(void)
{
    static char when[MRX_TIME_LEN + 1];

    mrx_text_format_time(when, time(NULL));
    return when;
}

static char *
event_text(mrx_node *author, unsigned seq, const char *prev, const char *tail)
{
    char *text = NULL;

    assert_true(asprintf(&text,
                         "mrx-event: 1\ntype: bundle-opened\ncase: %s\nauthor: %s\nseq: %u\n"
                         "time: %s\n%s%s%s"
                         "bundle: 0a4c3aa02d1b0b4826daa5ffe85ef13be83c1433842a9a98b901e075136dd86f\n%s",
                         case_id, t_fpr(author), seq, now_text(), prev ? "prev: " : "",
                         prev ? prev : "",
                         prev ? "\n" : "", tail) > 0);
    return text;
}

static void
ingest_takes_a_members_events_that_extend_its_feed(void **state)
{
    char *report = NULL;
    mrx_ledger *l;

    (void)state;
    append(reviewer, MRX_EV_BUNDLE_ADDED, MRX_KIND_OPINION);
    append(reviewer, MRX_EV_BUNDLE_OPENED, MRX_KIND_RECORDS);
    if (patient_ingests_from(reviewer, &report) != 0)
        fail_msg("ingest: %s", mrx_error_last());
    assert_non_null(strstr(report, "2 events added"));
    free(report);
    l = open_case(patient);
    assert_int_equal(mrx_ledger_read_feed(l, mrx_node_pgp(patient), t_fpr(reviewer), NULL, NULL), 0);
    mrx_ledger_destroy(&l);
    /* again: nothing new, nothing changes */
    assert_int_equal(patient_ingests_from(reviewer, &report), 0);
    assert_string_equal(report, "");
    free(report);
}

static void
ingest_refuses_a_feed_of_a_non_member(void **state)
{
    (void)state;
    append(stranger, MRX_EV_BUNDLE_OPENED, MRX_KIND_RECORDS);
    expect_refused(stranger, MRX_EDENIED, "never a member");
    reset_feed(stranger, stranger, "");
}

/* The reviewer's feed head in its own copy, as a git revision. */
static char *
head_rev(mrx_node *n, const char *suffix)
{
    char *rev = NULL;

    assert_true(asprintf(&rev, "refs/feeds/%s%s", t_fpr(n), suffix) > 0);
    return rev;
}

/* Craft a bad event on top of the reviewer's good head, check the patient
 * refuses it, then put the reviewer's feed back. */
static void
refused_on_top(mrx_node *signer, const char *parents, unsigned seq, const char *prev,
               const char *tail, int code, const char *why)
{
    char *good = NULL, *text = event_text(reviewer, seq, prev, tail), *gd = git_dir(reviewer);
    FILE *p;
    char cmd[512], hex[41] = "";

    snprintf(cmd, sizeof cmd, "git --git-dir='%s' rev-parse refs/feeds/%s", gd, t_fpr(reviewer));
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fread(hex, 1, 40, p), 40);
    pclose(p);
    good = strdup(hex);
    craft(reviewer, signer, reviewer, parents, text);
    expect_refused(reviewer, code, why);
    reset_feed(reviewer, reviewer, good);
    free(good);
    free(text);
    free(gd);
}

static void
ingest_refuses_broken_chains_and_forgeries(void **state)
{
    char prev[65], *parent = head_rev(reviewer, ""), *grand = head_rev(reviewer, "~1"), *p = NULL,
                   *pp = NULL, *big;

    (void)state;
    sha_of(prev, reviewer, parent);
    assert_true(asprintf(&p, "-p %s", parent) > 0);
    assert_true(asprintf(&pp, "-p %s -p %s", parent, grand) > 0);
    refused_on_top(stranger, p, 2, prev, "", MRX_EDENIED, "not by the expected");
    refused_on_top(reviewer, p, 2,
                   "0000000000000000000000000000000000000000000000000000000000000000", "",
                   MRX_EFORMAT, "breaks the chain");
    refused_on_top(reviewer, p, 1, prev, "", MRX_EFORMAT, "breaks the chain");
    refused_on_top(reviewer, pp, 2, prev, "", MRX_EFORMAT, "2 parents");
    refused_on_top(reviewer, p, 2, prev, "extra: field\n", MRX_EFORMAT, "unexpected text");
    big = calloc(1, 100 * 1024);
    memset(big, 'x', 100 * 1024 - 2);
    big[100 * 1024 - 2] = '\n';
    refused_on_top(reviewer, p, 2, prev, big, MRX_ELIMIT, "bytes, more than");
    free(big);
    free(p);
    free(pp);
    free(parent);
    free(grand);
}

static void
ingest_refuses_member_added_by_a_member(void **state)
{
    char prev[65], *parent = head_rev(reviewer, ""), *gd = git_dir(reviewer), *msg = NULL,
                   *msg_path = mrx_fs_join(dir, "msg"), *cert_path = mrx_fs_join(dir, "cert"),
                   good[41] = "";
    const char *cert = mrx_cert_text(mrx_node_cert(stranger));
    FILE *f;
    char cmd[512];

    (void)state;
    snprintf(cmd, sizeof cmd, "git --git-dir='%s' rev-parse %s", gd, parent);
    assert_non_null(f = popen(cmd, "r"));
    assert_int_equal(fread(good, 1, 40, f), 40);
    pclose(f);
    sha_of(prev, reviewer, parent);
    /* well formed and well signed, with the certificate in its tree: only
     * the owner may write it */
    assert_true(asprintf(&msg, "mrx-event: 1\ntype: member-added\ncase: %s\nauthor: %s\nseq: 2\n"
                               "time: %s\nprev: %s\nmember: %s\nrole: reviewer\n",
                         case_id, t_fpr(reviewer), now_text(), prev, t_fpr(stranger)) > 0);
    t_write_file(msg_path, msg, strlen(msg));
    t_write_file(cert_path, cert, strlen(cert));
    assert_int_equal(t_sh("cd '%s' && blob=$(git hash-object -w '%s') && "
                        "tree=$(printf '100644 blob %%s\tcertificate\n' $blob | git mktree) && "
                        "t=$(sed -n 's/^time: //p' '%s') && "
                        "c=$(GIT_AUTHOR_DATE=\"$t\" GIT_COMMITTER_DATE=\"$t\" GNUPGHOME='%s' "
                        "git -c user.name=x -c user.email=%s@mrx commit-tree "
                        "-S%s -p %s $tree <'%s') && git update-ref refs/feeds/%s $c",
                        gd, cert_path, msg_path, mrx_node_gnupghome(reviewer), t_fpr(reviewer),
                        t_fpr(reviewer), parent, msg_path, t_fpr(reviewer)),
                     0);
    expect_refused(reviewer, MRX_EDENIED, "only the case's owner writes member-added");
    reset_feed(reviewer, reviewer, good);
    free(msg);
    free(msg_path);
    free(cert_path);
    free(parent);
    free(gd);
}

static void
ingest_refuses_rewritten_history_and_keeps_it(void **state)
{
    char *grand = head_rev(reviewer, "~1"), *gd = git_dir(reviewer), *ev_dir = NULL,
         good[41] = "", cmd[512];
    FILE *f;

    (void)state;
    snprintf(cmd, sizeof cmd, "git --git-dir='%s' rev-parse refs/feeds/%s", gd, t_fpr(reviewer));
    assert_non_null(f = popen(cmd, "r"));
    assert_int_equal(fread(good, 1, 40, f), 40);
    pclose(f);
    /* behind ours: nothing happens */
    reset_feed(reviewer, reviewer, grand);
    {
        char *before = refs_of(patient), *after, *report = NULL;
        assert_int_equal(patient_ingests_from(reviewer, &report), 0);
        after = refs_of(patient);
        assert_string_equal(after, before);
        free(before);
        free(after);
        free(report);
    }
    /* a different second event (not the bundle-opened it was: signatures
     * are deterministic, so the same event in the same second would be
     * the same commit): the history was rewritten */
    append(reviewer, MRX_EV_BUNDLE_ADDED, MRX_KIND_OPINION);
    expect_refused(reviewer, MRX_EDENIED, "rewritten");
    assert_true(asprintf(&ev_dir, "%s/%s/evidence", mrx_node_cases(patient), case_id) > 0);
    assert_int_equal(t_sh("grep -q '^reason: .*rewritten' '%s'/*/REFUSED", ev_dir), 0);
    reset_feed(reviewer, reviewer, good);
    free(ev_dir);
    free(grand);
    free(gd);
}

/* Append ev (type, bundle, kind, readers as given) to n's own copy. */
static void
append_ev(mrx_node *n, mrx_event *ev)
{
    mrx_ledger_author a = t_author(n);
    mrx_ledger *l = open_case(n);

    if (mrx_ledger_append(l, &a, ev, NULL, NULL) != 0)
        fail_msg("append: %s", mrx_error_last());
    mrx_ledger_destroy(&l);
}

/* The reviewer's feed head in its own copy, as 40 hex digits. */
static void
reviewer_head(char hex[41])
{
    char *gd = git_dir(reviewer), cmd[512];
    FILE *f;

    snprintf(cmd, sizeof cmd, "git --git-dir='%s' rev-parse refs/feeds/%s", gd, t_fpr(reviewer));
    assert_non_null(f = popen(cmd, "r"));
    assert_int_equal(fread(hex, 1, 40, f), 40);
    hex[40] = '\0';
    pclose(f);
    free(gd);
}

static void
ingest_refuses_events_dated_before_their_predecessor(void **state)
{
    char prev[65], good[41], *parent = head_rev(reviewer, ""), *p = NULL, *text = NULL;

    (void)state;
    reviewer_head(good);
    sha_of(prev, reviewer, parent);
    assert_true(asprintf(&p, "-p %s", parent) > 0);
    assert_true(asprintf(&text,
                         "mrx-event: 1\ntype: bundle-opened\ncase: %s\nauthor: %s\nseq: 2\n"
                         "time: 2026-01-01T00:00:00Z\nprev: %s\nbundle: %064d\n",
                         case_id, t_fpr(reviewer), prev, 7) > 0);
    craft(reviewer, reviewer, reviewer, p, text);
    expect_refused(reviewer, MRX_EFORMAT, "dated before the event it follows");
    reset_feed(reviewer, reviewer, good);
    free(text);
    free(p);
    free(parent);
}

static void
ingest_keeps_no_evidence_of_what_does_not_verify(void **state)
{
    char *ev_dir = NULL, *gd = git_dir(stranger);

    (void)state;
    /* the stranger offers an unsigned history as the reviewer's: refused,
     * and nothing that could frame the reviewer is kept */
    assert_int_equal(t_sh("cd '%s' && tree=$(git hash-object -t tree -w /dev/null) && "
                          "c=$(printf 'mrx-event: 1\n' | git -c user.name=x -c user.email=x@x "
                          "commit-tree $tree) && git update-ref refs/feeds/%s $c",
                          gd, t_fpr(reviewer)),
                     0);
    assert_true(asprintf(&ev_dir, "%s/%s/evidence", mrx_node_cases(patient), case_id) > 0);
    {
        int before = t_count_entries(ev_dir);
        expect_refused(stranger, MRX_ECRYPTO, "nor verify");
        expect_refused(stranger, MRX_ECRYPTO, "nor verify");
        assert_int_equal(t_count_entries(ev_dir), before);
    }
    reset_feed(stranger, reviewer, "");
    free(ev_dir);
    free(gd);
}

static void
ingest_refuses_claims_on_others_bundles_and_wrong_readers(void **state)
{
    char good[41];
    mrx_event ev;

    (void)state;
    reviewer_head(good);
    /* an opinion for a stranger too */
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_ADDED;
    ev.kind = MRX_KIND_OPINION;
    snprintf(ev.bundle, sizeof ev.bundle, "%064d", 1);
    strcpy(ev.readers[0], t_fpr(reviewer));
    strcpy(ev.readers[1], t_fpr(patient));
    strcpy(ev.readers[2], t_fpr(stranger));
    ev.n_readers = 3;
    append_ev(reviewer, &ev);
    expect_refused(reviewer, MRX_EDENIED, "is not a reviewer of the case");
    reset_feed(reviewer, reviewer, good);
    /* an opinion not for the owner */
    ev.n_readers = 1;
    append_ev(reviewer, &ev);
    expect_refused(reviewer, MRX_EDENIED, "not for its author and the owner");
    reset_feed(reviewer, reviewer, good);
    /* the reviewer's own first bundle, claimed again */
    ev.n_readers = 2;
    snprintf(ev.bundle, sizeof ev.bundle, "%064u", 100);
    append_ev(reviewer, &ev);
    expect_refused(reviewer, MRX_EDENIED, "was already added by");
    reset_feed(reviewer, reviewer, good);
    /* a withdrawal of a bundle the reviewer did not add */
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_WITHDRAWN;
    snprintf(ev.bundle, sizeof ev.bundle, "%064d", 2);
    append_ev(reviewer, &ev);
    expect_refused(reviewer, MRX_EDENIED, "withdrawn only by whoever added it");
    reset_feed(reviewer, reviewer, good);
}

static void
ingest_refuses_a_symbolic_feed_ref(void **state)
{
    char *gd = git_dir(stranger);

    (void)state;
    /* a copy whose feed ref for the reviewer points at another ref */
    assert_int_equal(t_sh("git --git-dir='%s' symbolic-ref refs/feeds/%s refs/feeds/%s", gd,
                          t_fpr(reviewer), t_fpr(patient)),
                     0);
    expect_refused(stranger, MRX_EFORMAT, "its ref is symbolic");
    assert_int_equal(t_sh("git --git-dir='%s' symbolic-ref --delete refs/feeds/%s", gd,
                          t_fpr(reviewer)),
                     0);
    free(gd);
}

static void
ingest_refuses_events_after_a_revocation(void **state)
{
    mrx_ledger_author owner = t_author(patient);
    mrx_ledger *l = open_case(patient);
    mrx_event ev;

    (void)state;
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_REMOVED;
    strcpy(ev.member, t_fpr(reviewer));
    assert_int_equal(mrx_ledger_append(l, &owner, &ev, NULL, NULL), 0);
    mrx_ledger_destroy(&l);
    sleep(1);
    append(reviewer, MRX_EV_BUNDLE_OPENED, MRX_KIND_RECORDS);
    expect_refused(reviewer, MRX_EDENIED, "not a member at that time");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ingest_takes_a_members_events_that_extend_its_feed),
        cmocka_unit_test(ingest_refuses_a_feed_of_a_non_member),
        cmocka_unit_test(ingest_refuses_broken_chains_and_forgeries),
        cmocka_unit_test(ingest_refuses_member_added_by_a_member),
        cmocka_unit_test(ingest_refuses_rewritten_history_and_keeps_it),
        cmocka_unit_test(ingest_refuses_events_dated_before_their_predecessor),
        cmocka_unit_test(ingest_keeps_no_evidence_of_what_does_not_verify),
        cmocka_unit_test(ingest_refuses_claims_on_others_bundles_and_wrong_readers),
        cmocka_unit_test(ingest_refuses_a_symbolic_feed_ref),
        cmocka_unit_test(ingest_refuses_events_after_a_revocation),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

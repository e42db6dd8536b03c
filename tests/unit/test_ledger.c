/*
 * test_ledger: proto/mrx_ledger.c, signed per-author feeds in git, checked
 * with our reader and with plain git (verify-commit, fsck, log).
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir, *cases;
static mrx_pgp *owner_pgp, *clinic_pgp;
static char owner_fpr[41], clinic_fpr[41];

static int
setup_group(void **state)
{
    (void)state;
    if (mrx_ledger_global_init() != 0)
        return -1;
    dir = t_tempdir();
    owner_pgp = t_keyring(dir, "owner", owner_fpr);
    clinic_pgp = t_keyring(dir, "clinic", clinic_fpr);
    /* each side can verify the other */
    t_share_key(clinic_pgp, owner_pgp, clinic_fpr);
    t_share_key(owner_pgp, clinic_pgp, owner_fpr);
    cases = NULL;
    assert_true(asprintf(&cases, "%s/cases", dir) > 0);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_pgp_destroy(&owner_pgp);
    mrx_pgp_destroy(&clinic_pgp);
    free(cases);
    return 0;
}

struct seen {
    mrx_event events[16];
    size_t n;
};

static int
collect(void *arg, const mrx_event *ev, const char *commit)
{
    struct seen *s = arg;

    assert_int_equal(strlen(commit), 40);
    if (s->n < 16)
        s->events[s->n++] = *ev;
    return 0;
}

static mrx_ledger *
new_case(void)
{
    mrx_ledger_author owner = {owner_pgp, owner_fpr, "Dana Ruiz"};
    mrx_ledger *l = NULL;

    if (mrx_ledger_create(&l, cases, &owner, "Rhinoplasty, Istanbul, March") != 0)
        fail_msg("create: %s", mrx_error_last());
    return l;
}

static void
ledger_feeds_are_signed_chains_that_git_accepts(void **state)
{
    mrx_ledger_author owner = {owner_pgp, owner_fpr, "Dana Ruiz"};
    mrx_ledger_author clinic = {clinic_pgp, clinic_fpr, "Clinic Aurora"};
    mrx_ledger *l = new_case(), *again = NULL;
    struct seen seen = {0};
    char (*feeds)[MRX_FPR_LEN + 1] = NULL, commit[41], *case_dir = NULL;
    size_t n = 0;
    mrx_event ev;

    (void)state;
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_ADDED;
    strcpy(ev.member, clinic_fpr);
    ev.role = MRX_MEMBER_CONTRIBUTOR;
    assert_int_equal(mrx_ledger_append(l, &owner, &ev, "-----BEGIN PGP SIGNED MESSAGE-----\n",
                                       commit),
                     0);
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
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_OPENED;
    strcpy(ev.bundle, "0a4c3aa02d1b0b4826daa5ffe85ef13be83c1433842a9a98b901e075136dd86f");
    assert_int_equal(mrx_ledger_append(l, &owner, &ev, NULL, NULL), 0);

    /* our reader: both feeds verify, in order, with the chain intact */
    assert_int_equal(mrx_ledger_read_feed(l, clinic_pgp, owner_fpr, collect, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.events[0].type, MRX_EV_CASE_CREATED);
    assert_int_equal(seen.events[1].seq, 1);
    assert_int_equal(seen.events[2].type, MRX_EV_BUNDLE_OPENED);
    assert_string_equal(seen.events[2].case_id, mrx_ledger_case_id(l));
    seen.n = 0;
    assert_int_equal(mrx_ledger_read_feed(l, owner_pgp, clinic_fpr, collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.events[0].seq, 0);
    assert_int_equal(mrx_ledger_feeds(l, &feeds, &n), 0);
    assert_int_equal(n, 2);
    free(feeds);

    /* plain git: every event verifies, the repository is sound, the log reads */
    assert_true(asprintf(&case_dir, "%s/%s/ledger.git", cases, mrx_ledger_case_id(l)) > 0);
    assert_int_equal(t_sh("cd '%s' && test $(git rev-list --all | wc -l) -eq 4 && "
                        "for c in $(git rev-list --all); do "
                        "GNUPGHOME='%s/owner' git verify-commit $c 2>/dev/null || exit 1; done",
                        case_dir, dir),
                     0);
    assert_int_equal(t_sh("git --git-dir='%s' fsck --strict --no-dangling >/dev/null 2>&1", case_dir),
                     0);
    assert_int_equal(t_sh("git --git-dir='%s' log --format=%%B refs/feeds/%s | "
                        "grep -q '^type: member-added$'",
                        case_dir, owner_fpr),
                     0);
    /* the case id is the SHA-256 of the owner's first commit object */
    assert_int_equal(t_sh("cd '%s' && root=$(git rev-list --max-parents=0 refs/feeds/%s) && "
                        "test \"$( (printf 'commit %%s\\0' $(git cat-file -s $root); "
                        "git cat-file commit $root) | sha256sum | cut -c1-64)\" = %s",
                        case_dir, owner_fpr, mrx_ledger_case_id(l)),
                     0);
    /* reopened from disk, it is the same case */
    free(case_dir);
    assert_true(asprintf(&case_dir, "%s/%s", cases, mrx_ledger_case_id(l)) > 0);
    assert_int_equal(mrx_ledger_open(&again, case_dir), 0);
    assert_string_equal(mrx_ledger_owner(again), owner_fpr);
    assert_string_equal(mrx_ledger_title(again), "Rhinoplasty, Istanbul, March");
    free(case_dir);
    mrx_ledger_destroy(&again);
    mrx_ledger_destroy(&l);
}

static void
ledger_read_refuses_forged_and_unsigned_events(void **state)
{
    mrx_ledger *l = new_case();
    char *git_dir = NULL;
    int rc;

    (void)state;
    assert_true(asprintf(&git_dir, "%s/%s/ledger.git", cases, mrx_ledger_case_id(l)) > 0);
    /* an event in the clinic's feed, signed by the owner's key */
    assert_int_equal(t_sh("cd '%s' && export GNUPGHOME='%s/owner' && "
                        "tree=$(git hash-object -t tree -w /dev/null) && "
                        "c=$(printf 'mrx-event: 1\\ntype: bundle-opened\\ncase: %s\\nauthor: %s\\n"
                        "seq: 0\\ntime: 2026-11-25T17:00:00Z\\nbundle: %064d\\n' | "
                        "git -c user.name=x -c user.email=x@x commit-tree -S%s $tree) && "
                        "git update-ref refs/feeds/%s $c",
                        git_dir, dir, mrx_ledger_case_id(l), clinic_fpr, 0, owner_fpr, clinic_fpr),
                     0);
    rc = mrx_ledger_read_feed(l, owner_pgp, clinic_fpr, NULL, NULL);
    assert_int_equal(rc, MRX_EDENIED);
    assert_non_null(strstr(mrx_error_last(), "not by the expected"));
    /* the same, unsigned */
    assert_int_equal(t_sh("cd '%s' && tree=$(git hash-object -t tree -w /dev/null) && "
                        "c=$(printf 'mrx-event: 1\\n' | git -c user.name=x -c user.email=x@x "
                        "commit-tree $tree) && git update-ref refs/feeds/%s $c",
                        git_dir, clinic_fpr),
                     0);
    assert_int_equal(mrx_ledger_read_feed(l, owner_pgp, clinic_fpr, NULL, NULL), MRX_ECRYPTO);
    assert_non_null(strstr(mrx_error_last(), "not signed"));
    free(git_dir);
    mrx_ledger_destroy(&l);
}

static void
ledger_read_caches_verified_signatures(void **state)
{
    mrx_ledger_author owner = {owner_pgp, owner_fpr, "Dana Ruiz"};
    mrx_ledger *l = new_case(), *fresh = NULL;
    struct seen seen = {0};
    char *cache = NULL, *case_dir = NULL, *text;
    size_t len = 0;
    mrx_event ev;

    (void)state;
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_OPENED;
    strcpy(ev.bundle, "0a4c3aa02d1b0b4826daa5ffe85ef13be83c1433842a9a98b901e075136dd86f");
    assert_int_equal(mrx_ledger_append(l, &owner, &ev, NULL, NULL), 0);
    assert_true(asprintf(&case_dir, "%s/%s", cases, mrx_ledger_case_id(l)) > 0);
    assert_true(asprintf(&cache, "%s/verified", case_dir) > 0);
    /* a keyring without the owner's key cannot verify the feed ... */
    {
        char scratch[41];
        mrx_pgp *bare = t_keyring(dir, "bare", scratch);
        assert_int_equal(mrx_ledger_read_feed(l, bare, owner_fpr, NULL, NULL), MRX_EDENIED);
        assert_false(t_exists(cache));
        /* ... until it has been verified once: then gpg is not asked again */
        assert_int_equal(mrx_ledger_read_feed(l, owner_pgp, owner_fpr, NULL, NULL), 0);
        text = t_read_file(cache, &len);
        assert_int_equal(len, 2 * 82);
        free(text);
        assert_int_equal(mrx_ledger_open(&fresh, case_dir), 0);
        assert_int_equal(mrx_ledger_read_feed(fresh, bare, owner_fpr, collect, &seen), 0);
        assert_int_equal(seen.n, 2);
        /* a torn or foreign line is ignored, not trusted */
        mrx_ledger_destroy(&fresh);
        t_write_file(cache, "garbage\n0123\n", 13);
        assert_int_equal(mrx_ledger_open(&fresh, case_dir), 0);
        assert_int_equal(mrx_ledger_read_feed(fresh, bare, owner_fpr, NULL, NULL), MRX_EDENIED);
        mrx_pgp_destroy(&bare);
    }
    mrx_ledger_destroy(&fresh);
    mrx_ledger_destroy(&l);
    free(cache);
    free(case_dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ledger_feeds_are_signed_chains_that_git_accepts),
        cmocka_unit_test(ledger_read_refuses_forged_and_unsigned_events),
        cmocka_unit_test(ledger_read_caches_verified_signatures),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

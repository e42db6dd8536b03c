/*
 * test_audit: proto/mrx_audit.c, the patient's audit of a case, made from
 * real ledgers (nodes with fresh keys, signed feeds in git), histories
 * really refused at ingest and real signed views kept by mrx_view_keep.
 * Each rule marks exactly the line it should, with exactly its bit and
 * whose doing it was, and leaves every honest line verified. Broken
 * feeds are made with plain git.
 */
#include "testlib.h"
#include "mrx_audit.h"
#include "mrx_request.h"
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NO_SILENCE (30L * 24 * 3600) /* a report interval no test reaches */

static char *dir;
static mrx_node *patient, *clinic, *reviewer, *stranger;
static char last_commit[MRX_COMMIT_HEX_LEN + 1]; /* the commit of the latest append */

static int
setup_group(void **state)
{
    mrx_node **all[] = {&patient, &clinic, &reviewer, &stranger};

    (void)state;
    if (mrx_ledger_global_init() != 0)
        return -1;
    dir = t_tempdir();
    patient = t_node_new(dir, "patient", MRX_ROLE_PATIENT);
    clinic = t_node_new(dir, "clinic", MRX_ROLE_CLINIC);
    reviewer = t_node_new(dir, "reviewer", MRX_ROLE_REVIEWER);
    stranger = t_node_new(dir, "stranger", MRX_ROLE_CLINIC);
    /* everyone can verify everyone: what the audit marks is never a
     * missing key */
    for (size_t i = 0; i < 4; i++)
        for (size_t j = i + 1; j < 4; j++)
            t_introduce(*all[i], *all[j]);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_node_destroy(&patient);
    mrx_node_destroy(&clinic);
    mrx_node_destroy(&reviewer);
    mrx_node_destroy(&stranger);
    return 0;
}

/* Bundle id number i. */
static const char *
bundle(unsigned i)
{
    static char ids[8][MRX_SHA256_HEX_LEN + 1];

    assert_true(i < 8);
    snprintf(ids[i], sizeof ids[i], "%064x", i);
    return ids[i];
}

static char *
case_dir_of(mrx_node *n, mrx_ledger *l)
{
    char *path = mrx_fs_join(mrx_node_cases(n), mrx_ledger_case_id(l));

    assert_non_null(path);
    return path;
}

static char *
git_dir_of(mrx_node *n, mrx_ledger *l)
{
    char *path = NULL;

    assert_true(asprintf(&path, "%s/%s/ledger.git", mrx_node_cases(n), mrx_ledger_case_id(l)) > 0);
    return path;
}

/* The commit rev names in the repository git_dir. */
static void
rev_parse(char hex[MRX_COMMIT_HEX_LEN + 1], const char *git_dir, const char *rev)
{
    char *cmd = NULL;
    FILE *p;

    assert_true(asprintf(&cmd, "git --git-dir='%s' rev-parse '%s'", git_dir, rev) > 0);
    assert_non_null(p = popen(cmd, "r"));
    assert_int_equal(fread(hex, 1, MRX_COMMIT_HEX_LEN, p), MRX_COMMIT_HEX_LEN);
    hex[MRX_COMMIT_HEX_LEN] = '\0';
    assert_int_equal(pclose(p), 0);
    free(cmd);
}

/* A new case of the patient's, in the patient's node. */
static mrx_ledger *
new_case(void)
{
    mrx_ledger_author owner = t_author(patient);
    mrx_ledger *l = NULL;

    if (mrx_ledger_create(&l, mrx_node_cases(patient), &owner, "audit") != 0)
        fail_msg("create: %s", mrx_error_last());
    return l;
}

/* Append ev to author's feed of l; the ledger writes whatever it is
 * given (entitlement is its callers' business), dated now. */
static void
append(mrx_ledger *l, mrx_node *author, mrx_event *ev, const char *certificate)
{
    mrx_ledger_author a = t_author(author);

    if (mrx_ledger_append(l, &a, ev, certificate, last_commit) != 0)
        fail_msg("append: %s", mrx_error_last());
}

static void
add_member(mrx_ledger *l, mrx_node *member, mrx_member_role role)
{
    mrx_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_ADDED;
    strcpy(ev.member, t_fpr(member));
    ev.role = role;
    append(l, patient, &ev, mrx_cert_text(mrx_node_cert(member)));
}

static void
remove_member(mrx_ledger *l, mrx_node *member)
{
    mrx_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_REMOVED;
    strcpy(ev.member, t_fpr(member));
    append(l, patient, &ev, NULL);
}

/* A bundle-added by author, for the author, the patient and the
 * reviewer. */
static void
add_bundle(mrx_ledger *l, mrx_node *author, const char *id, mrx_kind kind, uint64_t size)
{
    mrx_node *readers[] = {author, patient, reviewer};
    mrx_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_ADDED;
    strcpy(ev.bundle, id);
    ev.kind = kind;
    ev.size = size;
    for (size_t i = 0; i < 3; i++) {
        int seen = 0;
        for (size_t j = 0; j < ev.n_readers; j++)
            seen |= strcmp(ev.readers[j], t_fpr(readers[i])) == 0;
        if (!seen)
            strcpy(ev.readers[ev.n_readers++], t_fpr(readers[i]));
    }
    append(l, author, &ev, NULL);
}

/* The request for bundle id of l that reader signs to ask server, dated
 * at; malloc'd. */
static char *
signed_request(mrx_ledger *l, mrx_node *reader, mrx_node *server, const char *id, time_t at)
{
    mrx_request req;
    char *text = NULL;
    size_t len;

    memset(&req, 0, sizeof req);
    strcpy(req.case_id, mrx_ledger_case_id(l));
    strcpy(req.bundle, id);
    strcpy(req.server, t_fpr(server));
    strcpy(req.reader, t_fpr(reader));
    req.time = at;
    if (mrx_request_make(&text, &len, mrx_node_pgp(reader), &req) != 0)
        fail_msg("request: %s", mrx_error_last());
    return text;
}

/* bundle-opened, -withdrawn, -served (to peer, keeping request: the
 * peer's own if NULL), -fetched (from peer). */
static void
on_bundle_with(mrx_ledger *l, mrx_node *author, mrx_event_type type, const char *id,
               mrx_node *peer, const char *request)
{
    char *own = NULL;
    mrx_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = type;
    strcpy(ev.bundle, id);
    if (peer)
        strcpy(ev.peer, t_fpr(peer));
    if (type == MRX_EV_BUNDLE_SERVED && !request)
        request = own = signed_request(l, peer, author, id, time(NULL));
    append(l, author, &ev, request);
    free(own);
}

static void
on_bundle(mrx_ledger *l, mrx_node *author, mrx_event_type type, const char *id, mrx_node *peer)
{
    on_bundle_with(l, author, type, id, peer, NULL);
}

/* Another node's copy of the patient's case of l: the case folder copied
 * whole, elsewhere, and opened. *git_dir (if given) gets its ledger. */
static mrx_ledger *
copy_case(mrx_ledger *l, char **git_dir)
{
    char *src = case_dir_of(patient, l), *dst = mrx_fs_join(t_tempdir(), mrx_ledger_case_id(l));
    mrx_ledger *copy = NULL;

    assert_int_equal(t_sh("cp -a '%s' '%s'", src, dst), 0);
    if (mrx_ledger_open(&copy, dst) != 0)
        fail_msg("open copy: %s", mrx_error_last());
    if (git_dir)
        assert_true(asprintf(git_dir, "%s/ledger.git", dst) > 0);
    free(src);
    free(dst);
    return copy;
}

/* signer's signed view of the ledger seen, dated when, as keeper
 * receives it: verified and kept in keeper's folder of case l. What
 * keeping did (MRX_VIEW_KEPT_*). */
static int
keep_view(mrx_node *keeper, mrx_ledger *l, mrx_ledger *seen, mrx_node *signer, time_t when)
{
    char *text = NULL, *case_dir = case_dir_of(keeper, l);
    mrx_view *v = NULL;
    size_t len = 0;
    int kept = -1;

    if (mrx_view_make(&text, &len, seen, mrx_node_pgp(signer), t_fpr(signer), when) != 0)
        fail_msg("view: %s", mrx_error_last());
    if (mrx_view_parse(&v, mrx_node_pgp(keeper), text, len) != 0)
        fail_msg("parse view: %s", mrx_error_last());
    if (mrx_view_keep(&kept, NULL, mrx_node_pgp(keeper), case_dir, v) != 0)
        fail_msg("keep view: %s", mrx_error_last());
    mrx_view_destroy(&v);
    free(text);
    free(case_dir);
    return kept;
}

/* x may come before y: by time, then who, then kind, then seq. */
static int
in_order(const mrx_audit_line *x, const mrx_audit_line *y)
{
    int c = strcmp(x->who, y->who);

    if (x->time != y->time)
        return x->time < y->time;
    if ((x->kind == MRX_AUDIT_REQUEST) != (y->kind == MRX_AUDIT_REQUEST))
        return x->kind == MRX_AUDIT_REQUEST;
    if (c != 0)
        return c < 0;
    if (x->kind != y->kind)
        return x->kind < y->kind;
    return x->seq <= y->seq;
}

/* The audit of l as node sees it at now; what holds of every audit:
 * sorted, counted, and a problem told for every line marked and only
 * for those. */
static mrx_audit *
audit_of(mrx_ledger *l, mrx_node *node, time_t now, long interval)
{
    mrx_audit *a = NULL;
    size_t events = 0, flagged = 0;

    if (mrx_audit_make(&a, l, node, now, interval) != 0)
        fail_msg("audit: %s", mrx_error_last());
    assert_non_null(a);
    assert_string_equal(a->case_id, mrx_ledger_case_id(l));
    assert_string_equal(a->owner, t_fpr(patient));
    assert_int_equal(a->at, now);
    assert_int_equal(a->report_interval, interval);
    for (size_t i = 0; i < a->n; i++) {
        const mrx_audit_line *line = &a->lines[i];
        events += line->kind == MRX_AUDIT_EVENT;
        flagged += line->flags != 0;
        if ((line->flags != 0) != (line->problem[0] != '\0'))
            fail_msg("line %zu (%s by %s): flags %#x, problem \"%s\"", i,
                     mrx_audit_kind_name(line->kind), line->who, line->flags, line->problem);
        if (i && !in_order(&a->lines[i - 1], line))
            fail_msg("line %zu (%s by %s at %lld) is out of order", i,
                     mrx_audit_kind_name(line->kind), line->who, (long long)line->time);
    }
    assert_int_equal(a->events, events);
    assert_int_equal(a->flagged, flagged);
    return a;
}

/* The one event line of author's of type about bundle id (any if NULL),
 * with peer (any if NULL). */
static const mrx_audit_line *
event_line(const mrx_audit *a, mrx_node *author, mrx_event_type type, const char *id,
           mrx_node *peer)
{
    const mrx_audit_line *found = NULL;

    for (size_t i = 0; i < a->n; i++) {
        const mrx_audit_line *line = &a->lines[i];
        if (line->kind != MRX_AUDIT_EVENT || strcmp(line->who, t_fpr(author)) != 0 ||
            line->type != type || (id && strcmp(line->bundle, id) != 0) ||
            (peer && strcmp(line->peer, t_fpr(peer)) != 0))
            continue;
        if (found)
            fail_msg("two %s lines by %s", mrx_event_type_name(type), t_fpr(author));
        found = line;
    }
    if (!found)
        fail_msg("no %s line by %s", mrx_event_type_name(type), t_fpr(author));
    return found;
}

/* The lines of kind (by who, if not NULL): how many, the first in *out. */
static size_t
lines_of(const mrx_audit *a, mrx_audit_kind kind, const char *who, const mrx_audit_line **out)
{
    size_t n = 0;

    *out = NULL;
    for (size_t i = 0; i < a->n; i++)
        if (a->lines[i].kind == kind && (!who || strcmp(a->lines[i].who, who) == 0)) {
            if (!n)
                *out = &a->lines[i];
            n++;
        }
    return n;
}

/* l is of kind, whose doing was who's, marked with exactly bit, for a
 * reason that says words. */
static void
assert_marked(const mrx_audit_line *l, mrx_audit_kind kind, const char *who, unsigned bit,
              const char *words)
{
    assert_int_equal(l->kind, kind);
    assert_string_equal(l->who, who);
    if (l->flags != bit || !strstr(l->problem, words))
        fail_msg("%s line by %s: wanted %s (%#x) for \"%s\", got %#x \"%s\"",
                 mrx_audit_kind_name(kind), who, mrx_audit_flag_name(bit), bit, words, l->flags,
                 l->problem);
}

/* Every line but the n in marked is verified. */
static void
assert_only_marked(const mrx_audit *a, const mrx_audit_line *const *marked, size_t n)
{
    for (size_t i = 0; i < a->n; i++) {
        const mrx_audit_line *line = &a->lines[i];
        int expected = 0;
        for (size_t j = 0; j < n; j++)
            expected |= marked[j] == line;
        if (!expected && (line->flags != 0 || line->problem[0]))
            fail_msg("%s line by %s (%s, seq %llu) marked %#x: %s", mrx_audit_kind_name(line->kind),
                     line->who,
                     line->kind == MRX_AUDIT_EVENT ? mrx_event_type_name(line->type) : "-",
                     (unsigned long long)line->seq, line->flags, line->problem);
    }
    assert_int_equal(a->flagged, n);
}

static void
audit_verifies_an_honest_case_and_joins_bundles(void **state)
{
    struct {
        mrx_node *who;
        mrx_event_type type;
        uint64_t seq;
        char commit[MRX_COMMIT_HEX_LEN + 1];
    } want[7] = {
        {patient, MRX_EV_CASE_CREATED, 0, ""},   {patient, MRX_EV_MEMBER_ADDED, 1, ""},
        {patient, MRX_EV_MEMBER_ADDED, 2, ""},   {clinic, MRX_EV_BUNDLE_ADDED, 0, ""},
        {clinic, MRX_EV_BUNDLE_SERVED, 1, ""},   {reviewer, MRX_EV_BUNDLE_FETCHED, 0, ""},
        {reviewer, MRX_EV_BUNDLE_OPENED, 1, ""},
    };
    mrx_ledger *l = new_case();
    char *gd = git_dir_of(patient, l), *rev = NULL;
    mrx_audit *a;

    (void)state;
    assert_true(asprintf(&rev, "refs/feeds/%s", t_fpr(patient)) > 0);
    rev_parse(want[0].commit, gd, rev); /* the case-created */
    free(rev);
    free(gd);
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    strcpy(want[1].commit, last_commit);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    strcpy(want[2].commit, last_commit);
    /* a second apart, so that time, not who, orders the authors */
    sleep(1);
    add_bundle(l, clinic, bundle(1), MRX_KIND_IMAGING, 1072855);
    strcpy(want[3].commit, last_commit);
    on_bundle(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(1), reviewer);
    strcpy(want[4].commit, last_commit);
    sleep(1);
    on_bundle(l, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(1), clinic);
    strcpy(want[5].commit, last_commit);
    on_bundle(l, reviewer, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    strcpy(want[6].commit, last_commit);

    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    /* the 7 events, and the reviewer's request the clinic kept */
    assert_int_equal(a->n, 8);
    assert_int_equal(a->events, 7);
    assert_int_equal(a->flagged, 0);
    for (size_t i = 0, seen = 0; i < a->n; i++) {
        const mrx_audit_line *request = &a->lines[i];
        if (request->kind != MRX_AUDIT_REQUEST)
            continue;
        assert_int_equal(seen++, 0);
        assert_string_equal(request->who, t_fpr(reviewer));
        assert_int_equal(request->standing, MRX_AUDIT_ROLE_MEMBER);
        assert_int_equal(request->member_role, MRX_MEMBER_REVIEWER);
        assert_string_equal(request->peer, t_fpr(clinic));
        assert_string_equal(request->bundle, bundle(1));
        assert_string_equal(request->commit, want[4].commit);
        assert_int_equal(request->flags, 0);
        /* out of the way of the events' checks below */
        memmove(&a->lines[i], &a->lines[i + 1], (a->n - i - 1) * sizeof *a->lines);
        a->n--;
        i--;
    }
    assert_int_equal(a->n, 7);
    for (size_t i = 0; i < 7; i++) {
        const mrx_audit_line *line = &a->lines[i];
        assert_int_equal(line->kind, MRX_AUDIT_EVENT);
        assert_string_equal(line->who, t_fpr(want[i].who));
        assert_int_equal(line->type, want[i].type);
        assert_int_equal(line->seq, want[i].seq);
        assert_string_equal(line->commit, want[i].commit);
        assert_int_equal(line->flags, 0);
        assert_string_equal(line->problem, "");
        if (want[i].who == patient)
            assert_int_equal(line->standing, MRX_AUDIT_ROLE_OWNER);
        else {
            assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
            assert_int_equal(line->member_role,
                             want[i].who == clinic ? MRX_MEMBER_CONTRIBUTOR : MRX_MEMBER_REVIEWER);
        }
        /* what the bundle-added says, on every line naming the bundle */
        if (i < 3) {
            assert_int_equal(line->bundle_known, 0);
            assert_string_equal(line->bundle, "");
        } else {
            assert_string_equal(line->bundle, bundle(1));
            assert_int_equal(line->bundle_known, 1);
            assert_int_equal(line->bundle_kind, MRX_KIND_IMAGING);
            assert_int_equal(line->bundle_size, 1072855);
            assert_int_equal(line->bundle_readers, 3);
        }
    }
    assert_true(a->lines[2].time < a->lines[3].time);
    assert_true(a->lines[4].time < a->lines[5].time);
    assert_string_equal(a->lines[1].member, t_fpr(clinic));
    assert_int_equal(a->lines[1].role, MRX_MEMBER_CONTRIBUTOR);
    assert_string_equal(a->lines[2].member, t_fpr(reviewer));
    assert_int_equal(a->lines[2].role, MRX_MEMBER_REVIEWER);
    assert_string_equal(a->lines[4].peer, t_fpr(reviewer)); /* served to */
    assert_string_equal(a->lines[5].peer, t_fpr(clinic));   /* fetched from */
    assert_string_equal(a->lines[6].peer, "");
    mrx_audit_destroy(&a);
    mrx_audit_destroy(&a);
    assert_null(a);
    mrx_ledger_destroy(&l);
}

static void
audit_flags_served_never_fetched_and_fetched_never_served(void **state)
{
    mrx_ledger *l = new_case();
    const mrx_audit_line *marked[3], *line;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(1), MRX_KIND_RECORDS, 100);
    add_bundle(l, clinic, bundle(2), MRX_KIND_IMAGING, 200);
    /* the clinic says it served bundle 1 to the reviewer, who says it
     * fetched it from the patient, who never says it served it: the
     * sender is part of the match */
    on_bundle(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(1), reviewer);
    on_bundle(l, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(1), patient);
    /* the reviewer says it fetched bundle 2 from the clinic, which never
     * says it served it */
    on_bundle(l, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(2), clinic);
    /* bundle 2 from the patient: both sides say so */
    on_bundle(l, patient, MRX_EV_BUNDLE_SERVED, bundle(2), reviewer);
    on_bundle(l, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(2), patient);

    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    assert_int_equal(a->events, 3 + 2 + 1 + 3 + 1);
    marked[0] = line = event_line(a, clinic, MRX_EV_BUNDLE_SERVED, bundle(1), reviewer);
    assert_marked(line, MRX_AUDIT_EVENT, t_fpr(clinic), MRX_AUDIT_NOT_FETCHED,
                  "its receiver has not reported fetching it");
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_int_equal(line->bundle_kind, MRX_KIND_RECORDS); /* still joined */
    assert_int_equal(line->bundle_size, 100);
    marked[1] = line = event_line(a, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(1), patient);
    assert_marked(line, MRX_AUDIT_EVENT, t_fpr(reviewer), MRX_AUDIT_NOT_SERVED,
                  "its sender has not reported serving it");
    marked[2] = line = event_line(a, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(2), clinic);
    assert_marked(line, MRX_AUDIT_EVENT, t_fpr(reviewer), MRX_AUDIT_NOT_SERVED,
                  "its sender has not reported serving it");
    assert_int_equal(line->bundle_kind, MRX_KIND_IMAGING);
    assert_int_equal(line->bundle_size, 200);
    /* the matched pair, and everything else, verified */
    assert_int_equal(event_line(a, patient, MRX_EV_BUNDLE_SERVED, bundle(2), reviewer)->flags, 0);
    assert_int_equal(event_line(a, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(2), patient)->flags, 0);
    assert_only_marked(a, marked, 3);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&l);
}

/* Witnessed access: the clinic keeps the reviewer's signed request with
 * its serving, so the reviewer's access shows, in its own signature,
 * although the reviewer never reports it. */
static void
audit_shows_by_its_signed_request_a_reader_that_hides_its_fetch(void **state)
{
    mrx_ledger *l = new_case();
    const mrx_audit_line *marked[1], *request;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(3), MRX_KIND_PHOTOS, 2048);
    on_bundle(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(3), reviewer);
    /* the reviewer writes nothing */
    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    marked[0] = event_line(a, clinic, MRX_EV_BUNDLE_SERVED, bundle(3), reviewer);
    assert_marked(marked[0], MRX_AUDIT_EVENT, t_fpr(clinic), MRX_AUDIT_NOT_FETCHED,
                  "its receiver has not reported fetching it");
    assert_int_equal(lines_of(a, MRX_AUDIT_REQUEST, NULL, &request), 1);
    assert_string_equal(request->who, t_fpr(reviewer));
    assert_string_equal(request->peer, t_fpr(clinic));
    assert_string_equal(request->bundle, bundle(3));
    assert_string_equal(request->commit, marked[0]->commit);
    assert_int_equal(request->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_only_marked(a, marked, 1);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&l);
}

/* A serving whose kept request is not its receiver's, or not for it, or
 * altered, is flagged, and shows no access by the receiver. */
static void
audit_flags_a_serving_whose_request_is_forged_or_for_something_else(void **state)
{
    mrx_ledger *l = new_case();
    const mrx_audit_line *marked[4], *request;
    char *by_stranger, *other_bundle, *other_server, *altered;
    mrx_audit *a;
    char *p;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    for (unsigned i = 4; i < 8; i++)
        add_bundle(l, clinic, bundle(i), MRX_KIND_RECORDS, 10 * i);
    by_stranger = signed_request(l, stranger, clinic, bundle(4), time(NULL));
    other_bundle = signed_request(l, reviewer, clinic, bundle(2), time(NULL));
    other_server = signed_request(l, reviewer, patient, bundle(6), time(NULL));
    altered = signed_request(l, reviewer, clinic, bundle(7), time(NULL));
    assert_non_null(p = strstr(altered, "offset: 0"));
    p[8] = '1'; /* from offset 1, says the text; not what was signed */
    on_bundle_with(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(4), reviewer, by_stranger);
    on_bundle_with(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(5), reviewer, other_bundle);
    on_bundle_with(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(6), reviewer, other_server);
    on_bundle_with(l, clinic, MRX_EV_BUNDLE_SERVED, bundle(7), reviewer, altered);
    for (unsigned i = 4; i < 8; i++)
        on_bundle(l, reviewer, MRX_EV_BUNDLE_FETCHED, bundle(i), clinic);

    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    marked[0] = event_line(a, clinic, MRX_EV_BUNDLE_SERVED, bundle(4), reviewer);
    assert_marked(marked[0], MRX_AUDIT_EVENT, t_fpr(clinic), MRX_AUDIT_UNWITNESSED,
                  "not by the expected");
    marked[1] = event_line(a, clinic, MRX_EV_BUNDLE_SERVED, bundle(5), reviewer);
    assert_marked(marked[1], MRX_AUDIT_EVENT, t_fpr(clinic), MRX_AUDIT_UNWITNESSED,
                  "it asks for another bundle");
    marked[2] = event_line(a, clinic, MRX_EV_BUNDLE_SERVED, bundle(6), reviewer);
    assert_marked(marked[2], MRX_AUDIT_EVENT, t_fpr(clinic), MRX_AUDIT_UNWITNESSED,
                  "it asks another node");
    marked[3] = event_line(a, clinic, MRX_EV_BUNDLE_SERVED, bundle(7), reviewer);
    assert_marked(marked[3], MRX_AUDIT_EVENT, t_fpr(clinic), MRX_AUDIT_UNWITNESSED,
                  "keeps no request signed by its receiver");
    assert_int_equal(lines_of(a, MRX_AUDIT_REQUEST, NULL, &request), 0);
    assert_only_marked(a, marked, 4);
    mrx_audit_destroy(&a);
    /* the verdicts are remembered, and the same the second time */
    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    assert_int_equal(a->flagged, 4);
    assert_int_equal(lines_of(a, MRX_AUDIT_REQUEST, NULL, &request), 0);
    mrx_audit_destroy(&a);
    free(by_stranger);
    free(other_bundle);
    free(other_server);
    free(altered);
    mrx_ledger_destroy(&l);
}

static void
audit_flags_acts_after_revocation_and_by_non_members(void **state)
{
    mrx_ledger *l = new_case();
    const mrx_audit_line *marked[3], *line, *removed;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(1), MRX_KIND_RECORDS, 10);
    add_bundle(l, clinic, bundle(2), MRX_KIND_RECORDS, 20);
    /* while a member: opening is the reviewer's to do, adding records
     * is not */
    on_bundle(l, reviewer, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    add_bundle(l, reviewer, bundle(3), MRX_KIND_RECORDS, 30);
    /* the ledger dates each event when it is written: the removal comes
     * a second after the reviewer's lawful acts, and what the reviewer
     * writes next is dated no earlier (a membership ends the second it
     * is removed) */
    sleep(1);
    remove_member(l, reviewer);
    on_bundle(l, reviewer, MRX_EV_BUNDLE_OPENED, bundle(2), NULL);
    /* a node that never was a member writes into its own feed */
    on_bundle(l, stranger, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);

    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    assert_int_equal(a->events, 4 + 2 + 3 + 1);
    removed = event_line(a, patient, MRX_EV_MEMBER_REMOVED, NULL, NULL);
    assert_string_equal(removed->member, t_fpr(reviewer));
    marked[0] = line = event_line(a, reviewer, MRX_EV_BUNDLE_OPENED, bundle(2), NULL);
    assert_marked(line, MRX_AUDIT_EVENT, t_fpr(reviewer), MRX_AUDIT_AFTER_REVOCATION,
                  "acted after its access was revoked");
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_REVOKED);
    assert_true(line->time >= removed->time);
    marked[1] = line = event_line(a, stranger, MRX_EV_BUNDLE_OPENED, NULL, NULL);
    assert_marked(line, MRX_AUDIT_EVENT, t_fpr(stranger), MRX_AUDIT_NOT_MEMBER,
                  "its author was not a member of the case then");
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_NONE);
    marked[2] = line = event_line(a, reviewer, MRX_EV_BUNDLE_ADDED, bundle(3), NULL);
    assert_marked(line, MRX_AUDIT_EVENT, t_fpr(reviewer), MRX_AUDIT_NOT_MEMBER,
                  "not its author's to write: a reviewer may not add records bundles");
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_int_equal(line->member_role, MRX_MEMBER_REVIEWER);
    /* the reviewer's opening while a member stands, as does the removal */
    line = event_line(a, reviewer, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    assert_int_equal(line->flags, 0);
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_true(line->time < removed->time);
    assert_only_marked(a, marked, 3);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&l);
}

static void
audit_marks_a_feed_that_stops_verifying_and_keeps_what_came_before(void **state)
{
    mrx_ledger *l = new_case();
    char *gd = git_dir_of(patient, l), good[MRX_COMMIT_HEX_LEN + 1], bad[MRX_COMMIT_HEX_LEN + 1],
         *rev = NULL;
    const mrx_audit_line *line;
    time_t now;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_bundle(l, clinic, bundle(1), MRX_KIND_PHOTOS, 5);
    on_bundle(l, clinic, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    on_bundle(l, clinic, MRX_EV_BUNDLE_WITHDRAWN, bundle(1), NULL);
    strcpy(good, last_commit);
    /* the clinic's third event, its text changed under its signature:
     * it now withdraws bundle 2 */
    assert_true(asprintf(&rev, "refs/feeds/%s", t_fpr(clinic)) > 0);
    assert_int_equal(
        t_sh("cd '%s' && c=$(git cat-file commit %s | "
             "sed 's/^\\(bundle: 0*\\)1$/\\12/' | git hash-object -t commit -w --stdin) "
             "&& test $c != %s && git update-ref %s $c",
             gd, good, good, rev),
        0);
    rev_parse(bad, gd, rev);
    /* gpg, through git, agrees the signature is bad */
    assert_int_equal(t_sh("GNUPGHOME='%s' git --git-dir='%s' verify-commit %s 2>/dev/null",
                          mrx_node_gnupghome(patient), gd, good),
                     0);
    assert_int_not_equal(t_sh("GNUPGHOME='%s' git --git-dir='%s' verify-commit %s 2>/dev/null",
                              mrx_node_gnupghome(patient), gd, bad),
                         0);

    now = time(NULL) + 5;
    a = audit_of(l, patient, now, NO_SILENCE);
    assert_int_equal(lines_of(a, MRX_AUDIT_BAD_FEED, NULL, &line), 1);
    assert_marked(line, MRX_AUDIT_BAD_FEED, t_fpr(clinic), MRX_AUDIT_BAD_SIGNATURE,
                  "this feed does not verify from here on");
    assert_non_null(strstr(line->problem, bad));
    assert_int_equal(line->time, now);
    /* the two events before it, verified; nothing of it or after */
    assert_int_equal(a->events, 2 + 2);
    assert_int_equal(lines_of(a, MRX_AUDIT_EVENT, t_fpr(clinic), &line), 2);
    assert_int_equal(line->type, MRX_EV_BUNDLE_ADDED);
    assert_int_equal(line->seq, 0);
    line = event_line(a, clinic, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    assert_int_equal(line->seq, 1);
    assert_int_equal(line->bundle_kind, MRX_KIND_PHOTOS);
    lines_of(a, MRX_AUDIT_BAD_FEED, NULL, &line);
    assert_only_marked(a, &line, 1);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&l);
    free(rev);
    free(gd);
}

/* The value of "key: " in the text of a note. */
static char *
note_value(const char *note, const char *key)
{
    char *want = NULL, *v;
    const char *p;

    assert_true(asprintf(&want, "\n%s: ", key) > 0);
    assert_non_null(p = strstr(note, want));
    p += strlen(want);
    v = strndup(p, strcspn(p, "\n"));
    free(want);
    return v;
}

static void
audit_reports_a_history_refused_at_ingest(void **state)
{
    mrx_ledger *l = new_case(), *copy;
    char *copy_gd = NULL, *rev = NULL, *note_path = NULL, *note, *reason, *evidence = NULL, *path,
         theirs[MRX_COMMIT_HEX_LEN + 1];
    const char *zeros = "0000000000000000000000000000000000000000";
    const mrx_audit_line *marked[2], *line;
    struct stat st;
    size_t added = 99, len = 0;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(1), MRX_KIND_RECORDS, 1);
    on_bundle(l, clinic, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    /* the clinic's copy, where its second event is replaced by another */
    copy = copy_case(l, &copy_gd);
    assert_true(asprintf(&rev, "refs/feeds/%s", t_fpr(clinic)) > 0);
    assert_int_equal(t_sh("git --git-dir='%s' update-ref %s %s~1", copy_gd, rev, rev), 0);
    add_bundle(copy, clinic, bundle(2), MRX_KIND_RECORDS, 2);
    rev_parse(theirs, copy_gd, rev);
    /* the patient refuses it, and keeps it */
    assert_int_equal(
        mrx_ledger_ingest_feed(l, mrx_node_pgp(patient), copy_gd, t_fpr(clinic), NULL, NULL, NULL,
                               &added),
        MRX_EDENIED);
    assert_int_equal(added, 0);
    assert_true(
        asprintf(&evidence, "%s/%s/evidence", mrx_node_cases(patient), mrx_ledger_case_id(l)) > 0);
    assert_true(asprintf(&note_path, "%s/%s-%s/REFUSED", evidence, t_fpr(clinic), theirs) > 0);
    note = t_read_file(note_path, &len);
    reason = note_value(note, "reason");
    assert_non_null(strstr(reason, "rewritten"));
    assert_int_equal(stat(note_path, &st), 0);
    /* and a note kept by hand, that names no reason */
    assert_true(asprintf(&path, "%s/%s-%s/REFUSED", evidence, t_fpr(stranger), zeros) > 0);
    free(note);
    assert_true(asprintf(&note, "feed: %s\nhead: %s\n", t_fpr(stranger), zeros) > 0);
    t_write_file(path, note, strlen(note));
    free(path);
    /* a folder with no note is no evidence */
    assert_true(asprintf(&path, "%s/empty/objects", evidence) > 0);
    assert_int_equal(mrx_fs_mkdir_p(path, 0700), 0);

    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    assert_int_equal(a->events, 3 + 2); /* the history held here */
    assert_int_equal(lines_of(a, MRX_AUDIT_REFUSED, NULL, &line), 2);
    assert_int_equal(lines_of(a, MRX_AUDIT_REFUSED, t_fpr(clinic), &line), 1);
    marked[0] = line;
    assert_marked(line, MRX_AUDIT_REFUSED, t_fpr(clinic), MRX_AUDIT_REWRITTEN, reason);
    assert_string_equal(line->problem, reason);
    assert_string_equal(line->commit, theirs);
    assert_int_equal(line->time, st.st_mtime);
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_int_equal(line->member_role, MRX_MEMBER_CONTRIBUTOR);
    assert_int_equal(lines_of(a, MRX_AUDIT_REFUSED, t_fpr(stranger), &line), 1);
    marked[1] = line;
    assert_marked(line, MRX_AUDIT_REFUSED, t_fpr(stranger), MRX_AUDIT_REWRITTEN,
                  "a history refused here, kept as evidence");
    assert_string_equal(line->commit, zeros);
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_NONE);
    /* the clinic's events held here stand */
    assert_int_equal(event_line(a, clinic, MRX_EV_BUNDLE_OPENED, bundle(1), NULL)->flags, 0);
    assert_only_marked(a, marked, 2);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&copy);
    mrx_ledger_destroy(&l);
    free(path);
    free(note);
    free(reason);
    free(note_path);
    free(evidence);
    free(rev);
    free(copy_gd);
}

/* A member that signs an event it may not write (the reviewer withdraws
 * the clinic's bundle): the feed offered with it is refused at ingest,
 * kept as evidence of the reviewer's own doing with the peer that
 * offered it, and the audit marks it forged. */
static void
audit_marks_a_forged_event_refused_at_ingest(void **state)
{
    mrx_ledger *l = new_case(), *copy;
    char *copy_gd = NULL, *rev = NULL, head[MRX_COMMIT_HEX_LEN + 1], *report = NULL;
    const mrx_audit_line *marked[1], *line;
    mrx_ledger_refusal *kept = NULL;
    size_t n = 0;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(1), MRX_KIND_RECORDS, 1);
    /* in its copy, the reviewer opens the bundle, then withdraws it */
    copy = copy_case(l, &copy_gd);
    on_bundle(copy, reviewer, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    on_bundle(copy, reviewer, MRX_EV_BUNDLE_WITHDRAWN, bundle(1), NULL);
    assert_true(asprintf(&rev, "refs/feeds/%s", t_fpr(reviewer)) > 0);
    rev_parse(head, copy_gd, rev);
    /* offered by the clinic's node (any peer may pass a feed on) */
    assert_int_equal(mrx_case_ingest(l, patient, copy_gd, t_fpr(clinic), &report), MRX_EDENIED);
    assert_non_null(strstr(report, "was not its author's to write"));
    assert_int_equal(mrx_ledger_evidence(l, &kept, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(kept[0].fpr, t_fpr(reviewer));
    assert_string_equal(kept[0].head, head);
    assert_string_equal(kept[0].from, t_fpr(clinic));
    assert_true(kept[0].unentitled);
    assert_non_null(strstr(kept[0].reason, "bundle-withdrawn"));

    a = audit_of(l, patient, time(NULL), NO_SILENCE);
    /* the whole feed was refused: its opening is not held here either */
    assert_int_equal(a->events, 4);
    assert_int_equal(lines_of(a, MRX_AUDIT_REFUSED, NULL, &line), 1);
    marked[0] = line;
    assert_marked(line, MRX_AUDIT_REFUSED, t_fpr(reviewer), MRX_AUDIT_FORGED,
                  "withdrawn only by whoever added it or the owner");
    assert_string_equal(line->commit, head);
    assert_string_equal(line->peer, t_fpr(clinic));
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_only_marked(a, marked, 1);
    mrx_audit_destroy(&a);
    free(kept);
    free(report);
    free(rev);
    free(copy_gd);
    mrx_ledger_destroy(&copy);
    mrx_ledger_destroy(&l);
}

/* The one split-view line by who at when whose problem says words. */
static const mrx_audit_line *
split_line(const mrx_audit *a, mrx_node *who, time_t when, const char *words)
{
    const mrx_audit_line *found = NULL;

    for (size_t i = 0; i < a->n; i++) {
        const mrx_audit_line *line = &a->lines[i];
        if (line->kind != MRX_AUDIT_SPLIT_VIEW || strcmp(line->who, t_fpr(who)) != 0 ||
            line->time != when || !strstr(line->problem, words))
            continue;
        assert_null(found);
        found = line;
    }
    if (!found)
        fail_msg("no split view by %s at %lld saying \"%s\"", t_fpr(who), (long long)when, words);
    assert_marked(found, MRX_AUDIT_SPLIT_VIEW, t_fpr(who), MRX_AUDIT_SPLIT, words);
    return found;
}

/* A case where the clinic's feed forks at its second event: one second
 * event in *copy (ending at theirs), another in l (ending at ours). */
static mrx_ledger *
forked_case(mrx_ledger **copy, char ours[MRX_COMMIT_HEX_LEN + 1],
            char theirs[MRX_COMMIT_HEX_LEN + 1])
{
    mrx_ledger *l = new_case();
    char *gd = git_dir_of(patient, l), *copy_gd = NULL, *rev = NULL;

    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(1), MRX_KIND_IMAGING, 1);
    *copy = copy_case(l, &copy_gd);
    add_bundle(*copy, clinic, bundle(2), MRX_KIND_IMAGING, 2);
    add_bundle(l, clinic, bundle(3), MRX_KIND_IMAGING, 3);
    assert_true(asprintf(&rev, "refs/feeds/%s", t_fpr(clinic)) > 0);
    rev_parse(ours, gd, rev);
    rev_parse(theirs, copy_gd, rev);
    assert_string_not_equal(ours, theirs);
    free(rev);
    free(copy_gd);
    free(gd);
    return l;
}

static void
audit_flags_a_fork_shown_by_views_once(void **state)
{
    char ours[MRX_COMMIT_HEX_LEN + 1], theirs[MRX_COMMIT_HEX_LEN + 1], *conflicts = NULL,
                                                                       *words = NULL;
    mrx_ledger *copy = NULL, *l = forked_case(&copy, ours, theirs);
    /* views come after the events they show; the audit after both */
    time_t t1 = time(NULL) + 100, t2 = t1 + 100, now = t2 + 100;
    const mrx_audit_line *line;
    mrx_audit *a;

    (void)state;
    /* the reviewer signs a view of each history: both kept as evidence */
    assert_int_equal(keep_view(patient, l, copy, reviewer, t1), MRX_VIEW_KEPT_LATEST);
    assert_int_equal(keep_view(patient, l, l, reviewer, t2),
                     MRX_VIEW_KEPT_LATEST | MRX_VIEW_KEPT_EVIDENCE);
    assert_true(asprintf(&conflicts, "%s/%s/views/conflicts", mrx_node_cases(patient),
                         mrx_ledger_case_id(l)) > 0);
    assert_int_equal(t_count_entries(conflicts), 2);
    /* the clinic shows the copy's history too, between the two */
    assert_int_equal(keep_view(patient, l, copy, clinic, t1 + 50), MRX_VIEW_KEPT_LATEST);
    assert_int_equal(t_count_entries(conflicts), 2);

    /* three views and the ledger show one fork: one line, the feed's
     * author's, at the later of the two views by one node */
    a = audit_of(l, patient, now, NO_SILENCE);
    assert_int_equal(lines_of(a, MRX_AUDIT_SPLIT_VIEW, NULL, &line), 1);
    line = split_line(a, clinic, t2, "its feed is shown with 2 events ending at ");
    assert_true(asprintf(&words, "%.12s", ours) > 0);
    assert_non_null(strstr(line->problem, words));
    free(words);
    assert_true(asprintf(&words, "%.12s", theirs) > 0);
    assert_non_null(strstr(line->problem, words));
    free(words);
    assert_non_null(strstr(line->problem, "it signed two histories, or a view lies"));
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_int_equal(line->member_role, MRX_MEMBER_CONTRIBUTOR);
    assert_int_equal(a->events, 3 + 2);
    assert_only_marked(a, &line, 1);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&copy);
    mrx_ledger_destroy(&l);
    free(conflicts);
}

static void
audit_flags_a_view_at_odds_with_the_ledger(void **state)
{
    char ours[MRX_COMMIT_HEX_LEN + 1], theirs[MRX_COMMIT_HEX_LEN + 1], *words = NULL;
    mrx_ledger *copy = NULL, *l = forked_case(&copy, ours, theirs);
    time_t now = time(NULL) + 200;
    const mrx_audit_line *line;
    mrx_audit *a;

    (void)state;
    /* one view, by the clinic, of a history this node does not hold:
     * no other view contradicts it, the ledger does */
    assert_int_equal(keep_view(patient, l, copy, clinic, now - 100), MRX_VIEW_KEPT_LATEST);
    a = audit_of(l, patient, now, NO_SILENCE);
    assert_int_equal(lines_of(a, MRX_AUDIT_SPLIT_VIEW, NULL, &line), 1);
    assert_true(asprintf(&words,
                         "ending at %.12s and at %.12s (a view by %.16s, and this node's "
                         "ledger)",
                         theirs, ours, t_fpr(clinic)) > 0);
    line = split_line(a, clinic, now - 100, words);
    free(words);
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_only_marked(a, &line, 1);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&copy);
    mrx_ledger_destroy(&l);
}

static void
audit_flags_a_node_whose_views_went_backwards(void **state)
{
    mrx_ledger *l = new_case(), *copy;
    char *copy_gd = NULL, *words = NULL;
    time_t t1 = time(NULL) + 100, t2 = t1 + 100, now = t2 + 100;
    const mrx_audit_line *marked[2];
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_bundle(l, clinic, bundle(1), MRX_KIND_IMAGING, 1);
    add_bundle(l, clinic, bundle(2), MRX_KIND_IMAGING, 2);
    on_bundle(l, reviewer, MRX_EV_BUNDLE_OPENED, bundle(1), NULL);
    /* the reviewer shows all of it, then a copy where the clinic's feed
     * lost an event and its own feed is gone */
    copy = copy_case(l, &copy_gd);
    assert_int_equal(t_sh("git --git-dir='%s' update-ref refs/feeds/%s refs/feeds/%s~1 && "
                          "git --git-dir='%s' update-ref -d refs/feeds/%s",
                          copy_gd, t_fpr(clinic), t_fpr(clinic), copy_gd, t_fpr(reviewer)),
                     0);
    assert_int_equal(keep_view(patient, l, l, reviewer, t1), MRX_VIEW_KEPT_LATEST);
    assert_int_equal(keep_view(patient, l, copy, reviewer, t2),
                     MRX_VIEW_KEPT_LATEST | MRX_VIEW_KEPT_EVIDENCE);

    a = audit_of(l, patient, now, NO_SILENCE);
    assert_int_equal(lines_of(a, MRX_AUDIT_SPLIT_VIEW, NULL, &marked[0]), 2);
    assert_true(asprintf(&words,
                         "fewer events of feed %.16s than its earlier one (2, then 1): it "
                         "went backwards",
                         t_fpr(clinic)) > 0);
    marked[0] = split_line(a, reviewer, t2, words);
    free(words);
    assert_int_equal(marked[0]->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_int_equal(marked[0]->member_role, MRX_MEMBER_REVIEWER);
    /* a feed no longer shown at all went back to nothing */
    assert_true(asprintf(&words, "feed %.16s", t_fpr(reviewer)) > 0);
    marked[1] = split_line(a, reviewer, t2, words);
    free(words);
    assert_non_null(strstr(marked[1]->problem, "went backwards"));
    assert_only_marked(a, marked, 2);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&copy);
    mrx_ledger_destroy(&l);
    free(copy_gd);
}

static void
audit_flags_nodes_that_stopped_sending_views(void **state)
{
    mrx_ledger *l = new_case(), *copy = NULL;
    char *gd = git_dir_of(patient, l), *report = NULL, *words = NULL, when[MRX_TIME_LEN + 1];
    time_t base, now;
    const mrx_audit_line *marked[2], *line;
    mrx_audit *a;

    (void)state;
    add_member(l, clinic, MRX_MEMBER_CONTRIBUTOR);
    add_member(l, reviewer, MRX_MEMBER_REVIEWER);
    add_member(l, stranger, MRX_MEMBER_RELAY);
    add_bundle(l, clinic, bundle(1), MRX_KIND_PLAN, 1);
    remove_member(l, stranger);
    base = time(NULL);
    now = base + 600;
    /* the clinic reported ten seconds before the audit, the reviewer ten
     * minutes; the relay, removed, never did */
    assert_int_equal(keep_view(patient, l, l, clinic, now - 10), MRX_VIEW_KEPT_LATEST);
    assert_int_equal(keep_view(patient, l, l, reviewer, base - 5), MRX_VIEW_KEPT_LATEST);

    a = audit_of(l, patient, now, 60);
    assert_int_equal(lines_of(a, MRX_AUDIT_SILENT, NULL, &line), 1);
    mrx_text_format_time(when, base - 5);
    assert_true(asprintf(&words, "has sent no signed view since %s (the limit is 60 s)", when) > 0);
    assert_marked(line, MRX_AUDIT_SILENT, t_fpr(reviewer), MRX_AUDIT_STOPPED, words);
    free(words);
    assert_int_equal(line->time, now);
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_MEMBER);
    assert_int_equal(line->member_role, MRX_MEMBER_REVIEWER);
    assert_only_marked(a, &line, 1);
    mrx_audit_destroy(&a);
    /* silent for exactly the limit is not yet too long */
    a = audit_of(l, patient, base - 5 + 60, 60);
    assert_int_equal(lines_of(a, MRX_AUDIT_SILENT, NULL, &line), 0);
    assert_only_marked(a, NULL, 0);
    mrx_audit_destroy(&a);

    /* the clinic's own copy: there the patient is a node like any other,
     * and the clinic holds no views */
    assert_int_equal(
        mrx_ledger_adopt(&copy, mrx_node_cases(clinic), mrx_ledger_case_id(l), t_fpr(patient)), 0);
    if (mrx_case_ingest(copy, clinic, gd, NULL, &report) != 0)
        fail_msg("ingest: %s", mrx_error_last());
    free(report);
    a = audit_of(copy, clinic, now, 60);
    assert_int_equal(lines_of(a, MRX_AUDIT_SILENT, NULL, &line), 2);
    assert_int_equal(lines_of(a, MRX_AUDIT_SILENT, t_fpr(patient), &line), 1);
    marked[0] = line;
    assert_marked(line, MRX_AUDIT_SILENT, t_fpr(patient), MRX_AUDIT_STOPPED,
                  "has never sent a signed view (the limit is 60 s)");
    assert_int_equal(line->standing, MRX_AUDIT_ROLE_OWNER);
    assert_int_equal(lines_of(a, MRX_AUDIT_SILENT, t_fpr(reviewer), &line), 1);
    marked[1] = line;
    assert_marked(line, MRX_AUDIT_SILENT, t_fpr(reviewer), MRX_AUDIT_STOPPED,
                  "has never sent a signed view");
    assert_int_equal(a->events, 5 + 1);
    assert_only_marked(a, marked, 2);
    mrx_audit_destroy(&a);
    mrx_ledger_destroy(&copy);
    mrx_ledger_destroy(&l);
    free(gd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audit_verifies_an_honest_case_and_joins_bundles),
        cmocka_unit_test(audit_flags_served_never_fetched_and_fetched_never_served),
        cmocka_unit_test(audit_shows_by_its_signed_request_a_reader_that_hides_its_fetch),
        cmocka_unit_test(audit_flags_a_serving_whose_request_is_forged_or_for_something_else),
        cmocka_unit_test(audit_flags_acts_after_revocation_and_by_non_members),
        cmocka_unit_test(audit_marks_a_feed_that_stops_verifying_and_keeps_what_came_before),
        cmocka_unit_test(audit_reports_a_history_refused_at_ingest),
        cmocka_unit_test(audit_marks_a_forged_event_refused_at_ingest),
        cmocka_unit_test(audit_flags_a_fork_shown_by_views_once),
        cmocka_unit_test(audit_flags_a_view_at_odds_with_the_ledger),
        cmocka_unit_test(audit_flags_a_node_whose_views_went_backwards),
        cmocka_unit_test(audit_flags_nodes_that_stopped_sending_views),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}

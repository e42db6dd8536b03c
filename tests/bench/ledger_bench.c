/*
 * ledger_bench: append and read a case of many events over four feeds
 * with the real ledger code, and audit a case of five feeds; print the
 * timings as lines bench-ledger.sh reads.
 *
 *   ledger_bench DIR EVENTS
 *
 *   keyring DIR FPR          the owner's keyring, for the gpg baselines
 *   append EVENTS SECONDS    signed appends, membership/bundles/access mixed (not
 *                            counting the receivers signing the requests that
 *                            bundle-served events keep: that is the receiver's work)
 *   verify EVENTS SECONDS    reading the whole case the first time (gpg per event)
 *   cached EVENTS SECONDS    reading it again, signatures cached
 *
 *   ledger_bench --audit-case DIR ACCESS
 *
 *   Five nodes (patient, clinic, relay, two reviewers) and a case in the
 *   patient's home with ACCESS access events (served, fetched, opened)
 *   after the grants and bundle-added events that make them legitimate,
 *   and a signed view of it from each member, kept by the patient:
 *
 *   audit-home HOME                              the patient's node home
 *   audit-git DIR                                the case's git repository
 *   audit-built EVENTS ACCESS BUNDLES SECONDS VIEWS  what was written, how long it took
 *                                                (requests not counted, as for append),
 *                                                and the signed views kept
 *
 *   ledger_bench --audit HOME ROUNDS
 *
 *   The patient's audit of its one case, as mrxd makes it (open the
 *   ledger, mrx_audit_make), in this new process with no signature
 *   verified yet, then ROUNDS more times once verified (the best kept):
 *
 *   audit-first EVENTS SECONDS FLAGGED REQUESTS  signatures checked by gpg: every event's
 *                                                and the request each bundle-served keeps
 *   audit-flagged KIND FPR PROBLEM               the first few flagged lines, if any
 *   audit-cached EVENTS SECONDS FLAGGED          once verified
 *   audit-read EVENTS SECONDS                    reading the case's feeds once verified
 */
#include "mrx_audit.h"
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"
#include "mrx_node.h"
#include "mrx_request.h"
#include "mrx_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUTHORS 4

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
    fprintf(stderr, "ledger_bench: %s: %s\n", what, mrx_error_last());
    exit(1);
}

/* The request a receiver signs for bundle (what it sends in FETCH), which
 * the server keeps with its bundle-served event; *seconds grows by the
 * time it took. Freed by the caller. */
static char *
signed_request(mrx_pgp *pgp, const char *case_id, const char *bundle, const char *server,
               const char *reader, double *seconds)
{
    double t0 = now();
    mrx_request req;
    char *text = NULL;
    size_t len = 0;

    memset(&req, 0, sizeof req);
    snprintf(req.case_id, sizeof req.case_id, "%s", case_id);
    snprintf(req.bundle, sizeof req.bundle, "%s", bundle);
    snprintf(req.server, sizeof req.server, "%s", server);
    snprintf(req.reader, sizeof req.reader, "%s", reader);
    req.time = time(NULL);
    if (mrx_request_make(&text, &len, pgp, &req) != 0)
        die("request");
    *seconds += now() - t0;
    return text;
}

struct reader {
    const mrx_case *c; /* membership to check each event against */
    size_t events;     /* events read */
};

static int
count(void *arg, const mrx_event *ev, const char *commit)
{
    struct reader *r = arg;

    (void)commit;
    r->events++;
    return mrx_case_may_write_at(r->c, ev->author, ev->type, ev->kind, ev->time);
}

/* Read every feed of the case in dir, as mrx case show does. */
static size_t
read_case(const char *case_dir, mrx_pgp *pgp)
{
    char (*feeds)[MRX_FPR_LEN + 1] = NULL;
    struct reader r = {NULL, 0};
    mrx_ledger *l = NULL;
    mrx_case *c = NULL;
    size_t n = 0;

    if (mrx_ledger_open(&l, case_dir) != 0 || mrx_case_load(&c, l, pgp) != 0 ||
        mrx_ledger_feeds(l, &feeds, &n) != 0)
        die("open");
    r.c = c;
    for (size_t i = 0; i < n; i++)
        if (mrx_ledger_read_feed(l, pgp, feeds[i], count, &r) != 0)
            die("read");
    free(feeds);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&l);
    return r.events;
}

/* The case of four feeds (issue 3): appends, first read, cached read. */
static int
feeds_bench(const char *dir, size_t total)
{
    static const char *const names[AUTHORS] = {"owner", "clinic", "reviewer", "relay"};
    static const mrx_member_role roles[AUTHORS] = {0, MRX_MEMBER_CONTRIBUTOR, MRX_MEMBER_REVIEWER,
                                                   MRX_MEMBER_RELAY};
    char fpr[AUTHORS][MRX_FPR_LEN + 1], *homes[AUTHORS], *cases, *case_dir;
    mrx_pgp *pgp[AUTHORS];
    mrx_ledger_author author[AUTHORS];
    mrx_ledger *l = NULL;
    size_t done = 0;
    double t0, t_requests = 0;

    for (int i = 0; i < AUTHORS; i++) {
        homes[i] = mrx_fs_join(dir, names[i]);
        if (mrx_fs_mkdir_p(homes[i], 0700) != 0 || mrx_pgp_new(&pgp[i], homes[i]) != 0 ||
            mrx_pgp_generate(pgp[i], fpr[i], names[i]) != 0)
            die("keys");
        author[i] = (mrx_ledger_author){pgp[i], fpr[i], names[i]};
    }
    /* the owner's keyring verifies everyone */
    for (int i = 1; i < AUTHORS; i++) {
        char *pub = NULL, got[MRX_FPR_LEN + 1];
        size_t len = 0;
        if (mrx_pgp_export(pgp[i], &pub, &len, fpr[i]) != 0 ||
            mrx_pgp_import(pgp[0], got, pub, len) != 0)
            die("share keys");
        free(pub);
    }
    printf("keyring %s %s\n", homes[0], fpr[0]);
    cases = mrx_fs_join(dir, "cases");

    t0 = now();
    if (mrx_ledger_create(&l, cases, &author[0], "bench") != 0)
        die("create");
    done = 1;
    for (int i = 1; i < AUTHORS; i++, done++) {
        mrx_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = MRX_EV_MEMBER_ADDED;
        strcpy(ev.member, fpr[i]);
        ev.role = roles[i];
        if (mrx_ledger_append(l, &author[0], &ev, "bench certificate\n", NULL) != 0)
            die("grant");
    }
    /* membership, bundles and access, round robin over the four feeds */
    for (size_t k = 0; done < total; k++, done++) {
        int who = (int)(k % AUTHORS);
        char *request = NULL;
        mrx_event ev;
        memset(&ev, 0, sizeof ev);
        snprintf(ev.bundle, sizeof ev.bundle, "%064zx", k / AUTHORS + 1);
        switch (who) {
        case 0:
            ev.type = MRX_EV_BUNDLE_OPENED;
            break;
        case 1:
            ev.type = MRX_EV_BUNDLE_ADDED;
            ev.size = 1000000 + k;
            ev.kind = MRX_KIND_IMAGING;
            strcpy(ev.readers[0], fpr[1]);
            strcpy(ev.readers[1], fpr[0]);
            strcpy(ev.readers[2], fpr[2]);
            ev.n_readers = 3;
            break;
        case 2:
            ev.type = MRX_EV_BUNDLE_FETCHED;
            strcpy(ev.peer, fpr[3]);
            break;
        default:
            ev.type = MRX_EV_BUNDLE_SERVED;
            strcpy(ev.peer, fpr[2]);
            request = signed_request(pgp[2], mrx_ledger_case_id(l), ev.bundle, fpr[3], fpr[2],
                                     &t_requests);
        }
        if (mrx_ledger_append(l, &author[who], &ev, request, NULL) != 0)
            die("append");
        free(request);
    }
    printf("append %zu %.3f\n", done, now() - t0 - t_requests);
    fflush(stdout);
    case_dir = mrx_fs_join(cases, mrx_ledger_case_id(l));
    mrx_ledger_destroy(&l);

    t0 = now();
    total = read_case(case_dir, pgp[0]);
    printf("verify %zu %.3f\n", total, now() - t0);
    fflush(stdout);
    t0 = now();
    total = read_case(case_dir, pgp[0]);
    printf("cached %zu %.3f\n", total, now() - t0);

    for (int i = 0; i < AUTHORS; i++) {
        mrx_pgp_destroy(&pgp[i]);
        mrx_pgp_stop_agent(homes[i]);
        free(homes[i]);
    }
    free(cases);
    free(case_dir);
    return 0;
}

/* The audit case (issue 6): five nodes, each writing its own feed. */
enum { PATIENT, CLINIC, RELAY, REVIEWER, REVIEWER2, NODES };

/* One access event of a bundle's life. */
struct step {
    int who;             /* whose feed it is written to */
    mrx_event_type type; /* served, fetched or opened */
    int peer;            /* served: to whom; fetched: from whom; -1 for opened */
};

/* What follows each bundle-added (by the clinic): the clinic serves it to
 * the relay, which passes it on to both reviewers and the patient, each of
 * whom fetches and opens it. Every serving has its fetching, so the audit
 * matches each pair and flags nothing. */
static const struct step flow[] = {
    {CLINIC, MRX_EV_BUNDLE_SERVED, RELAY},     {RELAY, MRX_EV_BUNDLE_FETCHED, CLINIC},
    {RELAY, MRX_EV_BUNDLE_SERVED, REVIEWER},   {REVIEWER, MRX_EV_BUNDLE_FETCHED, RELAY},
    {REVIEWER, MRX_EV_BUNDLE_OPENED, -1},      {RELAY, MRX_EV_BUNDLE_SERVED, REVIEWER2},
    {REVIEWER2, MRX_EV_BUNDLE_FETCHED, RELAY}, {REVIEWER2, MRX_EV_BUNDLE_OPENED, -1},
    {RELAY, MRX_EV_BUNDLE_SERVED, PATIENT},    {PATIENT, MRX_EV_BUNDLE_FETCHED, RELAY},
    {PATIENT, MRX_EV_BUNDLE_OPENED, -1},
};
#define FLOW_STEPS (sizeof flow / sizeof flow[0])

static void
bundle_id(char id[MRX_SHA256_HEX_LEN + 1], size_t b)
{
    snprintf(id, MRX_SHA256_HEX_LEN + 1, "a0d1%060zx", b + 1);
}

/* Build the audit case: nodes, grants, bundles and their access events,
 * and a view from each member. */
static int
audit_case(const char *dir, size_t access)
{
    static const char *const names[NODES] = {"patient", "clinic", "relay", "reviewer", "reviewer2"};
    static const mrx_role node_roles[NODES] = {MRX_ROLE_PATIENT, MRX_ROLE_CLINIC,
                                               MRX_ROLE_FACILITATOR, MRX_ROLE_REVIEWER,
                                               MRX_ROLE_REVIEWER};
    static const mrx_member_role grants[NODES] = {0, MRX_MEMBER_CONTRIBUTOR, MRX_MEMBER_RELAY,
                                                  MRX_MEMBER_REVIEWER, MRX_MEMBER_REVIEWER};
    mrx_node *node[NODES];
    mrx_ledger_author author[NODES];
    mrx_pgp *patient_pgp;
    mrx_ledger *l = NULL;
    char *home, *case_dir;
    size_t events = 0, done = 0, bundles = 0;
    double t0, t_requests = 0;

    for (int i = 0; i < NODES; i++) {
        home = mrx_fs_join(dir, names[i]);
        if (!home || mrx_node_init(home, names[i], node_roles[i], NULL, 0) != 0 ||
            mrx_node_open(&node[i], home) != 0)
            die("node");
        free(home);
        author[i] = (mrx_ledger_author){mrx_node_pgp(node[i]), mrx_node_config(node[i])->fpr,
                                        mrx_node_config(node[i])->name};
    }
    patient_pgp = mrx_node_pgp(node[PATIENT]);
    /* the patient knows each member from its certificate, as mrx peer add */
    for (int i = 1; i < NODES; i++) {
        const char *cert = mrx_cert_text(mrx_node_cert(node[i]));
        if (mrx_node_peer_add(node[PATIENT], NULL, cert, strlen(cert)) != 0)
            die("peer add");
    }
    printf("audit-home %s\n", mrx_node_home(node[PATIENT]));

    t0 = now();
    if (mrx_ledger_create(&l, mrx_node_cases(node[PATIENT]), &author[PATIENT], "audit bench") != 0)
        die("create");
    events = 1;
    for (int i = 1; i < NODES; i++, events++) {
        mrx_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = MRX_EV_MEMBER_ADDED;
        strcpy(ev.member, author[i].fpr);
        ev.role = grants[i];
        if (mrx_ledger_append(l, &author[PATIENT], &ev, mrx_cert_text(mrx_node_cert(node[i])),
                              NULL) != 0)
            die("grant");
    }
    /* whole flows while they fit, then the patient opening bundles again */
    for (bundles = 0; access - done >= FLOW_STEPS; bundles++) {
        mrx_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = MRX_EV_BUNDLE_ADDED;
        bundle_id(ev.bundle, bundles);
        ev.size = 1000000 + bundles;
        ev.kind = MRX_KIND_IMAGING;
        /* whom mrx_case_readers names: the author, the owner, every reviewer */
        strcpy(ev.readers[0], author[CLINIC].fpr);
        strcpy(ev.readers[1], author[PATIENT].fpr);
        strcpy(ev.readers[2], author[REVIEWER].fpr);
        strcpy(ev.readers[3], author[REVIEWER2].fpr);
        ev.n_readers = 4;
        if (mrx_ledger_append(l, &author[CLINIC], &ev, NULL, NULL) != 0)
            die("bundle");
        events++;
        for (size_t s = 0; s < FLOW_STEPS; s++, done++, events++) {
            const struct step *st = &flow[s];
            char *request = NULL;
            memset(&ev, 0, sizeof ev);
            ev.type = st->type;
            bundle_id(ev.bundle, bundles);
            if (st->peer >= 0)
                strcpy(ev.peer, author[st->peer].fpr);
            if (st->type == MRX_EV_BUNDLE_SERVED)
                request = signed_request(author[st->peer].pgp, mrx_ledger_case_id(l), ev.bundle,
                                         author[st->who].fpr, author[st->peer].fpr, &t_requests);
            if (mrx_ledger_append(l, &author[st->who], &ev, request, NULL) != 0)
                die("access");
            free(request);
        }
    }
    for (size_t k = 0; done < access; k++, done++, events++) {
        mrx_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = MRX_EV_BUNDLE_OPENED;
        bundle_id(ev.bundle, k % bundles);
        if (mrx_ledger_append(l, &author[PATIENT], &ev, NULL, NULL) != 0)
            die("access");
    }
    t0 = now() - t0 - t_requests;
    case_dir = mrx_fs_join(mrx_node_cases(node[PATIENT]), mrx_ledger_case_id(l));
    printf("audit-git %s/ledger.git\n", case_dir);

    /* each member's signed view of what it holds: the whole case */
    for (int i = 1; i < NODES; i++) {
        mrx_view *v = NULL;
        char *text = NULL;
        size_t len = 0;
        int kept = 0;
        if (mrx_view_make(&text, &len, l, author[i].pgp, author[i].fpr, time(NULL)) != 0 ||
            mrx_view_parse(&v, patient_pgp, text, len) != 0 ||
            mrx_view_keep(&kept, NULL, patient_pgp, case_dir, v) != 0)
            die("view");
        mrx_view_destroy(&v);
        free(text);
    }
    printf("audit-built %zu %zu %zu %.3f %d\n", events, done, bundles, t0, NODES - 1);

    mrx_ledger_destroy(&l);
    free(case_dir);
    for (int i = 0; i < NODES; i++) {
        char *gnupg = strdup(mrx_node_gnupghome(node[i]));
        mrx_node_destroy(&node[i]);
        if (gnupg)
            mrx_pgp_stop_agent(gnupg);
        free(gnupg);
    }
    return 0;
}

/* One audit of case id as mrxd makes it; returns its time in seconds. */
static double
audit_once(mrx_audit **out, mrx_node *node, const char *id)
{
    mrx_ledger *l = NULL;
    double t0 = now();

    if (mrx_case_open_ledger(&l, node, id) != 0 ||
        mrx_audit_make(out, l, node, time(NULL), mrx_node_config(node)->report_interval) != 0)
        die("audit");
    mrx_ledger_destroy(&l);
    return now() - t0;
}

/* The patient's audit of its one case: first, then once verified. */
static int
audit_bench(const char *home, int rounds)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    mrx_node *node = NULL;
    mrx_audit *a = NULL;
    char *case_dir, *cache;
    size_t n = 0, events, requests = 0, shown = 0, read_events = 0;
    double t, best;

    if (mrx_node_open(&node, home) != 0 || mrx_case_ids(node, &ids, &n) != 0)
        die("open");
    if (n != 1) {
        fprintf(stderr, "ledger_bench: %s holds %zu cases, not 1\n", home, n);
        exit(1);
    }
    case_dir = mrx_fs_join(mrx_node_cases(node), ids[0]);
    /* the ledger's verification cache (mrx_ledger.c): none yet */
    cache = mrx_fs_join(case_dir, "verified");
    if (!case_dir || !cache || access(cache, F_OK) == 0) {
        fprintf(stderr, "ledger_bench: %s: signatures already verified\n", case_dir);
        exit(1);
    }

    t = audit_once(&a, node, ids[0]);
    events = a->events;
    for (size_t i = 0; i < a->n; i++)
        requests += a->lines[i].kind == MRX_AUDIT_EVENT && a->lines[i].type == MRX_EV_BUNDLE_SERVED;
    printf("audit-first %zu %.3f %zu %zu\n", a->events, t, a->flagged, requests);
    for (size_t i = 0; i < a->n && shown < 5; i++)
        if (a->lines[i].flags) {
            printf("audit-flagged %s %s %s\n", mrx_audit_kind_name(a->lines[i].kind),
                   a->lines[i].who[0] ? a->lines[i].who : "-", a->lines[i].problem);
            shown++;
        }
    mrx_audit_destroy(&a);
    fflush(stdout);

    best = -1;
    for (int r = 0; r < rounds; r++) {
        t = audit_once(&a, node, ids[0]);
        if (a->events != events) {
            fprintf(stderr, "ledger_bench: audit of %zu events, then of %zu\n", events, a->events);
            exit(1);
        }
        if (best < 0 || t < best)
            best = t;
        if (r < rounds - 1)
            mrx_audit_destroy(&a);
    }
    printf("audit-cached %zu %.3f %zu\n", a->events, best, a->flagged);
    mrx_audit_destroy(&a);

    best = -1;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        read_events = read_case(case_dir, mrx_node_pgp(node));
        t = now() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    printf("audit-read %zu %.3f\n", read_events, best);

    free(cache);
    free(case_dir);
    free(ids);
    mrx_node_destroy(&node);
    return 0;
}

static void
usage(void)
{
    fprintf(stderr, "usage: ledger_bench DIR EVENTS\n"
                    "       ledger_bench --audit-case DIR ACCESS\n"
                    "       ledger_bench --audit HOME ROUNDS\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    long n;

    if (argc != 3 && argc != 4)
        usage();
    n = strtol(argv[argc - 1], NULL, 10);
    if (mrx_pgp_global_init() != 0 || mrx_ledger_global_init() != 0)
        die("init");
    if (argc == 3 && n >= AUTHORS * 2)
        return feeds_bench(argv[1], (size_t)n);
    if (argc == 4 && strcmp(argv[1], "--audit-case") == 0 && n >= (long)FLOW_STEPS)
        return audit_case(argv[2], (size_t)n);
    if (argc == 4 && strcmp(argv[1], "--audit") == 0 && n >= 1)
        return audit_bench(argv[2], (int)n);
    usage();
    return 2;
}

/*
 * ledger_bench: append and read a case of many events over four feeds
 * with the real ledger code, and print the timings as lines bench-ledger.sh
 * reads:
 *
 *   keyring DIR FPR          the owner's keyring, for the gpg baselines
 *   append EVENTS SECONDS    signed appends, membership/bundles/access mixed
 *   verify EVENTS SECONDS    reading the whole case the first time (gpg per event)
 *   cached EVENTS SECONDS    reading it again, signatures cached
 *
 *   ledger_bench DIR EVENTS
 */
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int
main(int argc, char **argv)
{
    static const char *const names[AUTHORS] = {"owner", "clinic", "reviewer", "relay"};
    static const mrx_member_role roles[AUTHORS] = {0, MRX_MEMBER_CONTRIBUTOR, MRX_MEMBER_REVIEWER,
                                                   MRX_MEMBER_RELAY};
    char fpr[AUTHORS][MRX_FPR_LEN + 1], *homes[AUTHORS], *cases, *case_dir;
    mrx_pgp *pgp[AUTHORS];
    mrx_ledger_author author[AUTHORS];
    mrx_ledger *l = NULL;
    size_t total, done = 0;
    double t0;

    if (argc != 3 || (total = strtoul(argv[2], NULL, 10)) < AUTHORS * 2) {
        fprintf(stderr, "usage: ledger_bench DIR EVENTS\n");
        return 2;
    }
    if (mrx_pgp_global_init() != 0 || mrx_ledger_global_init() != 0)
        die("init");
    for (int i = 0; i < AUTHORS; i++) {
        homes[i] = mrx_fs_join(argv[1], names[i]);
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
    cases = mrx_fs_join(argv[1], "cases");

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
        }
        if (mrx_ledger_append(l, &author[who], &ev, NULL, NULL) != 0)
            die("append");
    }
    printf("append %zu %.3f\n", done, now() - t0);
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

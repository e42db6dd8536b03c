/*
 * mrx_audit: the patient's audit of a case (docs/audit.md).
 */
#include "mrx_audit.h"
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_view.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define REQUEST_LATE_MAX 3600 /* s a request's clock may be ahead of its serving's */

typedef struct builder {
    mrx_audit *audit;
    size_t cap;
    mrx_case *c;
    mrx_ledger *ledger;
    mrx_pgp *pgp;
} builder;

static void standing_at(const mrx_case *c, const char *owner, const char *fpr, time_t at,
                        mrx_audit_standing *standing, mrx_member_role *role);

static mrx_audit_line *
new_line(builder *b, mrx_audit_kind kind, time_t time, const char *who)
{
    mrx_audit *a = b->audit;
    mrx_audit_line *l;

    if (a->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        mrx_audit_line *grown = realloc(a->lines, cap * sizeof *grown);
        if (!grown) {
            mrx_error_set(MRX_ENOMEM, "out of memory");
            return NULL;
        }
        a->lines = grown;
        b->cap = cap;
    }
    l = &a->lines[a->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->time = time;
    snprintf(l->who, sizeof l->who, "%s", who ? who : "");
    standing_at(b->c, a->owner, l->who, time, &l->standing, &l->member_role);
    return l;
}

static void
flag(mrx_audit_line *l, unsigned bit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Mark l with bit; the first problem found is the one told. */
static void
flag(mrx_audit_line *l, unsigned bit, const char *fmt, ...)
{
    va_list ap;

    l->flags |= bit;
    if (l->problem[0])
        return;
    va_start(ap, fmt);
    vsnprintf(l->problem, sizeof l->problem, fmt, ap);
    va_end(ap);
}

/* Who fpr was in the case at time at (none for an empty fpr). */
static void
standing_at(const mrx_case *c, const char *owner, const char *fpr, time_t at,
            mrx_audit_standing *standing, mrx_member_role *role)
{
    const mrx_member *m;

    *standing = MRX_AUDIT_ROLE_NONE;
    *role = MRX_MEMBER_CONTRIBUTOR;
    if (!c || !fpr[0])
        return;
    if (strcmp(fpr, owner) == 0) {
        *standing = MRX_AUDIT_ROLE_OWNER;
        return;
    }
    if (!(m = mrx_case_member(c, fpr)))
        return;
    for (size_t i = 0; i < m->n_spans; i++) {
        if (m->spans[i].from <= at && (m->spans[i].until == 0 || at < m->spans[i].until)) {
            *standing = MRX_AUDIT_ROLE_MEMBER;
            *role = m->spans[i].role;
            return;
        }
        if (m->spans[i].from <= at)
            *standing = MRX_AUDIT_ROLE_REVOKED; /* added once, and ended by then */
    }
}

/* The request signed by its receiver that the serving at lines[i]
 * keeps: a line of its own, by the reader, so that an access shows even
 * if the reader never reports it; the serving is flagged if it keeps no
 * such request. */
static int
witness(builder *b, size_t i)
{
    mrx_audit_line *served = &b->audit->lines[i], *l;
    char server[MRX_FPR_LEN + 1], commit[MRX_COMMIT_HEX_LEN + 1];
    const char *why = NULL;
    mrx_request req;
    int rc;

    if ((rc = mrx_ledger_witness(b->ledger, b->pgp, served->commit, served->peer, &req)) < 0) {
        if (rc == MRX_ENOMEM)
            return rc;
        flag(served, MRX_AUDIT_UNWITNESSED, "it keeps no request signed by its receiver: %s",
             mrx_error_last());
        return 0;
    }
    if (!mrx_request_matches(&req, b->audit->case_id, served->bundle, served->who, &why) ||
        req.time > served->time + REQUEST_LATE_MAX) {
        flag(served, MRX_AUDIT_UNWITNESSED, "the request it keeps does not fit it: %s",
             why ? why : "signed after the serving");
        return 0;
    }
    memcpy(server, served->who, sizeof server);
    memcpy(commit, served->commit, sizeof commit);
    if (!(l = new_line(b, MRX_AUDIT_REQUEST, req.time, req.reader)))
        return MRX_ENOMEM;
    memcpy(l->peer, server, sizeof l->peer);
    memcpy(l->bundle, req.bundle, sizeof l->bundle);
    memcpy(l->commit, commit, sizeof l->commit);
    if (l->standing == MRX_AUDIT_ROLE_REVOKED)
        flag(l, MRX_AUDIT_AFTER_REVOCATION, "asked after its access was revoked");
    else if (l->standing == MRX_AUDIT_ROLE_NONE)
        flag(l, MRX_AUDIT_NOT_MEMBER, "asked while not a member of the case");
    return 0;
}

/* One event of the feed being read: verified by the ledger (signature,
 * chain); here, whether it was its author's to write. */
static int
on_event(void *arg, const mrx_event *ev, const char *commit)
{
    builder *b = arg;
    mrx_audit_line *l = new_line(b, MRX_AUDIT_EVENT, ev->time, ev->author);

    if (!l)
        return MRX_ENOMEM;
    l->type = ev->type;
    l->seq = ev->seq;
    snprintf(l->commit, sizeof l->commit, "%s", commit);
    memcpy(l->member, ev->member, sizeof l->member);
    l->role = ev->role;
    memcpy(l->bundle, ev->bundle, sizeof l->bundle);
    memcpy(l->peer, ev->peer, sizeof l->peer);
    if (ev->type == MRX_EV_BUNDLE_ADDED) {
        l->bundle_known = 1;
        l->bundle_kind = ev->kind;
        l->bundle_size = ev->size;
        l->bundle_readers = ev->n_readers;
    }
    b->audit->events++;
    if (mrx_case_may_write_at(b->c, ev->author, ev->type, ev->kind, ev->time) < 0) {
        if (l->standing == MRX_AUDIT_ROLE_REVOKED)
            flag(l, MRX_AUDIT_AFTER_REVOCATION, "acted after its access was revoked");
        else if (l->standing == MRX_AUDIT_ROLE_NONE)
            flag(l, MRX_AUDIT_NOT_MEMBER, "its author was not a member of the case then");
        else
            flag(l, MRX_AUDIT_NOT_MEMBER, "not its author's to write: %s", mrx_error_last());
    }
    if (ev->type == MRX_EV_BUNDLE_SERVED)
        return witness(b, (size_t)(l - b->audit->lines));
    return 0;
}

/* Every feed held, each verified on its own: a feed that stops verifying
 * keeps the events before the fault and gets a line saying so. */
static int
read_feeds(builder *b, mrx_ledger *ledger, mrx_pgp *pgp)
{
    char (*feeds)[MRX_FPR_LEN + 1] = NULL;
    size_t n = 0;
    int rc;

    if ((rc = mrx_ledger_feeds(ledger, &feeds, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        mrx_audit_line *l;
        if ((rc = mrx_ledger_read_feed(ledger, pgp, feeds[i], on_event, b)) == 0)
            continue;
        if (rc == MRX_ENOMEM || !(l = new_line(b, MRX_AUDIT_BAD_FEED, b->audit->at, feeds[i]))) {
            free(feeds);
            return MRX_ENOMEM;
        }
        flag(l, MRX_AUDIT_BAD_SIGNATURE, "this feed does not verify from here on: %s",
             mrx_error_last());
    }
    free(feeds);
    return 0;
}

/* The transfer a serving or fetching line reports, "SENDER>RECEIVER:BUNDLE"
 * (a serving's author sends, a fetching's author receives). */
static void
transfer_key(char *key, size_t len, const mrx_audit_line *l)
{
    int served = l->type == MRX_EV_BUNDLE_SERVED;

    snprintf(key, len, "%s>%s:%s", served ? l->who : l->peer, served ? l->peer : l->who, l->bundle);
}

/* What a bundle-added says of each bundle, on every line naming it; and
 * each serving matched with a fetching, and the other way round. */
static int
join_bundles(builder *b)
{
    mrx_audit *a = b->audit;
    zhashx_t *added = zhashx_new(), *served = zhashx_new(), *fetched = zhashx_new();
    char key[2 * MRX_FPR_LEN + MRX_SHA256_HEX_LEN + 3];
    int rc = 0;

    if (!added || !served || !fetched) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    /* each side's reports, by the transfer they tell of (a serving that
     * keeps no good request still says it served) */
    for (size_t i = 0; i < a->n; i++) {
        mrx_audit_line *l = &a->lines[i];
        if (l->kind != MRX_AUDIT_EVENT || (l->flags & ~MRX_AUDIT_UNWITNESSED))
            continue;
        if (l->type == MRX_EV_BUNDLE_ADDED)
            zhashx_update(added, l->bundle, l);
        else if (l->type == MRX_EV_BUNDLE_SERVED || l->type == MRX_EV_BUNDLE_FETCHED) {
            transfer_key(key, sizeof key, l);
            zhashx_update(l->type == MRX_EV_BUNDLE_SERVED ? served : fetched, key, l);
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        mrx_audit_line *l = &a->lines[i], *add;
        if ((l->kind != MRX_AUDIT_EVENT && l->kind != MRX_AUDIT_REQUEST) || !l->bundle[0])
            continue;
        if (l->type != MRX_EV_BUNDLE_ADDED && (add = zhashx_lookup(added, l->bundle))) {
            l->bundle_known = 1;
            l->bundle_kind = add->bundle_kind;
            l->bundle_size = add->bundle_size;
            l->bundle_readers = add->bundle_readers;
        }
        if (l->kind != MRX_AUDIT_EVENT ||
            (l->type != MRX_EV_BUNDLE_SERVED && l->type != MRX_EV_BUNDLE_FETCHED))
            continue;
        transfer_key(key, sizeof key, l);
        if (l->type == MRX_EV_BUNDLE_SERVED && !zhashx_lookup(fetched, key))
            flag(l, MRX_AUDIT_NOT_FETCHED, "its receiver has not reported fetching it");
        else if (l->type == MRX_EV_BUNDLE_FETCHED && !zhashx_lookup(served, key))
            flag(l, MRX_AUDIT_NOT_SERVED, "its sender has not reported serving it");
    }
out:
    zhashx_destroy(&added);
    zhashx_destroy(&served);
    zhashx_destroy(&fetched);
    return rc;
}

/* Histories refused at ingest and kept (evidence/, mrx_ledger_evidence). */
static int
read_evidence(builder *b)
{
    mrx_ledger_refusal *kept = NULL;
    size_t n = 0;
    int rc;

    if ((rc = mrx_ledger_evidence(b->ledger, &kept, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        mrx_audit_line *l = new_line(b, MRX_AUDIT_REFUSED, kept[i].time, kept[i].fpr);
        if (!l) {
            free(kept);
            return MRX_ENOMEM;
        }
        memcpy(l->commit, kept[i].head, sizeof l->commit);
        memcpy(l->peer, kept[i].from, sizeof l->peer);
        if (kept[i].unentitled)
            flag(l, MRX_AUDIT_FORGED, "%s",
                 kept[i].reason[0] ? kept[i].reason
                                   : "an event its author was not entitled to, kept as evidence");
        else
            flag(l, MRX_AUDIT_REWRITTEN, "%s",
                 kept[i].reason[0] ? kept[i].reason : "a history refused here, kept as evidence");
    }
    free(kept);
    return 0;
}

/* A fork of feed fpr at `events` events, ending at x in one account and
 * at y in another: one line per fork however many views show it. */
static int
fork_line(builder *b, zhashx_t *seen, const char *fpr, uint64_t events, const char *x,
          const char *y, time_t when, const char *told)
{
    char key[MRX_FPR_LEN + 2 * MRX_COMMIT_HEX_LEN + 32];
    mrx_audit_line *l;

    snprintf(key, sizeof key, "%s:%llu:%s:%s", fpr, (unsigned long long)events,
             strcmp(x, y) < 0 ? x : y, strcmp(x, y) < 0 ? y : x);
    if (zhashx_lookup(seen, key))
        return 0;
    zhashx_insert(seen, key, (void *)1);
    if (!(l = new_line(b, MRX_AUDIT_SPLIT_VIEW, when, fpr)))
        return MRX_ENOMEM;
    flag(l, MRX_AUDIT_SPLIT,
         "its feed is shown with %llu events ending at %.12s and at %.12s (%s): it signed two "
         "histories, or a view lies",
         (unsigned long long)events, x, y, told);
    return 0;
}

/* A node whose later view holds less of a feed than its earlier one. */
static int
backwards_line(builder *b, const char *node, time_t when, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
backwards_line(builder *b, const char *node, time_t when, const char *fmt, ...)
{
    mrx_audit_line *l = new_line(b, MRX_AUDIT_SPLIT_VIEW, when, node);
    va_list ap;

    if (!l)
        return MRX_ENOMEM;
    l->flags |= MRX_AUDIT_SPLIT;
    va_start(ap, fmt);
    vsnprintf(l->problem, sizeof l->problem, fmt, ap);
    va_end(ap);
    return 0;
}

/* Feed h of view v against view w: a fork, whoever shows it; and, for
 * two views by one node, w later holding less of it or dropping it. */
static int
compare_feed(builder *b, zhashx_t *seen, const mrx_view *v, const mrx_ledger_head *h,
             const mrx_view *w)
{
    int same_node = strcmp(mrx_view_node(v), mrx_view_node(w)) == 0;
    time_t later = mrx_view_time(w) > mrx_view_time(v) ? mrx_view_time(w) : mrx_view_time(v);
    const mrx_ledger_head *k = NULL, *earlier, *then;
    char told[2 * MRX_FPR_LEN + 64];

    for (size_t g = 0; g < mrx_view_feed_count(w) && !k; g++)
        if (strcmp(mrx_view_feed(w, g)->fpr, h->fpr) == 0)
            k = mrx_view_feed(w, g);
    if (k && k->events == h->events && strcmp(k->commit, h->commit) != 0) {
        snprintf(told, sizeof told, "views by %.16s and %.16s", mrx_view_node(v),
                 mrx_view_node(w));
        return fork_line(b, seen, h->fpr, h->events, h->commit, k->commit, later, told);
    }
    if (!same_node || mrx_view_time(v) == mrx_view_time(w))
        return 0;
    /* views are listed by node, then time: without k, v is the earlier */
    if (!k)
        return mrx_view_time(v) < mrx_view_time(w)
                   ? backwards_line(b, mrx_view_node(v), later,
                                    "its later signed view no longer shows feed %.16s, which "
                                    "its earlier one showed with %llu events: it went backwards",
                                    h->fpr, (unsigned long long)h->events)
                   : 0;
    earlier = mrx_view_time(v) < mrx_view_time(w) ? h : k;
    then = earlier == h ? k : h;
    if (then->events >= earlier->events)
        return 0;
    return backwards_line(b, mrx_view_node(v), later,
                          "its later signed view holds fewer events of feed %.16s than its "
                          "earlier one (%llu, then %llu): it went backwards",
                          h->fpr, (unsigned long long)earlier->events,
                          (unsigned long long)then->events);
}

/* Signed views: two that cannot both be true (a fork of a feed, whoever
 * shows it; a node whose later view holds less than its earlier one), or
 * one at odds with what this node holds; and nodes of the case that
 * stopped sending them. */
static int
read_views(builder *b, mrx_ledger *ledger, mrx_node *node, const char *case_dir)
{
    const char *me = mrx_node_config(node)->fpr;
    mrx_audit *a = b->audit;
    mrx_ledger_head *ours = NULL;
    mrx_view **views = NULL;
    zhashx_t *seen = NULL;
    size_t n = 0, n_ours = 0;
    char told[2 * MRX_FPR_LEN + 64];
    int rc;

    if ((rc = mrx_view_list(&views, &n, mrx_node_pgp(node), case_dir)) < 0)
        return rc;
    if ((rc = mrx_ledger_heads(ledger, &ours, &n_ours)) < 0)
        goto out;
    if (!(seen = zhashx_new())) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const mrx_view *v = views[i];
        for (size_t f = 0; f < mrx_view_feed_count(v) && rc == 0; f++) {
            const mrx_ledger_head *h = mrx_view_feed(v, f);
            for (size_t j = i + 1; j < n && rc == 0; j++)
                rc = compare_feed(b, seen, v, h, views[j]);
            /* against what this node holds: as many events, another end */
            for (size_t k = 0; k < n_ours && rc == 0; k++)
                if (strcmp(ours[k].fpr, h->fpr) == 0 && ours[k].events == h->events &&
                    strcmp(ours[k].commit, h->commit) != 0) {
                    snprintf(told, sizeof told, "a view by %.16s, and this node's ledger",
                             mrx_view_node(v));
                    rc = fork_line(b, seen, h->fpr, h->events, h->commit, ours[k].commit,
                                   mrx_view_time(v), told);
                }
        }
    }
    if (rc < 0)
        goto out;
    /* silence: the owner and every active member but this node */
    for (size_t i = 0; i <= mrx_case_member_count(b->c); i++) {
        const mrx_member *m = i ? mrx_case_member_at(b->c, i - 1) : NULL;
        const char *who = m ? m->fpr : a->owner;
        time_t last = 0, since = m ? m->since : 0;
        mrx_audit_line *l;
        char when[MRX_TIME_LEN + 1];
        if (strcmp(who, me) == 0 || (m && !m->active))
            continue;
        if (!m) /* the owner is in the case from its first event */
            for (size_t e = 0; e < a->n; e++)
                if (a->lines[e].kind == MRX_AUDIT_EVENT && (!since || a->lines[e].time < since))
                    since = a->lines[e].time;
        for (size_t v = 0; v < n; v++)
            if (strcmp(mrx_view_node(views[v]), who) == 0 && mrx_view_time(views[v]) > last)
                last = mrx_view_time(views[v]);
        if (a->at - (last ? last : since) <= a->report_interval)
            continue;
        if (!(l = new_line(b, MRX_AUDIT_SILENT, a->at, who))) {
            rc = MRX_ENOMEM;
            goto out;
        }
        if (last) {
            mrx_text_format_time(when, last);
            flag(l, MRX_AUDIT_STOPPED, "has sent no signed view since %s (the limit is %ld s)",
                 when, a->report_interval);
        } else
            flag(l, MRX_AUDIT_STOPPED, "has never sent a signed view (the limit is %ld s)",
                 a->report_interval);
    }
out:
    zhashx_destroy(&seen);
    free(ours);
    mrx_view_list_destroy(&views, n);
    return rc;
}

static int
by_time(const void *x, const void *y)
{
    const mrx_audit_line *a = x, *b = y;
    int c;

    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    /* within a second, the asking before what answered it */
    if ((a->kind == MRX_AUDIT_REQUEST) != (b->kind == MRX_AUDIT_REQUEST))
        return a->kind == MRX_AUDIT_REQUEST ? -1 : 1;
    if ((c = strcmp(a->who, b->who)) != 0)
        return c;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int
mrx_audit_make(mrx_audit **out, mrx_ledger *ledger, mrx_node *node, time_t now,
               long report_interval)
{
    builder b;
    char *case_dir = NULL;
    int rc;

    *out = NULL;
    memset(&b, 0, sizeof b);
    if (!(b.audit = calloc(1, sizeof *b.audit)) ||
        !(case_dir = mrx_fs_join(mrx_node_cases(node), mrx_ledger_case_id(ledger)))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(b.audit->case_id, sizeof b.audit->case_id, "%s", mrx_ledger_case_id(ledger));
    snprintf(b.audit->owner, sizeof b.audit->owner, "%s", mrx_ledger_owner(ledger));
    b.audit->at = now;
    b.audit->report_interval = report_interval;
    b.ledger = ledger;
    b.pgp = mrx_node_pgp(node);
    /* the owner's feed says who is in the case: without it, nothing can
     * be judged */
    if ((rc = mrx_case_load(&b.c, ledger, mrx_node_pgp(node))) < 0) {
        mrx_error_wrap(rc, "case %.16s: the patient's feed does not verify",
                       mrx_ledger_case_id(ledger));
        goto out;
    }
    if ((rc = read_feeds(&b, ledger, mrx_node_pgp(node))) < 0 || (rc = join_bundles(&b)) < 0 ||
        (rc = read_evidence(&b)) < 0 || (rc = read_views(&b, ledger, node, case_dir)) < 0)
        goto out;
    if (b.audit->n)
        qsort(b.audit->lines, b.audit->n, sizeof *b.audit->lines, by_time);
    for (size_t i = 0; i < b.audit->n; i++)
        if (b.audit->lines[i].flags)
            b.audit->flagged++;
    *out = b.audit;
    b.audit = NULL;
out:
    mrx_audit_destroy(&b.audit);
    mrx_case_destroy(&b.c);
    free(case_dir);
    return rc;
}

void
mrx_audit_destroy(mrx_audit **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->lines);
    free(*self_p);
    *self_p = NULL;
}

const char *
mrx_audit_kind_name(mrx_audit_kind kind)
{
    switch (kind) {
    case MRX_AUDIT_EVENT:
        return "event";
    case MRX_AUDIT_BAD_FEED:
        return "bad-feed";
    case MRX_AUDIT_REFUSED:
        return "refused-history";
    case MRX_AUDIT_SPLIT_VIEW:
        return "split-view";
    case MRX_AUDIT_SILENT:
        return "silent";
    case MRX_AUDIT_REQUEST:
        return "request";
    }
    return "?";
}

const char *
mrx_audit_flag_name(unsigned bit)
{
    switch (bit) {
    case MRX_AUDIT_BAD_SIGNATURE:
        return "bad-signature";
    case MRX_AUDIT_NOT_MEMBER:
        return "not-a-member";
    case MRX_AUDIT_AFTER_REVOCATION:
        return "after-revocation";
    case MRX_AUDIT_NOT_FETCHED:
        return "served-not-fetched";
    case MRX_AUDIT_NOT_SERVED:
        return "fetched-not-served";
    case MRX_AUDIT_REWRITTEN:
        return "rewritten";
    case MRX_AUDIT_SPLIT:
        return "split-view";
    case MRX_AUDIT_STOPPED:
        return "stopped-reporting";
    case MRX_AUDIT_UNWITNESSED:
        return "unwitnessed";
    case MRX_AUDIT_FORGED:
        return "forged";
    }
    return "?";
}

const char *
mrx_audit_standing_name(mrx_audit_standing standing)
{
    switch (standing) {
    case MRX_AUDIT_ROLE_NONE:
        return "none";
    case MRX_AUDIT_ROLE_OWNER:
        return "owner";
    case MRX_AUDIT_ROLE_MEMBER:
        return "member";
    case MRX_AUDIT_ROLE_REVOKED:
        return "revoked";
    }
    return "?";
}

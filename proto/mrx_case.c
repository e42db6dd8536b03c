/*
 * mrx_case: membership as the fold of the owner's feed.
 */
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMBERS_MAX 1024

struct mrx_case {
    mrx_ledger *ledger;       /* borrowed */
    char owner[MRX_FPR_LEN + 1];
    mrx_member *members;      /* everyone ever added */
    size_t n;
};

void
mrx_case_destroy(mrx_case **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->members);
    free(*self_p);
    *self_p = NULL;
}

static mrx_member *
find(mrx_case *self, const char *fpr)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->members[i].fpr, fpr) == 0)
            return &self->members[i];
    return NULL;
}

/* Apply one event of the owner's feed. */
static int
fold(void *arg, const mrx_event *ev, const char *commit)
{
    mrx_case *self = arg;
    mrx_member *m;

    switch (ev->type) {
    case MRX_EV_MEMBER_ADDED:
        if ((m = find(self, ev->member)) && m->n_spans == MRX_MEMBER_SPANS_MAX)
            return mrx_error_set(MRX_ELIMIT, "member %s added more than %d times", ev->member,
                                 MRX_MEMBER_SPANS_MAX);
        if (!m) {
            mrx_member *grown;
            if (self->n == MEMBERS_MAX)
                return mrx_error_set(MRX_ELIMIT, "case has more than %d members", MEMBERS_MAX);
            if (!(grown = realloc(self->members, (self->n + 1) * sizeof *grown)))
                return mrx_error_set(MRX_ENOMEM, "out of memory");
            self->members = grown;
            m = &self->members[self->n++];
            memset(m, 0, sizeof *m);
            strcpy(m->fpr, ev->member);
        }
        /* a new role ends the span of the old one */
        if (m->n_spans && m->spans[m->n_spans - 1].until == 0)
            m->spans[m->n_spans - 1].until = ev->time;
        m->spans[m->n_spans].from = ev->time;
        m->spans[m->n_spans].until = 0;
        m->spans[m->n_spans].role = ev->role;
        m->n_spans++;
        m->role = ev->role;
        m->active = 1;
        m->since = ev->time;
        m->until = 0;
        strcpy(m->commit, commit);
        break;
    case MRX_EV_MEMBER_REMOVED:
        if ((m = find(self, ev->member)) && m->active) {
            m->active = 0;
            m->until = ev->time;
            m->spans[m->n_spans - 1].until = ev->time;
        }
        break;
    default:
        break;
    }
    return 0;
}

int
mrx_case_load(mrx_case **out, mrx_ledger *ledger, mrx_pgp *pgp)
{
    mrx_case *self = calloc(1, sizeof *self);
    int rc;

    *out = NULL;
    if (!self)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    self->ledger = ledger;
    strcpy(self->owner, mrx_ledger_owner(ledger));
    if ((rc = mrx_ledger_read_feed(ledger, pgp, self->owner, fold, self)) < 0) {
        mrx_error_wrap(rc, "case %.16s: the owner's feed", mrx_ledger_case_id(ledger));
        mrx_case_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

size_t
mrx_case_member_count(const mrx_case *self)
{
    return self->n;
}

const mrx_member *
mrx_case_member_at(const mrx_case *self, size_t i)
{
    return i < self->n ? &self->members[i] : NULL;
}

const mrx_member *
mrx_case_member(const mrx_case *self, const char *fpr)
{
    return find((mrx_case *)self, fpr);
}

/* What a member of role may write. */
static int
role_may_write(mrx_member_role role, mrx_event_type type, mrx_kind kind)
{
    switch (type) {
    case MRX_EV_CASE_CREATED:
    case MRX_EV_MEMBER_ADDED:
    case MRX_EV_MEMBER_REMOVED:
        return mrx_error_set(MRX_EDENIED, "only the case's owner writes %s",
                             mrx_event_type_name(type));
    case MRX_EV_BUNDLE_ADDED:
        if (role == MRX_MEMBER_CONTRIBUTOR)
            return 0;
        if (role == MRX_MEMBER_REVIEWER && kind == MRX_KIND_OPINION)
            return 0;
        return mrx_error_set(MRX_EDENIED, "a %s may not add %s bundles",
                             mrx_member_role_name(role), mrx_kind_name(kind));
    case MRX_EV_BUNDLE_OPENED:
        if (role == MRX_MEMBER_RELAY)
            return mrx_error_set(MRX_EDENIED, "a relay never opens bundles");
        return 0;
    case MRX_EV_BUNDLE_WITHDRAWN:
    case MRX_EV_BUNDLE_SERVED:
    case MRX_EV_BUNDLE_FETCHED:
        return 0;
    }
    return mrx_error_set(MRX_EDENIED, "unknown event type");
}

int
mrx_case_may_write(const mrx_case *self, const char *author, mrx_event_type type,
                   mrx_kind kind)
{
    const mrx_member *m;

    if (strcmp(author, self->owner) == 0)
        return type == MRX_EV_CASE_CREATED
                   ? mrx_error_set(MRX_EDENIED, "a case is created once")
                   : 0;
    m = mrx_case_member(self, author);
    if (!m || !m->active)
        return mrx_error_set(MRX_EDENIED, "%s is %s a member of case %.16s", author,
                             m ? "no longer" : "not", mrx_ledger_case_id(self->ledger));
    return role_may_write(m->role, type, kind);
}

int
mrx_case_may_write_at(const mrx_case *self, const char *author, mrx_event_type type,
                      mrx_kind kind, time_t at)
{
    const mrx_member *m;

    if (strcmp(author, self->owner) == 0)
        return 0; /* the owner's feed is checked as the ledger itself */
    if (!(m = mrx_case_member(self, author)))
        return mrx_error_set(MRX_EDENIED, "%s was never a member of the case", author);
    for (size_t i = 0; i < m->n_spans; i++)
        if (m->spans[i].from <= at && (m->spans[i].until == 0 || at < m->spans[i].until))
            return role_may_write(m->spans[i].role, type, kind);
    return mrx_error_set(MRX_EDENIED, "%s was not a member at that time", author);
}

static void
add_reader(char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1], size_t *n, const char *fpr)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(readers[i], fpr) == 0)
            return;
    strcpy(readers[(*n)++], fpr);
}

int
mrx_case_readers(const mrx_case *self, const char *author,
                 char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1], size_t *n)
{
    *n = 0;
    add_reader(readers, n, author);
    add_reader(readers, n, self->owner);
    for (size_t i = 0; i < self->n; i++) {
        const mrx_member *m = &self->members[i];
        if (!m->active || m->role != MRX_MEMBER_REVIEWER)
            continue;
        if (*n == MRX_EVENT_READERS_MAX)
            return mrx_error_set(MRX_ELIMIT, "more than %d readers", MRX_EVENT_READERS_MAX);
        add_reader(readers, n, m->fpr);
    }
    return 0;
}

int
mrx_case_import_member_keys(mrx_case *self, mrx_node *node)
{
    for (size_t i = 0; i < self->n; i++) {
        const mrx_member *m = &self->members[i];
        mrx_cert *cert = NULL;
        char *text = NULL;
        size_t len = 0;
        int rc;

        if (mrx_node_knows(node, m->fpr))
            continue;
        if ((rc = mrx_ledger_certificate(self->ledger, m->commit, &text, &len)) == 0 &&
            (rc = mrx_node_peer_add(node, &cert, text, len)) == 0 &&
            strcmp(mrx_cert_fpr(cert), m->fpr) != 0)
            rc = mrx_error_set(MRX_EDENIED, "the certificate names key %s", mrx_cert_fpr(cert));
        mrx_cert_destroy(&cert);
        free(text);
        if (rc < 0)
            return mrx_error_wrap(rc, "member %s", m->fpr);
    }
    return 0;
}

/* True if fpr had been made a reviewer by time at: a reader another member
 * may name, even if it has not yet seen a later removal. */
static int
reviewer_by(const mrx_case *self, const char *fpr, time_t at)
{
    const mrx_member *m = mrx_case_member(self, fpr);

    if (!m)
        return 0;
    for (size_t i = 0; i < m->n_spans; i++)
        if (m->spans[i].role == MRX_MEMBER_REVIEWER && m->spans[i].from <= at)
            return 1;
    return 0;
}

/* Who added which bundle, across the case: a bundle id is added once, and
 * withdrawn only by whoever added it or the owner. */
struct claims {
    char (*bundle)[MRX_SHA256_HEX_LEN + 1];
    char (*author)[MRX_FPR_LEN + 1];
    size_t n, cap;
    size_t kept;  /* claims of feeds taken whole; the rest are a feed's in progress */
};

static const char *
claimed_by(const struct claims *cl, const char *bundle)
{
    for (size_t i = 0; i < cl->n; i++)
        if (strcmp(cl->bundle[i], bundle) == 0)
            return cl->author[i];
    return NULL;
}

static int
claim(struct claims *cl, const char *bundle, const char *author)
{
    if (cl->n == cl->cap) {
        size_t cap = cl->cap ? cl->cap * 2 : 64;
        void *b = realloc(cl->bundle, cap * sizeof *cl->bundle);
        if (b)
            cl->bundle = b;
        void *a = b ? realloc(cl->author, cap * sizeof *cl->author) : NULL;
        if (!b || !a)
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        cl->author = a;
        cl->cap = cap;
    }
    strcpy(cl->bundle[cl->n], bundle);
    strcpy(cl->author[cl->n], author);
    cl->n++;
    return 0;
}

static int
collect_claims(void *arg, const mrx_event *ev, const char *commit)
{
    (void)commit;
    return ev->type == MRX_EV_BUNDLE_ADDED ? claim(arg, ev->bundle, ev->author) : 0;
}

struct judge {
    mrx_case *c;
    struct claims claims;
};

/* Whether an event from elsewhere was its author's to write. */
static int
entitled(void *arg, const mrx_event *ev)
{
    struct judge *j = arg;
    const char *owner = j->c->owner, *by;
    int rc, has_author = 0, has_owner = 0;

    if ((rc = mrx_case_may_write_at(j->c, ev->author, ev->type, ev->kind, ev->time)) < 0)
        return rc;
    switch (ev->type) {
    case MRX_EV_BUNDLE_ADDED:
        if ((by = claimed_by(&j->claims, ev->bundle)))
            return mrx_error_set(MRX_EDENIED, "bundle %.16s was already added by %s", ev->bundle,
                                 by);
        for (size_t i = 0; i < ev->n_readers; i++) {
            const char *r = ev->readers[i];
            has_author |= strcmp(r, ev->author) == 0;
            has_owner |= strcmp(r, owner) == 0;
            if (strcmp(r, ev->author) != 0 && strcmp(r, owner) != 0 &&
                !reviewer_by(j->c, r, ev->time))
                return mrx_error_set(MRX_EDENIED, "bundle %.16s names reader %s, who is not "
                                                  "a reviewer of the case",
                                     ev->bundle, r);
        }
        if (!has_author || !has_owner)
            return mrx_error_set(MRX_EDENIED, "bundle %.16s is not for its author and the owner",
                                 ev->bundle);
        return claim(&j->claims, ev->bundle, ev->author);
    case MRX_EV_BUNDLE_WITHDRAWN:
        by = claimed_by(&j->claims, ev->bundle);
        if (strcmp(ev->author, owner) != 0 && (!by || strcmp(by, ev->author) != 0))
            return mrx_error_set(MRX_EDENIED, "bundle %.16s is withdrawn only by whoever added "
                                              "it or the owner",
                                 ev->bundle);
        return 0;
    default:
        return 0;
    }
}

int
mrx_case_ingest(mrx_ledger *ledger, mrx_node *node, const char *source_git_dir, const char *from,
                char **report)
{
    char (*feeds)[MRX_FPR_LEN + 1] = NULL, (*ours)[MRX_FPR_LEN + 1] = NULL;
    const char *owner = mrx_ledger_owner(ledger);
    mrx_pgp *pgp = mrx_node_pgp(node);
    struct judge j;
    size_t n = 0, n_ours = 0, added;
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = NULL;
    int rc, first = 0;

    *report = NULL;
    memset(&j, 0, sizeof j);
    if ((rc = mrx_ledger_source_feeds(source_git_dir, &feeds, &n)) < 0)
        return rc;
    if (!(f = open_memstream(&text, &text_len))) {
        free(feeds);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    /* the owner's feed first: it says who the members are */
    rc = mrx_ledger_ingest_feed(ledger, pgp, source_git_dir, owner, from, NULL, NULL, &added);
    if (rc < 0) {
        fprintf(f, "feed %s (owner): refused: %s\n", owner, mrx_error_last());
        first = rc;
    } else if (added) {
        fprintf(f, "feed %s (owner): %zu event%s added\n", owner, added, added == 1 ? "" : "s");
    }
    if ((rc = mrx_case_load(&j.c, ledger, pgp)) < 0) {
        first = first ? first : rc;
        fprintf(f, "case: %s\n", mrx_error_last());
        goto out;
    }
    /* a member whose key cannot be had will have its feed refused below */
    if (mrx_case_import_member_keys(j.c, node) < 0)
        fprintf(f, "members: %s\n", mrx_error_last());
    /* what the case already holds: who added which bundle */
    if ((rc = mrx_ledger_feeds(ledger, &ours, &n_ours)) < 0) {
        first = first ? first : rc;
        goto out;
    }
    for (size_t i = 0; i < n_ours; i++)
        if (mrx_ledger_read_feed(ledger, pgp, ours[i], collect_claims, &j.claims) < 0)
            fprintf(f, "feed %s: held here but does not verify: %s\n", ours[i],
                    mrx_error_last());
    j.claims.kept = j.claims.n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(feeds[i], owner) == 0)
            continue;
        rc = mrx_ledger_ingest_feed(ledger, pgp, source_git_dir, feeds[i], from, entitled, &j,
                                    &added);
        if (rc < 0) {
            j.claims.n = j.claims.kept; /* forget the claims of a refused feed */
            fprintf(f, "feed %s: refused: %s\n", feeds[i], mrx_error_last());
            if (!first)
                first = rc;
        } else {
            j.claims.kept = j.claims.n;
            if (added)
                fprintf(f, "feed %s: %zu event%s added\n", feeds[i], added,
                        added == 1 ? "" : "s");
        }
    }
out:
    fclose(f);
    free(j.claims.bundle);
    free(j.claims.author);
    mrx_case_destroy(&j.c);
    free(feeds);
    free(ours);
    *report = text;
    if (first < 0) {
        /* the message names the first refusal; the report has them all */
        const char *nl = text ? strchr(text, '\n') : NULL;
        return mrx_error_set(first, "%.*s", nl ? (int)(nl - text) : 0, text ? text : "");
    }
    return 0;
}

int
mrx_case_ids(mrx_node *node, char (**out)[MRX_SHA256_HEX_LEN + 1], size_t *n)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    struct dirent *de;
    size_t count = 0;
    DIR *dir;

    *out = NULL;
    *n = 0;
    if (!(dir = opendir(mrx_node_cases(node))))
        return 0; /* no case yet */
    while ((de = readdir(dir))) {
        char (*grown)[MRX_SHA256_HEX_LEN + 1];
        if (!mrx_sha256_hex_valid(de->d_name))
            continue;
        if (!(grown = realloc(ids, (count + 1) * sizeof *ids))) {
            closedir(dir);
            free(ids);
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        }
        ids = grown;
        strcpy(ids[count++], de->d_name);
    }
    closedir(dir);
    if (count)
        qsort(ids, count, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    *out = ids;
    *n = count;
    return 0;
}

int
mrx_case_resolve(char id[MRX_SHA256_HEX_LEN + 1], mrx_node *node, const char *arg)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    size_t n = 0, found = 0, len = strlen(arg);
    int rc;

    if (!mrx_text_is_id_prefix(arg))
        return mrx_error_set(MRX_EINVAL, "\"%.70s\" is not a case id (at least %d lowercase hex "
                                         "digits)",
                             arg, MRX_ID_PREFIX_MIN);
    if ((rc = mrx_case_ids(node, &ids, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strncmp(ids[i], arg, len) == 0 && found++ == 0)
            memcpy(id, ids[i], MRX_SHA256_HEX_LEN + 1);
    free(ids);
    if (found == 0)
        return mrx_error_set(MRX_ENOTFOUND, "case %s: not on this node", arg);
    if (found > 1)
        return mrx_error_set(MRX_EINVAL, "case %s: ambiguous, give more digits", arg);
    return 0;
}

int
mrx_case_open_ledger(mrx_ledger **out, mrx_node *node, const char *id)
{
    char *dir = mrx_fs_join(mrx_node_cases(node), id);
    int rc;

    *out = NULL;
    if (!dir)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = access(dir, F_OK) == 0 ? mrx_ledger_open(out, dir)
                                : mrx_error_set(MRX_ENOTFOUND, "case %.12s: not on this node", id);
    free(dir);
    return rc;
}

/* Collects bundle-added and bundle-withdrawn across feeds. */
struct bundle_list {
    mrx_event *added;   /* bundle-added events, in the order read */
    size_t n, cap;
    char (*gone)[MRX_SHA256_HEX_LEN + 1]; /* withdrawn bundle ids */
    size_t n_gone, cap_gone;
};

static int
collect_bundle(void *arg, const mrx_event *ev, const char *commit)
{
    struct bundle_list *l = arg;

    (void)commit;
    if (ev->type == MRX_EV_BUNDLE_ADDED) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 16;
            mrx_event *grown = realloc(l->added, cap * sizeof *grown);
            if (!grown)
                return mrx_error_set(MRX_ENOMEM, "out of memory");
            l->added = grown;
            l->cap = cap;
        }
        l->added[l->n++] = *ev;
    } else if (ev->type == MRX_EV_BUNDLE_WITHDRAWN) {
        if (l->n_gone == l->cap_gone) {
            size_t cap = l->cap_gone ? 2 * l->cap_gone : 16;
            char(*grown)[MRX_SHA256_HEX_LEN + 1] = realloc(l->gone, cap * sizeof *grown);
            if (!grown)
                return mrx_error_set(MRX_ENOMEM, "out of memory");
            l->gone = grown;
            l->cap_gone = cap;
        }
        strcpy(l->gone[l->n_gone++], ev->bundle);
    }
    return 0;
}

int
mrx_case_bundles(mrx_ledger *ledger, mrx_pgp *pgp, mrx_event **out, size_t *n,
                 size_t *bad_feeds)
{
    char (*feeds)[MRX_FPR_LEN + 1] = NULL;
    struct bundle_list l;
    size_t n_feeds = 0, kept = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (bad_feeds)
        *bad_feeds = 0;
    memset(&l, 0, sizeof l);
    if ((rc = mrx_ledger_feeds(ledger, &feeds, &n_feeds)) < 0)
        return rc;
    for (size_t i = 0; i < n_feeds; i++) {
        size_t n_before = l.n, gone_before = l.n_gone;
        if ((rc = mrx_ledger_read_feed(ledger, pgp, feeds[i], collect_bundle, &l)) == MRX_ENOMEM)
            goto out;
        if (rc < 0) {
            /* only verified events count: a feed that does not verify
             * names nothing */
            l.n = n_before;
            l.n_gone = gone_before;
            if (bad_feeds)
                (*bad_feeds)++;
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        int withdrawn = 0;
        for (size_t j = 0; j < l.n_gone && !withdrawn; j++)
            withdrawn = strcmp(l.gone[j], l.added[i].bundle) == 0;
        if (!withdrawn)
            l.added[kept++] = l.added[i];
    }
    *out = l.added;
    *n = kept;
    l.added = NULL;
    rc = 0;
out:
    free(l.added);
    free(l.gone);
    free(feeds);
    return rc;
}

int
mrx_case_may_hold(const mrx_case *self, const char *fpr, const mrx_event *added)
{
    const mrx_member *m;

    if (strcmp(fpr, self->owner) == 0)
        return 1;
    for (size_t i = 0; i < added->n_readers; i++)
        if (strcmp(added->readers[i], fpr) == 0)
            return 1;
    m = mrx_case_member(self, fpr);
    return m && m->active && m->role == MRX_MEMBER_RELAY;
}

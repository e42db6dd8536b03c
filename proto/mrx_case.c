/*
 * mrx_case: membership as the fold of the owner's feed.
 */
#include "mrx_case.h"
#include "mrx_error.h"

#include <stdlib.h>
#include <string.h>

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
        if (!(m = find(self, ev->member))) {
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
    switch (type) {
    case MRX_EV_CASE_CREATED:
    case MRX_EV_MEMBER_ADDED:
    case MRX_EV_MEMBER_REMOVED:
        return mrx_error_set(MRX_EDENIED, "only the case's owner grants and revokes");
    case MRX_EV_BUNDLE_ADDED:
        if (m->role == MRX_MEMBER_CONTRIBUTOR)
            return 0;
        if (m->role == MRX_MEMBER_REVIEWER && kind == MRX_KIND_OPINION)
            return 0;
        return mrx_error_set(MRX_EDENIED, "a %s may not add %s bundles",
                             mrx_member_role_name(m->role), mrx_kind_name(kind));
    case MRX_EV_BUNDLE_OPENED:
        if (m->role == MRX_MEMBER_RELAY)
            return mrx_error_set(MRX_EDENIED, "a relay never opens bundles");
        return 0;
    case MRX_EV_BUNDLE_WITHDRAWN:
    case MRX_EV_BUNDLE_SERVED:
    case MRX_EV_BUNDLE_FETCHED:
        return 0;
    }
    return mrx_error_set(MRX_EDENIED, "unknown event type");
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

/*
 * mrx_case: what a case's ledger means. The members and their roles are
 * the fold of the owner's feed, and nothing else grants anything; from
 * them follow who may write which event and whom a new bundle is
 * encrypted to (always its author and the owner, every reviewer, never a
 * relay).
 */
#ifndef MRX_CASE_H
#define MRX_CASE_H

#include <stddef.h>
#include <time.h>

#include "mrx_ledger.h"

typedef struct mrx_member {
    char fpr[MRX_FPR_LEN + 1];          /* the member's key */
    mrx_member_role role;               /* its role since it was last added */
    int active;                         /* not removed since */
    time_t since;                       /* when it was last added */
    time_t until;                       /* when it was removed (0 while active) */
    char commit[MRX_COMMIT_HEX_LEN + 1]; /* the member-added event holding its certificate */
} mrx_member;

typedef struct mrx_case mrx_case;

/* Read and verify the owner's feed of ledger (keys from pgp) and fold it. */
int mrx_case_load(mrx_case **out, mrx_ledger *ledger, mrx_pgp *pgp);
void mrx_case_destroy(mrx_case **self_p);

/* Everyone ever added, in the order first added (borrowed). */
size_t mrx_case_member_count(const mrx_case *self);
const mrx_member *mrx_case_member_at(const mrx_case *self, size_t i);
/* The member with key fpr, or NULL if it was never added. */
const mrx_member *mrx_case_member(const mrx_case *self, const char *fpr);

/* Whether author may now write an event of type (for bundle-added, of
 * kind); MRX_EDENIED with the reason if not. */
int mrx_case_may_write(const mrx_case *self, const char *author, mrx_event_type type,
                       mrx_kind kind);

/* Whom a bundle author adds now is encrypted to: the author, the owner
 * and every active reviewer, each once; never a relay. */
int mrx_case_readers(const mrx_case *self, const char *author,
                     char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1], size_t *n);

#endif

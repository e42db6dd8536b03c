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
#include "mrx_node.h"

#define MRX_MEMBER_SPANS_MAX 64 /* times one key may be (re-)added */

/* One stretch of membership: from a member-added to what ended it. */
typedef struct mrx_member_span {
    time_t from;          /* member-added */
    time_t until;         /* the next member-added or member-removed; 0 while it lasts */
    mrx_member_role role; /* the role it gave */
} mrx_member_span;

typedef struct mrx_member {
    char fpr[MRX_FPR_LEN + 1];          /* the member's key */
    mrx_member_role role;               /* its role since it was last added */
    int active;                         /* not removed since */
    time_t since;                       /* when it was last added */
    time_t until;                       /* when it was removed (0 while active) */
    char commit[MRX_COMMIT_HEX_LEN + 1]; /* the member-added event holding its certificate */
    mrx_member_span spans[MRX_MEMBER_SPANS_MAX]; /* its whole history */
    size_t n_spans;
} mrx_member;

typedef struct mrx_case mrx_case;

/* The ids of the cases in node's cases folder, sorted; *out malloc'd. */
int mrx_case_ids(mrx_node *node, char (**out)[MRX_SHA256_HEX_LEN + 1], size_t *n);

/* The full id of the case on node that arg names: its id or a unique
 * prefix of it (MRX_ENOTFOUND, or MRX_EINVAL if malformed or ambiguous). */
int mrx_case_resolve(char id[MRX_SHA256_HEX_LEN + 1], mrx_node *node, const char *arg);

/* Open the ledger of case id on node; MRX_ENOTFOUND if it holds none. */
int mrx_case_open_ledger(mrx_ledger **out, mrx_node *node, const char *id);

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

/* Whether author was entitled to write an event of type (and kind) at
 * time, by the membership of that moment. */
int mrx_case_may_write_at(const mrx_case *self, const char *author, mrx_event_type type,
                          mrx_kind kind, time_t at);

/* Ingest, for node, what the ledger copy at source_git_dir holds and this
 * one lacks:
 * the owner's feed first, then every other feed against the membership it
 * establishes. Each feed is taken whole or not at all (see
 * mrx_ledger_ingest_feed); report receives one line per feed that changed
 * or was refused. Returns the first refusal's code, after trying all. */
int mrx_case_ingest(mrx_ledger *ledger, mrx_node *node, const char *source_git_dir, const char *from,
                    char **report);

/* Make sure node can encrypt to and verify every member: a key it lacks
 * is imported, with every check of mrx peer add, from the certificate the
 * owner stored with the member's member-added event. */
int mrx_case_import_member_keys(mrx_case *self, mrx_node *node);

/* Whom a bundle author adds now is encrypted to: the author, the owner
 * and every active reviewer, each once; never a relay. */
int mrx_case_readers(const mrx_case *self, const char *author,
                     char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1], size_t *n);

/* The bundles of the case: every bundle-added of every feed that
 * verifies, less those withdrawn, in feed order; *out malloc'd. A feed
 * that does not verify adds nothing (and *bad_feeds counts it, if given). */
int mrx_case_bundles(mrx_ledger *ledger, mrx_pgp *pgp, mrx_event **out, size_t *n,
                     size_t *bad_feeds);

/* Whether fpr may hold the bundle that added names: its readers, the
 * owner, and an active relay (ciphertext it stores and passes on). */
int mrx_case_may_hold(const mrx_case *self, const char *fpr, const mrx_event *added);

#endif

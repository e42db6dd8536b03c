/*
 * mrx_view: a node's signed view of a case, the statement "at this time I
 * hold these feed heads", clear-signed with OpenPGP so that `gpg --verify`
 * checks it. Nodes pass views on; two views that cannot both be true show
 * a node (or an author) presenting different histories to different
 * peers, and the case folder keeps them as evidence for the audit.
 * Format and storage: docs/views.md.
 */
#ifndef MRX_VIEW_H
#define MRX_VIEW_H

#include <stddef.h>
#include <time.h>

#include "mrx_ledger.h"
#include "mrx_pgp.h"

#define MRX_VIEW_MAX (64 * 1024)        /* bytes of a view's body (the signed text) */
#define MRX_VIEW_SIGNED_MAX (80 * 1024) /* bytes of a clear-signed view, as sent */
#define MRX_VIEW_FEEDS_MAX 256          /* feeds in one view (as in HEADS-OK) */
#define MRX_VIEW_CONFLICTS_MAX 64       /* evidence files kept per signer */

typedef struct mrx_view mrx_view;

/* Sign a view of the ledger's heads as signer (whose secret key pgp
 * holds), dated now. *out is malloc'd and NUL-terminated; caller frees. */
int mrx_view_make(char **out, size_t *len, mrx_ledger *ledger, mrx_pgp *pgp, const char *signer,
                  time_t now);

/* Check a clear-signed view: exactly one good signature by a key in pgp,
 * which must be the view's node, over a body that follows the format to
 * the letter, and nothing before or after the signed message. *out is
 * freed with mrx_view_destroy. */
int mrx_view_parse(mrx_view **out, mrx_pgp *pgp, const char *text, size_t len);

void mrx_view_destroy(mrx_view **self_p);

/* The view's fields (borrowed from the view). */
const char *mrx_view_case_id(const mrx_view *self);
const char *mrx_view_node(const mrx_view *self);
time_t mrx_view_time(const mrx_view *self);
size_t mrx_view_feed_count(const mrx_view *self);
/* Feed i (0 <= i < count, sorted by author), or NULL past the end. */
const mrx_ledger_head *mrx_view_feed(const mrx_view *self, size_t i);
/* The clear-signed text as received; len may be NULL. */
const char *mrx_view_text(const mrx_view *self, size_t *len);

/* 1 if a and b, views of one case, cannot both be true, whatever the
 * ledger holds: they show one feed with the same number of events but
 * different heads (a fork), or the later of two views by the same node
 * holds fewer events of a feed than the earlier (it went backwards).
 * Then *why (if why is not NULL) gets a malloc'd one-line reason the
 * caller frees. 0 (and *why NULL) otherwise; negative on failure. */
int mrx_view_contradicts(const mrx_view *a, const mrx_view *b, char **why);

/* What mrx_view_keep did: bits of *kept, 0 if nothing changed. */
enum {
    MRX_VIEW_KEPT_LATEST = 1,   /* it is now its node's latest view */
    MRX_VIEW_KEPT_EVIDENCE = 2, /* it contradicts the kept one: both are evidence */
    MRX_VIEW_KEPT_FULL = 4,     /* evidence not stored: the node's conflicts are full */
};

/* Keep view in the case folder case_dir (cases/<its case id>): it
 * becomes views/<NODE>.view if it is newer than the one kept there (read
 * back and verified with pgp). A view dated more than a day ahead of our
 * clock is refused. If it contradicts the kept one, both go to
 * views/conflicts/ (never overwritten; MRX_VIEW_CONFLICTS_MAX per node)
 * and *why (if why is not NULL) gets the reason, malloc'd. */
int mrx_view_keep(int *kept, char **why, mrx_pgp *pgp, const char *case_dir, const mrx_view *view);

/* The latest view of node kept in case_dir, verified again;
 * MRX_ENOTFOUND if there is none. */
int mrx_view_load(mrx_view **out, mrx_pgp *pgp, const char *case_dir, const char *node);

/* Every view kept in case_dir, latest and evidence, each signed text
 * once, verified again, sorted by node and time. A file that does not
 * verify fails the listing with a message naming it. *out is freed with
 * mrx_view_list_destroy. */
int mrx_view_list(mrx_view ***out, size_t *n, mrx_pgp *pgp, const char *case_dir);
void mrx_view_list_destroy(mrx_view ***list_p, size_t n);

#endif

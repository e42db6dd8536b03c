/*
 * mrx_ledger: a case's history as a bare git repository (libgit2) with one
 * append-only feed per author at refs/feeds/<fingerprint>. Each event is a
 * commit whose parent is the author's previous event, whose message is the
 * event text (mrx_event) and which carries the author's OpenPGP signature
 * in a gpgsig header, so `git verify-commit` and `git fsck` accept it.
 * Each event also names the SHA-256 of the previous one's raw commit
 * object, and the case id is the SHA-256 of the owner's case-created
 * commit. This is the only file that includes <git2.h>.
 * Format: docs/ledger-format.md.
 */
#ifndef MRX_LEDGER_H
#define MRX_LEDGER_H

#include <stddef.h>

#include "mrx_event.h"
#include "mrx_request.h"
#include "mrx_pgp.h"

#define MRX_COMMIT_HEX_LEN 40

typedef struct mrx_ledger mrx_ledger;

/* Once per process, before any ledger is used. */
int mrx_ledger_global_init(void);

/* Who writes: a node's keyring, key and name (the commit's author name). */
typedef struct mrx_ledger_author {
    mrx_pgp *pgp;     /* keyring holding the secret key */
    const char *fpr;  /* the key, and the feed written */
    const char *name; /* node name, shown by git log */
} mrx_ledger_author;

#define MRX_TITLE_MAX 200 /* bytes of a case title */

/* Create a new case owned by owner in cases_dir: its ledger with the
 * owner's signed case-created event, in cases_dir/<case id>/ledger.git,
 * and its title (one line), which stays on this node: it is not part of
 * the ledger, which every member sees in the clear. The case appears
 * whole or not at all. */
int mrx_ledger_create(mrx_ledger **out, const char *cases_dir, const mrx_ledger_author *owner,
                      const char *title);

/* Take up a case this node does not hold yet: an empty ledger for case_id
 * owned by owner in cases_dir/<case id>, to be filled by ingest, which
 * proves the id (the owner's case-created must hash to it). */
int mrx_ledger_adopt(mrx_ledger **out, const char *cases_dir, const char *case_id,
                     const char *owner);

/* Open the case in case_dir (cases_dir/<case id>). */
int mrx_ledger_open(mrx_ledger **out, const char *case_dir);
void mrx_ledger_destroy(mrx_ledger **self_p);

/* The case id (64 hex digits) and the case's owner (borrowed). */
const char *mrx_ledger_case_id(const mrx_ledger *self);
const char *mrx_ledger_owner(const mrx_ledger *self);
/* The local title, or "" if this node has none for the case (borrowed). */
const char *mrx_ledger_title(const mrx_ledger *self);

/* Append ev to the author's feed. The ledger fills in case, author, seq,
 * prev and time; attachment is stored with the event: the member's
 * certificate with member-added, the receiver's signed request
 * (mrx_request) with bundle-served, NULL with any other. commit (may be
 * NULL) receives the new commit id. */
int mrx_ledger_append(mrx_ledger *self, const mrx_ledger_author *author, mrx_event *ev,
                      const char *attachment, char commit[MRX_COMMIT_HEX_LEN + 1]);

/* Called for each event of a feed, oldest first, once it has verified. */
typedef int (*mrx_ledger_event_fn)(void *arg, const mrx_event *ev, const char *commit);

/* Read fpr's feed and verify every event: a good signature by fpr (whose
 * key must be in pgp), one parent at most, seq counting from 0, the
 * SHA-256 chain, the case id. Calls fn per event, oldest first; a feed
 * that does not exist has no events. */
int mrx_ledger_read_feed(mrx_ledger *self, mrx_pgp *pgp, const char *fpr, mrx_ledger_event_fn fn,
                         void *arg);

/* The certificate stored with the member-added event commit; *out
 * malloc'd and NUL-terminated. */
int mrx_ledger_certificate(mrx_ledger *self, const char *commit, char **out, size_t *len);

/* The signed request stored with the bundle-served event commit (not
 * verified here: mrx_request_check); *out malloc'd and NUL-terminated. */
int mrx_ledger_request(mrx_ledger *self, const char *commit, char **out, size_t *len);

/* The signed request stored with the bundle-served event commit, verified
 * as reader's (mrx_request_check) into *out; the verdict is remembered
 * with the events' (a request checked once is read, not checked again). */
int mrx_ledger_witness(mrx_ledger *self, mrx_pgp *pgp, const char *commit, const char *reader,
                       mrx_request *out);

/* The fingerprints that have a feed in this case; *out malloc'd. */
int mrx_ledger_feeds(mrx_ledger *self, char (**out)[MRX_FPR_LEN + 1], size_t *n);

/* The feeds of another copy of a ledger (a bare repository). */
int mrx_ledger_source_feeds(const char *source_git_dir, char (**out)[MRX_FPR_LEN + 1], size_t *n);

/* A further check of an event being ingested (who may write it). */
typedef int (*mrx_ledger_check_fn)(void *arg, const mrx_event *ev);

/* Take fpr's feed from the ledger copy at source_git_dir. Only what
 * extends our feed is taken: its objects go into a quarantine, every new
 * event is checked as mrx_ledger_read_feed does (signature, one parent,
 * seq, SHA-256 chain, case, tree), dated no more than a day ahead, and by
 * check; only then do the objects join the ledger and the feed move. A
 * history that does not extend ours is refused (MRX_EDENIED) and kept
 * under evidence/, as is one holding an event, good as its author's, that
 * check refuses with MRX_EDENIED; from (the peer that offered it, may be
 * NULL) goes into the note. One that is behind ours changes nothing. *added gets
 * the number of events taken. On failure the ledger is as it was. */
int mrx_ledger_ingest_feed(mrx_ledger *self, mrx_pgp *pgp, const char *source_git_dir,
                           const char *fpr, const char *from, mrx_ledger_check_fn check, void *arg,
                           size_t *added);

/* A history refused at ingest and kept under evidence/ (the REFUSED note
 * of its folder, docs/ledger-format.md section 8). */
typedef struct mrx_ledger_refusal {
    char fpr[MRX_FPR_LEN + 1];           /* the feed's author; "" if the note lacks it */
    char head[MRX_COMMIT_HEX_LEN + 1];   /* the head refused; "" if unknown */
    char from[MRX_FPR_LEN + 1];          /* the peer that offered it; "" if unknown */
    char reason[400];
    int unentitled;                      /* 1: an event its author may not write; 0: a rewrite */
    time_t time;                         /* when it was kept */
} mrx_ledger_refusal;

/* Every history kept as evidence; *out malloc'd (NULL if none). */
int mrx_ledger_evidence(mrx_ledger *self, mrx_ledger_refusal **out, size_t *n);

/* A feed as peers exchange it (docs/protocol.md): its author, a commit,
 * and the number of events up to it. */
typedef struct mrx_ledger_head {
    char fpr[MRX_FPR_LEN + 1];             /* the feed's author */
    char commit[MRX_COMMIT_HEX_LEN + 1];   /* a commit of it, "" for none */
    unsigned long long events;             /* events up to commit (heads only) */
} mrx_ledger_head;

/* Every feed's head and its number of events, as the head's own seq
 * says (not verified here: a peer checks whatever it takes). *out
 * malloc'd. */
int mrx_ledger_heads(mrx_ledger *self, mrx_ledger_head **out, size_t *n);

/* A git pack (version 2) of feeds for a peer: for each wants[i] (author,
 * and in commit what the peer has, or ""), the events after it up to our
 * head, at most max_events of them (the oldest). wants[i].commit is
 * replaced by the last event packed ("" if none). *pack malloc'd. */
int mrx_ledger_pack(mrx_ledger *self, mrx_ledger_head *wants, size_t n, size_t max_events,
                    void **pack, size_t *len);

/* Unpack a peer's pack into a new folder beside the ledger: a bare
 * repository that also reads the ledger's objects, with each heads[i]
 * as refs/feeds/<author>: a source for mrx_case_ingest. *dir malloc'd;
 * the caller removes the folder (mrx_fs_remove_tree). Nothing enters the
 * ledger itself. */
int mrx_ledger_unpack(mrx_ledger *self, char **dir, const void *pack, size_t len,
                      const mrx_ledger_head *heads, size_t n);

#endif

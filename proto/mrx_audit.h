/*
 * mrx_audit: the patient's audit of a case. One timeline, merged from
 * every feed the node holds, of every grant and revocation and every
 * bundle added, withdrawn, served, fetched and opened; each line either
 * verified or marked with what is wrong. What the ledger alone cannot
 * show comes from what the node kept: histories refused at ingest
 * (evidence/), signed views that cannot both be true (views/), and the
 * silence of a node that stopped sending views. Format: docs/audit.md.
 */
#ifndef MRX_AUDIT_H
#define MRX_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mrx_event.h"
#include "mrx_ledger.h"
#include "mrx_node.h"

/* What a line is. */
typedef enum {
    MRX_AUDIT_EVENT,      /* an event of a feed held here */
    MRX_AUDIT_BAD_FEED,   /* a feed held here that stops verifying */
    MRX_AUDIT_REFUSED,    /* a history of a feed refused at ingest, kept as evidence:
                           * rewritten, or holding an event its author may not write */
    MRX_AUDIT_SPLIT_VIEW, /* two signed views that cannot both be true */
    MRX_AUDIT_SILENT,     /* a node in the case with no signed view for too long */
    MRX_AUDIT_REQUEST,    /* a reader's signed request, kept by the node that served it */
} mrx_audit_kind;

/* What is wrong with a line (bits); 0: verified. */
#define MRX_AUDIT_BAD_SIGNATURE 0x01    /* does not verify as its author's */
#define MRX_AUDIT_NOT_MEMBER 0x02       /* its author was not a member then */
#define MRX_AUDIT_AFTER_REVOCATION 0x04 /* its author acted after being removed */
#define MRX_AUDIT_NOT_FETCHED 0x08      /* served; the receiver never reported fetching it */
#define MRX_AUDIT_NOT_SERVED 0x10       /* fetched; the sender never reported serving it */
#define MRX_AUDIT_REWRITTEN 0x20        /* a feed's history was rewritten */
#define MRX_AUDIT_SPLIT 0x40            /* a node showed two histories */
#define MRX_AUDIT_STOPPED 0x80          /* a node stopped reporting */
#define MRX_AUDIT_UNWITNESSED 0x100     /* served with no valid request signed by its receiver */
#define MRX_AUDIT_FORGED 0x200          /* an event its author signed but was not entitled to */
#define MRX_AUDIT_FLAG_LAST MRX_AUDIT_FORGED

/* Who someone was in the case at a moment. */
typedef enum {
    MRX_AUDIT_ROLE_NONE,     /* not in the case */
    MRX_AUDIT_ROLE_OWNER,    /* the patient */
    MRX_AUDIT_ROLE_MEMBER,   /* a member: see member_role */
    MRX_AUDIT_ROLE_REVOKED,  /* a member once, removed by then */
} mrx_audit_standing;

typedef struct mrx_audit_line {
    mrx_audit_kind kind;
    time_t time;                          /* the event's; else when it was seen */
    char who[MRX_FPR_LEN + 1];            /* whose doing: author, signer, feed */
    mrx_audit_standing standing;          /* who's standing at that time */
    mrx_member_role member_role;          /* its role, if a member */
    /* events (kind EVENT): the event's own fields; a request (kind
     * REQUEST): the serving's commit, bundle and peer (the server) */
    mrx_event_type type;
    uint64_t seq;
    char commit[MRX_COMMIT_HEX_LEN + 1];
    char member[MRX_FPR_LEN + 1];         /* grants and revocations */
    mrx_member_role role;                 /* member-added */
    char bundle[MRX_SHA256_HEX_LEN + 1];  /* bundle-* */
    char peer[MRX_FPR_LEN + 1];           /* served: to; fetched, request: from;
                                           * refused: the peer that offered it */
    int bundle_known;                     /* the bundle-added of bundle is held */
    mrx_kind bundle_kind;                 /* from that bundle-added */
    uint64_t bundle_size;
    size_t bundle_readers;
    /* the verdict */
    unsigned flags;                       /* MRX_AUDIT_* bits; 0: verified */
    char problem[512];                    /* what is wrong, one line; "" if nothing */
} mrx_audit_line;

typedef struct mrx_audit {
    char case_id[MRX_SHA256_HEX_LEN + 1];
    char owner[MRX_FPR_LEN + 1];
    time_t at;                            /* when the audit was made */
    long report_interval;                 /* seconds of silence that are flagged */
    mrx_audit_line *lines;                /* sorted by time, then who, then seq */
    size_t n;
    size_t events;                        /* lines of kind EVENT */
    size_t flagged;                       /* lines with flags */
} mrx_audit;

/* Audit the case of ledger as node sees it, at time now; a node whose
 * latest signed view is older than report_interval seconds (or that has
 * sent none for that long since it joined) is flagged. *out is freed with
 * mrx_audit_destroy. */
int mrx_audit_make(mrx_audit **out, mrx_ledger *ledger, mrx_node *node, time_t now,
                   long report_interval);
void mrx_audit_destroy(mrx_audit **self_p);

/* The names of the kinds and of the flag bits (for --json). */
const char *mrx_audit_kind_name(mrx_audit_kind kind);
const char *mrx_audit_flag_name(unsigned bit);
const char *mrx_audit_standing_name(mrx_audit_standing standing);

#endif

/*
 * mrx_event: one event of a case ledger as the text that is the message of
 * its git commit: "key: value" lines, common fields first, then the fields
 * of its type, each in a fixed order. Format: docs/ledger-format.md.
 */
#ifndef MRX_EVENT_H
#define MRX_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mrx_manifest.h"
#include "mrx_sha256.h"
#include "mrx_text.h"

#define MRX_EVENT_MAX (64 * 1024)  /* bytes of event text */
#define MRX_EVENT_READERS_MAX 64   /* readers named by one bundle-added */
#define MRX_NONCE_HEX_LEN 32       /* case-created nonce: 16 random bytes */

typedef enum {
    MRX_EV_CASE_CREATED,
    MRX_EV_MEMBER_ADDED,
    MRX_EV_MEMBER_REMOVED,
    MRX_EV_BUNDLE_ADDED,
    MRX_EV_BUNDLE_WITHDRAWN,
    MRX_EV_BUNDLE_SERVED,
    MRX_EV_BUNDLE_FETCHED,
    MRX_EV_BUNDLE_OPENED,
} mrx_event_type;

/* What a member may do on a case (the owner is not a member: it owns). */
typedef enum {
    MRX_MEMBER_CONTRIBUTOR, /* adds bundles (a clinic) */
    MRX_MEMBER_REVIEWER,    /* reads what it is granted, adds opinions */
    MRX_MEMBER_RELAY,       /* stores and forwards ciphertext, never reads */
} mrx_member_role;

int mrx_event_type_parse(mrx_event_type *out, const char *name);
const char *mrx_event_type_name(mrx_event_type type);
int mrx_member_role_parse(mrx_member_role *out, const char *name);
const char *mrx_member_role_name(mrx_member_role role);

typedef struct mrx_event {
    mrx_event_type type;
    char case_id[MRX_SHA256_HEX_LEN + 1]; /* the case; empty in case-created */
    char author[MRX_FPR_LEN + 1];         /* whose feed this is */
    uint64_t seq;                         /* position in that feed, from 0 */
    time_t time;                          /* when, UTC */
    char prev[MRX_SHA256_HEX_LEN + 1];    /* SHA-256 of the previous event; empty at seq 0 */
    /* case-created */
    char nonce[MRX_NONCE_HEX_LEN + 1];    /* makes every case id unique */
    /* member-added, member-removed */
    char member[MRX_FPR_LEN + 1];         /* the member's key */
    mrx_member_role role;                 /* member-added: what it may do */
    /* bundle-* */
    char bundle[MRX_SHA256_HEX_LEN + 1];  /* the bundle id */
    uint64_t size;                        /* bundle-added: ciphertext bytes */
    mrx_kind kind;                        /* bundle-added: what it holds */
    char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1]; /* bundle-added: encrypted to */
    size_t n_readers;
    char peer[MRX_FPR_LEN + 1];           /* served: to whom; fetched: from whom */
} mrx_event;

/* Print ev as event text; *out malloc'd, NUL-terminated. Refuses an event
 * whose fields are not all valid for its type. */
int mrx_event_format(const mrx_event *ev, char **out, size_t *out_len);

/* Parse event text strictly: every field of the type, in order, valid,
 * nothing else. */
int mrx_event_parse(mrx_event *out, const char *text, size_t len);

#endif

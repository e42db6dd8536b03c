/*
 * mrx_export: a whole case in one file, for a USB stick or an air-gapped
 * node. The file is a plain POSIX tar holding a small header, the ledger
 * as a git pack of every feed from its start, the feeds' heads, the
 * bundles this node holds and their SHA256SUMS, so tar, git and sha256sum
 * alone can check it. Importing applies exactly the checks of sync: the
 * pack goes through the quarantine and mrx_case_ingest, and a bundle is
 * stored only when a verified bundle-added names it, this node may hold
 * it and its bytes hash to its id. Bundles are streamed both ways: memory
 * stays flat whatever their size. Format: docs/export-format.md.
 */
#ifndef MRX_EXPORT_H
#define MRX_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mrx_bundle.h"
#include "mrx_node.h"

#define MRX_EXPORT_VERSION 1
#define MRX_EXPORT_PACK_MAX (256u * 1024 * 1024) /* bytes of ledger.pack (held in memory) */
#define MRX_EXPORT_FEEDS_MAX 2048                /* feeds in heads */
#define MRX_EXPORT_BUNDLES_MAX 65536             /* bundle entries */

/* What an export wrote. */
typedef struct mrx_export_info {
    char case_id[MRX_SHA256_HEX_LEN + 1]; /* the case */
    size_t feeds;                         /* feeds packed */
    unsigned long long events;            /* events in them */
    size_t bundles;                       /* bundles written */
    uint64_t bundle_bytes;                /* their bytes */
    size_t bundles_absent;                /* bundles of the case this node does not hold */
    uint64_t size;                        /* bytes of the file */
} mrx_export_info;

/* Write case_id (a full id) of node to path, which must not exist
 * (MRX_EEXIST): a temporary file beside it is fsynced and renamed, so
 * path appears whole or not at all. progress (may be NULL) gets stage
 * "exporting", in bytes of pack and bundles. */
int mrx_export_write(mrx_export_info *info, mrx_node *node, const char *case_id, const char *path,
                     const mrx_bundle_progress *progress);

/* What became of one bundle entry of an imported file. */
typedef enum {
    MRX_IMPORT_STORED,  /* now in the store */
    MRX_IMPORT_PRESENT, /* the store held it already */
    MRX_IMPORT_SKIPPED, /* not this node's to hold (not encrypted to it) */
    MRX_IMPORT_REFUSED, /* no verified bundle-added of the case names it so */
} mrx_import_outcome;

typedef struct mrx_import_bundle {
    char id[MRX_SHA256_HEX_LEN + 1]; /* the bundle */
    uint64_t size;                   /* its bytes */
    mrx_import_outcome outcome;      /* what was done with it */
} mrx_import_bundle;

/* A feed the import moved forward. */
typedef struct mrx_import_feed {
    char fpr[MRX_FPR_LEN + 1]; /* its author */
    unsigned long long events; /* events taken */
} mrx_import_feed;

/* What an import did; release with mrx_export_report_release. */
typedef struct mrx_export_report {
    char case_id[MRX_SHA256_HEX_LEN + 1]; /* the case */
    char owner[MRX_FPR_LEN + 1];          /* its owner */
    char from[MRX_FPR_LEN + 1];           /* the node that says it exported the file */
    time_t exported;                      /* when, as the file says */
    int new_case;                         /* the case was not on this node before */
    mrx_import_feed *feeds;               /* feeds taken */
    size_t n_feeds;
    char **refused; /* one line per feed or bundle refused */
    size_t n_refused;
    mrx_import_bundle *bundles; /* every bundle entry, in file order */
    size_t n_bundles;
} mrx_export_report;

/* Import the export file at path into node. The whole file is checked
 * first (entries, header, heads, every bundle's SHA-256, SHA256SUMS):
 * a file that fails is refused and nothing changes. Then the ledger is
 * ingested as sync does; a node that is neither the owner nor an active
 * member is refused (MRX_EDENIED) and keeps nothing. Feeds ingest refuses
 * and bundles no verified event names are listed in report->refused;
 * the rest is taken. progress (may be NULL) gets stages "checking" and
 * "importing", in bytes of the file. */
int mrx_export_import(mrx_export_report *report, mrx_node *node, const char *path,
                      const mrx_bundle_progress *progress);

void mrx_export_report_release(mrx_export_report *report);

#endif

/*
 * mrxd_sync: sync with peers over CURVE ZeroMQ (docs/protocol.md). One
 * actor thread owns every network socket, the ZAP handler that admits
 * only imported peers' CURVE keys, and the sessions: it listens on the
 * node's endpoints, connects to the peers that list one, and pulls what
 * each shares with this node. Ingest runs here, off the control loop.
 */
#ifndef MRXD_SYNC_H
#define MRXD_SYNC_H

#include "mrxd_control.h"

/* Where the control workers say a case changed here (a PUSH connects). */
#define MRXD_SYNC_CHANGES "inproc://mrxd-changes"

/* Where a control worker asks the sync actor for a round (a DEALER
 * connects; "now" or "wait"; the answer is a JSON object). */
#define MRXD_SYNC_ROUNDS "inproc://mrxd-sync-rounds"

/* Where the last contact with each peer is written down: HOME/contacts/<FPR>
 * holds the time, one line. */
#define MRXD_CONTACTS_DIR "contacts"

typedef struct mrxd_sync mrxd_sync;

/* Start the sync actor for the node at info->home; it is serving (its
 * sockets bound) when this returns. */
int mrxd_sync_new(mrxd_sync **out, const mrxd_info *info);
void mrxd_sync_destroy(mrxd_sync **self_p);

/* The sync request (mrx sync [--wait]): a round with every peer now; with
 * wait, the result comes once every reachable peer is in step. */
int mrxd_op_sync(mrxd_job *job, json_t **result);

#endif

/*
 * mrx_store: a case's bundle store, cases/<case>/bundles/, and how a
 * bundle arrives in it from elsewhere (sync, import). A bundle being
 * received is written to bundles/.partial-<id>, a whole chunk at a time;
 * it becomes <id>.mrx only once the SHA-256 of all its bytes is its id
 * (fsync, rename, fsync of the folder). A partial file left by an
 * interruption is taken up again from its last whole chunk.
 */
#ifndef MRX_STORE_H
#define MRX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mrx_node.h"
#include "mrx_sha256.h"

#define MRX_STORE_DIR "bundles"         /* in cases/<case>/ */
#define MRX_STORE_CHUNK (256 * 1024)    /* bytes a chunk: what a resume rounds down to */
#define MRX_STORE_SYNC_EVERY (32u * MRX_STORE_CHUNK) /* a partial file is written back this often */

/* The folder of case_id's store on node (not made); malloc'd. */
char *mrx_store_dir(mrx_node *node, const char *case_id);

/* The path of bundle in case_id's store; malloc'd. */
char *mrx_store_path(mrx_node *node, const char *case_id, const char *bundle);

/* Whether case_id's store holds bundle (whole, verified when received). */
int mrx_store_has(mrx_node *node, const char *case_id, const char *bundle);

typedef struct mrx_store_partial mrx_store_partial;

/* Begin receiving bundle (size bytes, as its bundle-added says) into
 * case_id's store, or take up a partial file left before: what it holds
 * is cut back to its last whole chunk and hashed again. *offset is where
 * the sender should go on from. MRX_EEXIST if the store holds it already,
 * or another writer is receiving it (each holds an flock on the file). */
int mrx_store_partial_open(mrx_store_partial **out, uint64_t *offset, mrx_node *node,
                           const char *case_id, const char *bundle, uint64_t size);

/* Append len bytes that belong at offset: it must be where the file ends,
 * a whole chunk (the last may be shorter), and within size. */
int mrx_store_partial_write(mrx_store_partial *self, uint64_t offset, const void *data, size_t len);

/* How many bytes are in, and whether that is all of them. */
uint64_t mrx_store_partial_offset(const mrx_store_partial *self);
int mrx_store_partial_complete(const mrx_store_partial *self);

/* All bytes are in: if their SHA-256 is the bundle's id, make it the
 * store's <id>.mrx (fsync, rename, fsync the folder); if not, remove the
 * partial file and fail with MRX_ECRYPTO naming the bundle. Either
 * way self is destroyed. */
int mrx_store_partial_commit(mrx_store_partial **self_p);

/* Stop receiving; the partial file stays for a later resume (fsynced). */
void mrx_store_partial_destroy(mrx_store_partial **self_p);

/* Stop receiving and remove the partial file. */
void mrx_store_partial_discard(mrx_store_partial **self_p);

#endif

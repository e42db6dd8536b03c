/*
 * mrx_node: a node home (MRX_HOME) and the identity it holds: the
 * configuration, the OpenPGP keyring, the CURVE key, this node's
 * certificate and the imported peers. Layout: docs/formats.md.
 */
#ifndef MRX_NODE_H
#define MRX_NODE_H

#include <stddef.h>

#include "mrx_cert.h"
#include "mrx_config.h"
#include "mrx_pgp.h"

typedef struct mrx_node mrx_node;

/* The home to use: dir if given, else $MRX_HOME, else $XDG_DATA_HOME/mrx,
 * else ~/.local/share/mrx, made absolute. Newly allocated. */
int mrx_node_home_resolve(char **out, const char *dir);

/* Create a node in home: keyring with a new key, CURVE key, config and
 * certificate. Refuses a home that already holds anything. On failure
 * nothing it created is left. */
int mrx_node_init(const char *home, const char *name, mrx_role role,
                  const char *const *listen, size_t n_listen);

/* Open an existing node (config, keys, certificate all checked). */
int mrx_node_open(mrx_node **out, const char *home);
void mrx_node_destroy(mrx_node **self_p);

/* Borrowed views. */
const char *mrx_node_home(const mrx_node *self);
const mrx_config *mrx_node_config(const mrx_node *self);
const mrx_cert *mrx_node_cert(const mrx_node *self);
mrx_pgp *mrx_node_pgp(mrx_node *self);
/* A folder on the home's file system for temporary files. */
const char *mrx_node_scratch(const mrx_node *self);
const char *mrx_node_gnupghome(const mrx_node *self);
/* The folder holding this node's cases (cases/<case id>). */
const char *mrx_node_cases(const mrx_node *self);

/* Verify a peer's certificate and import it (key into the keyring, the
 * certificate under peers/). A newer certificate of a known peer replaces
 * the old one; an older or equal one is refused. *out (may be NULL)
 * receives the imported certificate. */
int mrx_node_peer_add(mrx_node *self, mrx_cert **out, const char *text, size_t len);

/* The imported peers, each re-verified, sorted by name. The caller frees
 * each with mrx_cert_destroy and the array with free. */
int mrx_node_peer_list(mrx_node *self, mrx_cert ***out, size_t *n);

/* Forget peer fpr: its certificate leaves peers/, so it is no longer
 * admitted or dialed. Its key stays in the keyring, for the events it
 * signed. MRX_ENOTFOUND if it is not a peer. */
int mrx_node_peer_remove(mrx_node *self, const char *fpr);

/* True if text is, byte for byte, the certificate imported for peer fpr
 * (so it needs no second check). */
int mrx_node_peer_holds(mrx_node *self, const char *fpr, const char *text, size_t len);

/* The certificate of peer fpr, or MRX_ENOTFOUND. */
int mrx_node_peer_get(mrx_node *self, mrx_cert **out, const char *fpr);

/* A key for people: "NAME (this node)", "NAME (ROLE)" for a peer, or the
 * fingerprint itself. */
void mrx_node_describe_key(mrx_node *self, char *buf, size_t len, const char *fpr);

/* True if fpr is this node or an imported peer. */
int mrx_node_knows(mrx_node *self, const char *fpr);

#endif

/*
 * mrx_cert: the node certificate. It binds a node's name, role, CURVE
 * public key and endpoints to its OpenPGP key: a clear-signed text by that
 * key followed by the armoured public key, so it can be mailed, read by a
 * person, and checked with plain gpg. Format: docs/formats.md.
 */
#ifndef MRX_CERT_H
#define MRX_CERT_H

#include <stddef.h>
#include <time.h>

#include "mrx_curve.h"
#include "mrx_pgp.h"
#include "mrx_text.h"

#define MRX_CERT_MAX (64 * 1024) /* bytes in a whole certificate */
#define MRX_CERT_ENDPOINTS_MAX 8
#define MRX_ENDPOINT_MAX 255

typedef enum {
    MRX_ROLE_PATIENT,
    MRX_ROLE_FACILITATOR,
    MRX_ROLE_CLINIC,
    MRX_ROLE_REVIEWER,
} mrx_role;

/* "patient" ... "reviewer" <-> mrx_role; unknown names fail. */
int mrx_role_parse(mrx_role *out, const char *name);
const char *mrx_role_name(mrx_role role);

/* True if s is a tcp://HOST:PORT endpoint mrx accepts. */
int mrx_endpoint_valid(const char *s);

typedef struct mrx_cert mrx_cert;

/* Make and sign the certificate of the node whose key fpr is in pgp. */
int mrx_cert_build(mrx_cert **out, mrx_pgp *pgp, const char *name, mrx_role role, const char *fpr,
                   const char *curve_public, const char *const *endpoints, size_t n_endpoints,
                   time_t created);

/* Check a certificate from anywhere: the key block must hold exactly one
 * ed25519/cv25519 key, the text must carry exactly one good signature by
 * it, and the fields must be well formed and name that key. The check runs
 * in a throw-away keyring made under scratch_dir, so nothing of a bad
 * certificate reaches a real keyring. */
int mrx_cert_parse(mrx_cert **out, const char *text, size_t len, const char *scratch_dir);

/* Check a certificate whose key is already in pgp (one read back from a
 * node's own store): same checks, no import. */
int mrx_cert_load(mrx_cert **out, mrx_pgp *pgp, const char *text, size_t len);

void mrx_cert_destroy(mrx_cert **self_p);

/* Borrowed views, valid while the certificate lives. */
const char *mrx_cert_name(const mrx_cert *self);
mrx_role mrx_cert_role(const mrx_cert *self);
const char *mrx_cert_fpr(const mrx_cert *self);
const char *mrx_cert_curve(const mrx_cert *self);
size_t mrx_cert_endpoint_count(const mrx_cert *self);
const char *mrx_cert_endpoint(const mrx_cert *self, size_t i);
time_t mrx_cert_created(const mrx_cert *self);
/* The whole certificate as text, and its armoured public key block. */
const char *mrx_cert_text(const mrx_cert *self);
const char *mrx_cert_public_key(const mrx_cert *self);

#endif

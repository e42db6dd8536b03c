/*
 * mrx_pgp: everything mrx does with OpenPGP, through GPGME, against one
 * GNUPGHOME: node key generation, export and import, detached and clear
 * signatures, and streaming encryption and decryption.
 *
 * This is the only file that includes <gpgme.h>. One mrx_pgp is used by one
 * thread at a time; open another for another thread.
 */
#ifndef MRX_PGP_H
#define MRX_PGP_H

#include <stddef.h>
#include <sys/types.h>

#include "mrx_text.h"

typedef struct mrx_pgp mrx_pgp;

/* Once per process, before any thread uses mrx_pgp. */
int mrx_pgp_global_init(void);

/* Open the keyring in gnupghome (which must exist). */
int mrx_pgp_new(mrx_pgp **out, const char *gnupghome);
void mrx_pgp_destroy(mrx_pgp **self_p);

/* The GNUPGHOME this keyring works on (borrowed). */
const char *mrx_pgp_home(const mrx_pgp *self);

/* Stop the gpg-agent serving gnupghome, if one runs (gpgconf --kill). */
void mrx_pgp_stop_agent(const char *gnupghome);

/* Create an ed25519 signing key with a cv25519 encryption subkey and no
 * passphrase; fpr receives the primary key's fingerprint. */
int mrx_pgp_generate(mrx_pgp *self, char fpr[MRX_FPR_LEN + 1], const char *userid);

/* True if the secret part of fpr is in this keyring. */
int mrx_pgp_has_secret(mrx_pgp *self, const char *fpr);

/* Check that fpr is a usable node key: ed25519 primary able to sign, a
 * cv25519 subkey able to encrypt, nothing revoked, expired or invalid. */
int mrx_pgp_check_node_key(mrx_pgp *self, const char *fpr);

/* ASCII-armoured public key of fpr; *out is malloc'd, caller frees. */
int mrx_pgp_export(mrx_pgp *self, char **out, size_t *out_len, const char *fpr);

/* Import exactly one public key (no secret keys); fpr receives it. */
int mrx_pgp_import(mrx_pgp *self, char fpr[MRX_FPR_LEN + 1], const char *armored, size_t len);

/* Armoured detached signature of data by signer; *sig malloc'd. */
int mrx_pgp_sign_detached(mrx_pgp *self, char **sig, size_t *sig_len, const char *signer,
                          const void *data, size_t len);

/* Verify that sig is exactly one good signature over data by a key in this
 * keyring. If expected is not NULL the signer's primary fingerprint must be
 * expected; signer (may be NULL) receives it. */
int mrx_pgp_verify_detached(mrx_pgp *self, char signer[MRX_FPR_LEN + 1], const char *expected,
                            const void *sig, size_t sig_len, const void *data, size_t len);

/* Clear-sign text with signer; *out malloc'd and NUL-terminated. */
int mrx_pgp_clearsign(mrx_pgp *self, char **out, size_t *out_len, const char *signer,
                      const char *text);

/* Verify a clear-signed message carrying exactly one good signature, by
 * the key expected if not NULL (which spares gpg a key listing), and
 * return the signed text (*plain malloc'd, NUL-terminated) and the signer's
 * primary fingerprint. Only the returned text is covered by the signature. */
int mrx_pgp_verify_clearsigned(mrx_pgp *self, char signer[MRX_FPR_LEN + 1], const char *expected,
                               char **plain, size_t *plain_len, const char *msg, size_t msg_len);

/* Encrypt everything read from in_fd to the recipients (fingerprints) in
 * one streaming pass: binary OpenPGP, no compression, hidden recipient key
 * IDs, no file name. Ciphertext is written to out_fd. */
int mrx_pgp_encrypt(mrx_pgp *self, const char *const *recipients, size_t n_recipients, int in_fd,
                    int out_fd);

/* Decrypt ciphertext read from in_fd, writing plaintext to out_fd.
 * Refuses ciphertext without integrity protection; a truncated or altered
 * ciphertext fails with MRX_ECRYPTO, one not for this keyring with
 * MRX_EDENIED. */
int mrx_pgp_decrypt(mrx_pgp *self, int in_fd, int out_fd);

#endif

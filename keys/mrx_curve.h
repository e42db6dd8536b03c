/*
 * mrx_curve: the node's CURVE transport keypair (Z85 text, 40 characters a
 * key), kept in a file readable by the owner only.
 */
#ifndef MRX_CURVE_H
#define MRX_CURVE_H

#define MRX_CURVE_Z85_LEN 40

/* Generate a keypair and write the secret key to path (mode 0600, refusing
 * to overwrite). public receives the public key. */
int mrx_curve_generate(char public_z85[MRX_CURVE_Z85_LEN + 1], const char *path);

/* Load the secret key from path, refusing a file others can read, and
 * derive the public key. secret is wiped by the caller when done. */
int mrx_curve_load(char public_z85[MRX_CURVE_Z85_LEN + 1], char secret_z85[MRX_CURVE_Z85_LEN + 1],
                   const char *path);

/* True if s is a 40-character Z85 key. */
int mrx_curve_is_key(const char *s);

#endif

/*
 * mrx_sha256: streaming SHA-256 (OpenSSL's libcrypto) and its hex form.
 */
#ifndef MRX_SHA256_H
#define MRX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MRX_SHA256_LEN 32
#define MRX_SHA256_HEX_LEN 64

typedef struct mrx_sha256 mrx_sha256;

/* Allocates a running hash; free with mrx_sha256_destroy. */
int mrx_sha256_new(mrx_sha256 **out);
void mrx_sha256_destroy(mrx_sha256 **self_p);
int mrx_sha256_update(mrx_sha256 *self, const void *data, size_t len);
/* Writes 65 bytes (64 hex digits and NUL) to hex; the hash may be reused
 * after mrx_sha256_reset. */
int mrx_sha256_final_hex(mrx_sha256 *self, char hex[MRX_SHA256_HEX_LEN + 1]);
int mrx_sha256_reset(mrx_sha256 *self);

/* One-shot hash of a buffer. */
int mrx_sha256_hex(char hex[MRX_SHA256_HEX_LEN + 1], const void *data, size_t len);

/* True if s is exactly 64 lowercase hex digits. */
int mrx_sha256_hex_valid(const char *s);

#endif

/*
 * mrx_sha256: a thin owner of an OpenSSL EVP digest context.
 */
#include "mrx_sha256.h"
#include "mrx_error.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct mrx_sha256 {
    EVP_MD_CTX *ctx; /* the running digest */
};

int
mrx_sha256_new(mrx_sha256 **out)
{
    mrx_sha256 *self = calloc(1, sizeof *self);

    *out = NULL;
    if (!self)
        return mrx_error_set(MRX_ENOMEM, "sha256: out of memory");
    self->ctx = EVP_MD_CTX_new();
    if (!self->ctx || EVP_DigestInit_ex(self->ctx, EVP_sha256(), NULL) != 1) {
        mrx_sha256_destroy(&self);
        return mrx_error_set(MRX_EIO, "sha256: cannot initialise digest");
    }
    *out = self;
    return 0;
}

void
mrx_sha256_destroy(mrx_sha256 **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_MD_CTX_free((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

int
mrx_sha256_update(mrx_sha256 *self, const void *data, size_t len)
{
    if (EVP_DigestUpdate(self->ctx, data, len) != 1)
        return mrx_error_set(MRX_EIO, "sha256: digest update failed");
    return 0;
}

static void
to_hex(char *hex, const unsigned char *bin, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[bin[i] >> 4];
        hex[2 * i + 1] = digits[bin[i] & 15];
    }
    hex[2 * len] = '\0';
}

int
mrx_sha256_final_hex(mrx_sha256 *self, char hex[MRX_SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_DigestFinal_ex(self->ctx, md, &len) != 1 || len != MRX_SHA256_LEN)
        return mrx_error_set(MRX_EIO, "sha256: digest final failed");
    to_hex(hex, md, len);
    return 0;
}

int
mrx_sha256_reset(mrx_sha256 *self)
{
    if (EVP_DigestInit_ex(self->ctx, EVP_sha256(), NULL) != 1)
        return mrx_error_set(MRX_EIO, "sha256: cannot reset digest");
    return 0;
}

int
mrx_sha256_hex(char hex[MRX_SHA256_HEX_LEN + 1], const void *data, size_t len)
{
    unsigned char md[MRX_SHA256_LEN];

    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
        return mrx_error_set(MRX_EIO, "sha256: digest failed");
    to_hex(hex, md, sizeof md);
    return 0;
}

int
mrx_sha256_hex_valid(const char *s)
{
    size_t i;

    for (i = 0; i < MRX_SHA256_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[MRX_SHA256_HEX_LEN] == '\0';
}

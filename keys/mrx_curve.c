/*
 * mrx_curve: CURVE keys from libzmq, stored with owner-only permissions.
 */
#include "mrx_curve.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

int
mrx_curve_is_key(const char *s)
{
    size_t i;

    for (i = 0; i < MRX_CURVE_Z85_LEN; i++)
        if (!s[i] || !strchr(z85_alphabet, s[i]))
            return 0;
    return s[MRX_CURVE_Z85_LEN] == '\0';
}

int
mrx_curve_generate(char public_z85[MRX_CURVE_Z85_LEN + 1], const char *path)
{
    char secret[MRX_CURVE_Z85_LEN + 1], line[MRX_CURVE_Z85_LEN + 2];
    int rc;

    if (zmq_curve_keypair(public_z85, secret) != 0)
        return mrx_error_set(MRX_EIO, "libzmq cannot make CURVE keys (built without CURVE?)");
    snprintf(line, sizeof line, "%s\n", secret);
    rc = mrx_fs_write_new(path, line, strlen(line), 0600);
    explicit_bzero(secret, sizeof secret);
    explicit_bzero(line, sizeof line);
    return rc;
}

int
mrx_curve_load(char public_z85[MRX_CURVE_Z85_LEN + 1], char secret_z85[MRX_CURVE_Z85_LEN + 1],
               const char *path)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (stat(path, &st) != 0)
        return mrx_error_set(MRX_ENOTFOUND, "%s: CURVE secret key missing", path);
    if (st.st_mode & 077)
        return mrx_error_set(MRX_EDENIED, "%s: CURVE secret key is readable by others (chmod 600)",
                             path);
    if ((rc = mrx_fs_read_file(&text, &len, path, 64)) < 0)
        return rc;
    if (len == MRX_CURVE_Z85_LEN + 1 && text[MRX_CURVE_Z85_LEN] == '\n')
        text[MRX_CURVE_Z85_LEN] = '\0';
    if (!mrx_curve_is_key(text)) {
        rc = mrx_error_set(MRX_EFORMAT, "%s: not a CURVE secret key", path);
        goto out;
    }
    memcpy(secret_z85, text, MRX_CURVE_Z85_LEN + 1);
    if (zmq_curve_public(public_z85, secret_z85) != 0)
        rc = mrx_error_set(MRX_EFORMAT, "%s: not a CURVE secret key", path);
out:
    explicit_bzero(text, len);
    free(text);
    return rc;
}

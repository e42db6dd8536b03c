/*
 * mrx_error: the error codes every mrx function returns, and the one-line
 * human message that goes with the last failure on this thread.
 */
#ifndef MRX_ERROR_H
#define MRX_ERROR_H

#include <stdarg.h>

/* Negative codes; 0 is success. Each maps to one exit code of mrx(1). */
enum {
    MRX_OK = 0,
    MRX_EINVAL = -1,   /* bad input from a user, a file or a peer */
    MRX_EIO = -2,      /* the system failed us: disk, pipe, process */
    MRX_ENOMEM = -3,   /* out of memory */
    MRX_EEXIST = -4,   /* refusing to overwrite something */
    MRX_ENOTFOUND = -5, /* no such node, peer, key or file */
    MRX_ECRYPTO = -6,  /* a signature, decryption or key check failed */
    MRX_EFORMAT = -7,  /* a bundle, certificate or manifest is malformed */
    MRX_EDENIED = -8,  /* not allowed: wrong signer, wrong key */
    MRX_ELIMIT = -9,   /* a size or count limit was exceeded */
    MRX_EUNAVAILABLE = -10, /* mrxd is not running, or stopped mid-request */
};

/* Record the message for the current failure (printf-style, one line,
 * lowercase, naming the subject) and return code, so callers can write
 * `return mrx_error_set(MRX_EINVAL, "...")`. */
int mrx_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mrx_error_setv(int code, const char *fmt, va_list ap);

/* Prefix the current message with "prefix: " (when adding new context). */
int mrx_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current message of this thread; borrowed, valid until the next set. */
const char *mrx_error_last(void);

/* Discard the current message. */
void mrx_error_clear(void);

/* Exit code of mrx(1) for an error code (documented in mrx.1). */
int mrx_error_exit_code(int code);

/* Short name of an error code ("invalid input", "i/o error", ...). */
const char *mrx_error_name(int code);

/* The error code whose mrx_error_name is name, or MRX_EIO for a name not
 * known (a newer peer's) and for "ok": an error is never success. */
int mrx_error_code_named(const char *name);

#endif

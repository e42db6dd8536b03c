/*
 * mrx_error: one thread-local message buffer holding the last failure.
 */
#include "mrx_error.h"

#include <stdio.h>
#include <string.h>

#define MRX_ERROR_MAX 1024

static _Thread_local char error_message[MRX_ERROR_MAX];

int
mrx_error_setv(int code, const char *fmt, va_list ap)
{
    char message[MRX_ERROR_MAX], *p;

    /* format aside first: the arguments may be the current message */
    vsnprintf(message, sizeof message, fmt, ap);
    /* one line, whatever the arguments held */
    for (p = message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    memcpy(error_message, message, sizeof error_message);
    return code;
}

int
mrx_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mrx_error_setv(code, fmt, ap);
    va_end(ap);
    return code;
}

int
mrx_error_wrap(int code, const char *fmt, ...)
{
    char prefix[MRX_ERROR_MAX], old[MRX_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_message, sizeof old);
    return mrx_error_set(code, "%s: %s", prefix, old);
}

const char *
mrx_error_last(void)
{
    return error_message[0] ? error_message : "unknown error";
}

void
mrx_error_clear(void)
{
    error_message[0] = '\0';
}

int
mrx_error_exit_code(int code)
{
    switch (code) {
    case MRX_OK:
        return 0;
    case MRX_EINVAL:
        return 2;
    case MRX_ENOTFOUND:
        return 3;
    case MRX_EEXIST:
        return 4;
    case MRX_ECRYPTO:
    case MRX_EDENIED:
        return 5;
    case MRX_EFORMAT:
    case MRX_ELIMIT:
        return 6;
    case MRX_EUNAVAILABLE:
        return 7;
    case MRX_EIO:
    case MRX_ENOMEM:
    default:
        return 1;
    }
}

const char *
mrx_error_name(int code)
{
    switch (code) {
    case MRX_OK:
        return "ok";
    case MRX_EINVAL:
        return "invalid input";
    case MRX_EIO:
        return "i/o error";
    case MRX_ENOMEM:
        return "out of memory";
    case MRX_EEXIST:
        return "already exists";
    case MRX_ENOTFOUND:
        return "not found";
    case MRX_ECRYPTO:
        return "cryptographic check failed";
    case MRX_EFORMAT:
        return "malformed";
    case MRX_EDENIED:
        return "denied";
    case MRX_ELIMIT:
        return "limit exceeded";
    case MRX_EUNAVAILABLE:
        return "unavailable";
    default:
        return "error";
    }
}

int
mrx_error_code_named(const char *name)
{
    for (int code = MRX_EINVAL; code >= MRX_EUNAVAILABLE; code--)
        if (strcmp(mrx_error_name(code), name) == 0)
            return code;
    return MRX_EIO;
}

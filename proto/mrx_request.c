/*
 * mrx_request: a reader's signed request for a bundle. See mrx_request.h.
 */
#include "mrx_request.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_VERSION "1"

int
mrx_request_make(char **out, size_t *len, mrx_pgp *pgp, const mrx_request *req)
{
    char when[MRX_TIME_LEN + 1], *body = NULL;
    int rc;

    *out = NULL;
    mrx_text_format_time(when, req->time);
    if (asprintf(&body,
                 "mrx-request: " REQUEST_VERSION "\ncase: %s\nbundle: %s\nfrom: %s\nby: %s\n"
                 "offset: %llu\ntime: %s\n",
                 req->case_id, req->bundle, req->server, req->reader,
                 (unsigned long long)req->offset, when) < 0)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = mrx_pgp_clearsign(pgp, out, len, req->reader, body);
    free(body);
    if (rc == 0 && *len > MRX_REQUEST_MAX) {
        free(*out);
        *out = NULL;
        rc = mrx_error_set(MRX_ELIMIT, "signed request of %zu bytes, more than %d", *len,
                           MRX_REQUEST_MAX);
    }
    return rc;
}

/* Take a field that must be a SHA-256 id or a fingerprint into dst. */
static int
take_id(char *dst, size_t size, mrx_text_cursor *c, const char *key, int fpr)
{
    char *value;
    int rc;

    if ((rc = mrx_text_take(&value, c, key)) < 0)
        return rc;
    if (fpr ? !mrx_text_is_fpr(value) : !mrx_sha256_hex_valid(value))
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: %s is not a %s", c->what, c->line, key,
                             fpr ? "fingerprint" : "SHA-256 id");
    snprintf(dst, size, "%s", value);
    return 0;
}

static int
parse_body(mrx_request *out, char *body, const char *signer)
{
    char what[MRX_FPR_LEN + 16], *value;
    mrx_text_cursor c = {body, 0, what};
    unsigned long long offset;
    int rc;

    snprintf(what, sizeof what, "request by %s", signer);
    if ((rc = mrx_text_take(&value, &c, "mrx-request")) < 0)
        return rc;
    if (strcmp(value, REQUEST_VERSION) != 0)
        return mrx_error_set(MRX_EFORMAT, "%s: version \"%.8s\" not supported", what, value);
    if ((rc = take_id(out->case_id, sizeof out->case_id, &c, "case", 0)) < 0 ||
        (rc = take_id(out->bundle, sizeof out->bundle, &c, "bundle", 0)) < 0 ||
        (rc = take_id(out->server, sizeof out->server, &c, "from", 1)) < 0 ||
        (rc = take_id(out->reader, sizeof out->reader, &c, "by", 1)) < 0 ||
        (rc = mrx_text_take(&value, &c, "offset")) < 0)
        return rc;
    if (mrx_text_parse_u64(&offset, value) < 0)
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: bad offset", what, c.line);
    out->offset = offset;
    if ((rc = mrx_text_take(&value, &c, "time")) < 0)
        return rc;
    if (mrx_text_parse_time(&out->time, value) < 0)
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: bad time", what, c.line);
    if (*c.next)
        return mrx_error_set(MRX_EFORMAT, "%s: more lines than its fields", what);
    if (strcmp(out->reader, signer) != 0)
        return mrx_error_set(MRX_EDENIED, "request by %s is signed by %s", out->reader, signer);
    return 0;
}

int
mrx_request_check(mrx_request *out, mrx_pgp *pgp, const char *text, size_t len,
                  const char *reader)
{
    char signer[MRX_FPR_LEN + 1], *plain = NULL;
    size_t plain_len = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (len > MRX_REQUEST_MAX)
        return mrx_error_set(MRX_ELIMIT, "signed request of %zu bytes, more than %d", len,
                             MRX_REQUEST_MAX);
    if (memchr(text, '\0', len))
        return mrx_error_set(MRX_EFORMAT, "request holds a NUL byte");
    if ((rc = mrx_pgp_verify_clearsigned(pgp, signer, reader, &plain, &plain_len, text, len)) < 0)
        return mrx_error_wrap(rc, "request");
    /* only what the signature covers is read */
    rc = strlen(plain) != plain_len ? mrx_error_set(MRX_EFORMAT, "request holds a NUL byte")
                                    : parse_body(out, plain, signer);
    free(plain);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int
mrx_request_read_verified(mrx_request *out, const char *text, size_t len, const char *signer)
{
    static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----\n",
                      sig[] = "\n-----BEGIN PGP SIGNATURE-----\n";
    const char *p, *end = text + len, *body_end;
    char *body;
    int rc;

    memset(out, 0, sizeof *out);
    if (len > MRX_REQUEST_MAX || memchr(text, '\0', len) || len < sizeof begin - 1 ||
        memcmp(text, begin, sizeof begin - 1) != 0)
        return mrx_error_set(MRX_EFORMAT, "not a clear-signed request");
    /* armour headers, then an empty line */
    for (p = text + sizeof begin - 1; p < end && *p != '\n'; p++)
        if (!(p = memchr(p, '\n', (size_t)(end - p))))
            return mrx_error_set(MRX_EFORMAT, "not a clear-signed request");
    if (p >= end || !(body_end = memmem(p, (size_t)(end - p), sig, sizeof sig - 1)))
        return mrx_error_set(MRX_EFORMAT, "not a clear-signed request");
    /* a request's lines never begin with a dash, so none was escaped */
    if (!(body = strndup(p + 1, (size_t)(body_end + 1 - (p + 1)))))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = parse_body(out, body, signer);
    free(body);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int
mrx_request_matches(const mrx_request *req, const char *case_id, const char *bundle,
                    const char *server, const char **why)
{
    *why = strcmp(req->case_id, case_id) != 0  ? "it asks for another case"
           : strcmp(req->bundle, bundle) != 0  ? "it asks for another bundle"
           : strcmp(req->server, server) != 0  ? "it asks another node"
                                               : NULL;
    return *why == NULL;
}

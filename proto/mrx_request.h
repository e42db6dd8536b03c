/*
 * mrx_request: a reader's signed request for a bundle. The reader sends
 * it in FETCH; the server keeps it with its bundle-served event, so an
 * access is on record, in the reader's own signature, whether or not the
 * reader reports it (docs/protocol.md section 6, ledger-format.md
 * section 5).
 */
#ifndef MRX_REQUEST_H
#define MRX_REQUEST_H

#include "mrx_pgp.h"
#include "mrx_sha256.h"
#include "mrx_text.h"

#include <stdint.h>
#include <time.h>

#define MRX_REQUEST_MAX 4096 /* bytes of a signed request */

typedef struct {
    char case_id[MRX_SHA256_HEX_LEN + 1];
    char bundle[MRX_SHA256_HEX_LEN + 1];
    char server[MRX_FPR_LEN + 1]; /* the node asked */
    char reader[MRX_FPR_LEN + 1]; /* the node asking, its signer */
    uint64_t offset;              /* where the transfer starts */
    time_t time;                  /* when it asked, by its clock */
} mrx_request;

/* Sign req as req->reader: *out malloc'd, clear-signed text. */
int mrx_request_make(char **out, size_t *len, mrx_pgp *pgp, const mrx_request *req);

/* Verify a signed request and read it into *out: exactly one good
 * signature, by the key it names as reader (and by reader, if not NULL),
 * over a well-formed body. MRX_ELIMIT, MRX_EFORMAT, MRX_ECRYPTO
 * (signature) or MRX_EDENIED (signed by another key) otherwise. */
int mrx_request_check(mrx_request *out, mrx_pgp *pgp, const char *text, size_t len,
                      const char *reader);

/* Read a signed request whose signature was verified before as
 * signer's (by mrx_request_check) without running gpg again: the signed
 * text as shown, parsed with the same checks. */
int mrx_request_read_verified(mrx_request *out, const char *text, size_t len, const char *signer);

/* Whether req asks server for bundle of case_id: 1 if so; 0 with *why
 * (static text) naming the first field that differs. */
int mrx_request_matches(const mrx_request *req, const char *case_id, const char *bundle,
                        const char *server, const char **why);

#endif

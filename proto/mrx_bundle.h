/*
 * mrx_bundle: the unit of exchange. Writing turns files of one kind into a
 * pax tar (MANIFEST, MANIFEST.sig, then the files), zstd-compressed when
 * that pays, encrypted to the recipients in one streaming pass; the result
 * is named by the SHA-256 of its ciphertext. Opening checks everything
 * before anything becomes visible. Byte-exact format:
 * docs/bundle-format.md.
 *
 * Memory stays flat whatever the size: files are streamed in 1 MiB
 * chunks, and only MANIFEST and its signature are held whole.
 */
#ifndef MRX_BUNDLE_H
#define MRX_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mrx_manifest.h"
#include "mrx_pgp.h"

typedef struct mrx_bundle_info {
    char id[MRX_SHA256_HEX_LEN + 1]; /* SHA-256 of the ciphertext: the bundle id */
    uint64_t size;                   /* ciphertext bytes */
    mrx_kind kind;                   /* what it holds */
    char author[MRX_FPR_LEN + 1];    /* who signed the manifest */
    time_t created;                  /* when, as the manifest says */
    size_t files;                    /* how many files */
    uint64_t bytes;                  /* their total size */
    int compressed;                  /* the tar inside is zstd-compressed */
    char path[4096];                 /* where the bundle file is (create) */
} mrx_bundle_info;

/* Progress of a long create or open. fn runs on the bundle's own threads,
 * after every chunk (1 MiB or less), so it must be thread-safe and quick.
 * Stages: "hashing" and "packaging" (create), "opening" (open); done and
 * total count file bytes. */
typedef struct mrx_bundle_progress {
    void (*fn)(void *arg, const char *stage, uint64_t done, uint64_t total);
    void *arg; /* passed to fn */
} mrx_bundle_progress;

/* What to bundle and for whom. */
typedef struct mrx_bundle_spec {
    mrx_pgp *pgp;                    /* keyring with the author's secret key */
    const char *author;              /* signer, always also a recipient */
    mrx_kind kind;                   /* kind of every file */
    const char *const *recipients;   /* further readers (fingerprints) */
    size_t n_recipients;
    const char *const *inputs;       /* files and folders to include */
    size_t n_inputs;
    time_t created;                  /* manifest time (0: now) */
    const mrx_bundle_progress *progress; /* or NULL */
} mrx_bundle_spec;

/* Write the bundle to out_path, which must not exist, or into the folder
 * out_path as <id>.mrx (a content-addressed store): a temporary file is
 * fsynced and linked into place, so the bundle appears whole or not at
 * all. info->path says where it went. */
int mrx_bundle_create(mrx_bundle_info *info, const mrx_bundle_spec *spec, const char *out_path);

/* Decrypt in_path with pgp's keys and extract it to out_dir (which must
 * not exist or be an empty folder). The manifest must carry exactly one
 * good signature by expected_signer (or, if NULL, by any key in pgp's
 * keyring); with expected_id, the ciphertext's SHA-256 must match. Files
 * are extracted into a temporary folder beside out_dir and renamed into
 * place only when every check has passed; on failure nothing is left.
 * progress may be NULL. */
int mrx_bundle_open(mrx_bundle_info *info, mrx_pgp *pgp, const char *expected_signer,
                    const char *expected_id, const char *in_path, const char *out_dir,
                    const mrx_bundle_progress *progress);

/* Make a running create or open stop at its next chunk and clean up, as
 * if it had failed ("interrupted"). Async-signal-safe: call it from a
 * SIGINT/SIGTERM handler. Stays set for the rest of the process. */
void mrx_bundle_interrupt(void);
/* Whether mrx_bundle_interrupt was called (the daemon is stopping). */
int mrx_bundle_interrupted(void);

#endif

/*
 * mrx_manifest: a bundle's MANIFEST. Bundle metadata as "# key: value"
 * comment lines, then per file a "# size: N" line and a "SHA256  PATH"
 * line, so that `sha256sum -c MANIFEST` checks the files. Byte-exact
 * format: docs/bundle-format.md.
 */
#ifndef MRX_MANIFEST_H
#define MRX_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mrx_sha256.h"
#include "mrx_text.h"

#define MRX_MANIFEST_MAX (16 * 1024 * 1024) /* bytes of MANIFEST text */
#define MRX_MANIFEST_FILES_MAX 100000       /* files in one bundle */
#define MRX_PATH_MAX 1024                   /* bytes in a bundle path */
#define MRX_PATH_COMPONENT_MAX 255          /* bytes in one path component */

typedef enum {
    MRX_KIND_RECORDS,
    MRX_KIND_IMAGING,
    MRX_KIND_PHOTOS,
    MRX_KIND_PLAN,
    MRX_KIND_OPINION,
    MRX_KIND_INTAKE,
} mrx_kind;

int mrx_kind_parse(mrx_kind *out, const char *name);
const char *mrx_kind_name(mrx_kind kind);

/* True if path is a relative path mrx may write: components of 1..255
 * bytes of printable UTF-8, none "." or "..", no backslash, no leading,
 * trailing or doubled "/", at most MRX_PATH_MAX bytes. */
int mrx_path_valid(const char *path);

typedef struct mrx_manifest_entry {
    char *path;                          /* path inside the bundle */
    uint64_t size;                       /* exact size in bytes */
    char sha256[MRX_SHA256_HEX_LEN + 1]; /* SHA-256 of the content */
} mrx_manifest_entry;

typedef struct mrx_manifest mrx_manifest;

int mrx_manifest_new(mrx_manifest **out, mrx_kind kind, const char *author, time_t created);
void mrx_manifest_destroy(mrx_manifest **self_p);

/* Add a file; the path must be valid and start with "<kind>/". Paths
 * listed twice are refused by mrx_manifest_format. */
int mrx_manifest_add(mrx_manifest *self, const char *path, uint64_t size, const char *sha256);

/* The MANIFEST text; *out malloc'd. */
int mrx_manifest_format(mrx_manifest *self, char **out, size_t *out_len);

/* Parse MANIFEST text strictly; every rule of the format is checked. */
int mrx_manifest_parse(mrx_manifest **out, const char *text, size_t len);

mrx_kind mrx_manifest_kind(const mrx_manifest *self);
const char *mrx_manifest_author(const mrx_manifest *self);
time_t mrx_manifest_created(const mrx_manifest *self);
size_t mrx_manifest_count(const mrx_manifest *self);
uint64_t mrx_manifest_total(const mrx_manifest *self);
const mrx_manifest_entry *mrx_manifest_entry_at(const mrx_manifest *self, size_t i);
/* True if some listed file lies under the folder dir (no trailing "/"). */
int mrx_manifest_has_dir(const mrx_manifest *self, const char *dir);
/* Index of path, or -1. */
long mrx_manifest_find(const mrx_manifest *self, const char *path);

#endif

/*
 * mrx_manifest: build, print and parse MANIFEST.
 */
#include "mrx_manifest.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_VERSION "1"

static const char *const kind_names[] = {"records", "imaging", "photos",
                                         "plan",    "opinion", "intake"};

int
mrx_kind_parse(mrx_kind *out, const char *name)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (mrx_kind)i;
            return 0;
        }
    return mrx_error_set(MRX_EINVAL, "unknown kind \"%.32s\" (records, imaging, photos, plan, "
                                     "opinion or intake)",
                         name);
}

const char *
mrx_kind_name(mrx_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

int
mrx_path_valid(const char *path)
{
    const char *p = path, *slash;
    size_t len = strlen(path);
    char component[MRX_PATH_COMPONENT_MAX + 1];

    if (len == 0 || len > MRX_PATH_MAX || path[0] == '/' || path[len - 1] == '/' ||
        strchr(path, '\\'))
        return 0;
    for (;;) {
        size_t n;
        slash = strchr(p, '/');
        n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n > MRX_PATH_COMPONENT_MAX)
            return 0;
        memcpy(component, p, n);
        component[n] = '\0';
        if (strcmp(component, ".") == 0 || strcmp(component, "..") == 0)
            return 0;
        /* printable UTF-8; spaces inside a name are fine */
        if (component[0] != ' ' && component[n - 1] != ' ') {
            if (!mrx_text_is_single_line(component, MRX_PATH_COMPONENT_MAX))
                return 0;
        } else {
            char padded[MRX_PATH_COMPONENT_MAX + 3];
            snprintf(padded, sizeof padded, "x%sx", component);
            if (!mrx_text_is_single_line(padded, MRX_PATH_COMPONENT_MAX + 2))
                return 0;
        }
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

struct mrx_manifest {
    mrx_kind kind;                 /* what the bundle holds */
    char author[MRX_FPR_LEN + 1];  /* who signed it */
    time_t created;                /* when */
    mrx_manifest_entry *entries;   /* the files, in archive order */
    size_t count;                  /* how many */
    size_t cap;                    /* room in entries */
    uint64_t total;                /* sum of their sizes */
    size_t *sorted;                /* entry indexes sorted by path */
    int sorted_valid;              /* sorted matches entries */
};

int
mrx_manifest_new(mrx_manifest **out, mrx_kind kind, const char *author, time_t created)
{
    mrx_manifest *self;

    *out = NULL;
    if (!mrx_text_is_fpr(author))
        return mrx_error_set(MRX_EINVAL, "manifest author is not a fingerprint");
    if (!(self = calloc(1, sizeof *self)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    self->kind = kind;
    strcpy(self->author, author);
    self->created = created;
    *out = self;
    return 0;
}

void
mrx_manifest_destroy(mrx_manifest **self_p)
{
    mrx_manifest *self;

    if (!self_p || !(self = *self_p))
        return;
    for (size_t i = 0; i < self->count; i++)
        free(self->entries[i].path);
    free(self->entries);
    free(self->sorted);
    free(self);
    *self_p = NULL;
}

static int
compare_paths(const void *a, const void *b, void *arg)
{
    const mrx_manifest *self = arg;

    return strcmp(self->entries[*(const size_t *)a].path, self->entries[*(const size_t *)b].path);
}

/* Sort the index and report the first duplicate path, if any. */
static int
build_index(mrx_manifest *self)
{
    size_t *sorted;

    if (self->sorted_valid)
        return 0;
    if (!(sorted = realloc(self->sorted, (self->count ? self->count : 1) * sizeof *sorted)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    self->sorted = sorted;
    for (size_t i = 0; i < self->count; i++)
        sorted[i] = i;
    qsort_r(sorted, self->count, sizeof *sorted, compare_paths, self);
    for (size_t i = 1; i < self->count; i++)
        if (strcmp(self->entries[sorted[i - 1]].path, self->entries[sorted[i]].path) == 0)
            return mrx_error_set(MRX_EFORMAT, "manifest lists %s twice",
                                 self->entries[sorted[i]].path);
    self->sorted_valid = 1;
    return 0;
}

long
mrx_manifest_find(const mrx_manifest *self, const char *path)
{
    size_t lo = 0, hi = self->count;

    if (!self->sorted_valid)
        return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, self->entries[self->sorted[mid]].path);
        if (c == 0)
            return (long)self->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int
mrx_manifest_has_dir(const mrx_manifest *self, const char *dir)
{
    size_t lo = 0, hi = self->count, n = strlen(dir);

    if (!self->sorted_valid)
        return 0;
    /* the first path >= "dir/" is under dir if any is */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *p = self->entries[self->sorted[mid]].path;
        int c = strncmp(p, dir, n);
        if (c < 0 || (c == 0 && p[n] < '/'))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == self->count)
        return 0;
    return strncmp(self->entries[self->sorted[lo]].path, dir, n) == 0 &&
           self->entries[self->sorted[lo]].path[n] == '/';
}

static int
add_entry(mrx_manifest *self, const char *path, uint64_t size, const char *sha256)
{
    size_t prefix = strlen(mrx_kind_name(self->kind));
    mrx_manifest_entry *e;

    if (!mrx_path_valid(path))
        return mrx_error_set(MRX_EINVAL, "path \"%.80s\" is not allowed in a bundle", path);
    if (strncmp(path, mrx_kind_name(self->kind), prefix) != 0 || path[prefix] != '/')
        return mrx_error_set(MRX_EINVAL, "path %.80s is not under %s/", path,
                             mrx_kind_name(self->kind));
    if (!mrx_sha256_hex_valid(sha256))
        return mrx_error_set(MRX_EINVAL, "%.80s: bad SHA-256", path);
    if (self->count == MRX_MANIFEST_FILES_MAX)
        return mrx_error_set(MRX_ELIMIT, "more than %d files in one bundle",
                             MRX_MANIFEST_FILES_MAX);
    if (size > UINT64_MAX - self->total)
        return mrx_error_set(MRX_ELIMIT, "bundle size overflows");
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        mrx_manifest_entry *grown = realloc(self->entries, cap * sizeof *grown);
        if (!grown)
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        self->entries = grown;
        self->cap = cap;
    }
    e = &self->entries[self->count];
    if (!(e->path = strdup(path)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    e->size = size;
    strcpy(e->sha256, sha256);
    self->count++;
    self->total += size;
    self->sorted_valid = 0;
    return 0;
}

int
mrx_manifest_add(mrx_manifest *self, const char *path, uint64_t size, const char *sha256)
{
    return add_entry(self, path, size, sha256);
}

int
mrx_manifest_format(mrx_manifest *self, char **out, size_t *out_len)
{
    char created[MRX_TIME_LEN + 1];
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    *out = NULL;
    if ((rc = build_index(self)) < 0)
        return mrx_error_set(MRX_EINVAL, "%s", mrx_error_last());
    if (!(f = open_memstream(&buf, &len)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    mrx_text_format_time(created, self->created);
    fprintf(f,
            "# mrx-bundle: " MANIFEST_VERSION "\n# kind: %s\n# author: %s\n# created: %s\n"
            "# files: %zu\n# bytes: %llu\n",
            mrx_kind_name(self->kind), self->author, created, self->count,
            (unsigned long long)self->total);
    for (size_t i = 0; i < self->count; i++)
        fprintf(f, "# size: %llu\n%s  %s\n", (unsigned long long)self->entries[i].size,
                self->entries[i].sha256, self->entries[i].path);
    if (fclose(f) != 0) {
        free(buf);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    *out = buf;
    if (out_len)
        *out_len = len;
    return 0;
}

/* Next line of text (without its "\n", which must be there). */
static int
next_line(char **line, char **cursor, size_t lineno)
{
    char *nl = strchr(*cursor, '\n');

    if (!nl)
        return mrx_error_set(MRX_EFORMAT, "manifest line %zu: missing end of line", lineno);
    *nl = '\0';
    *line = *cursor;
    *cursor = nl + 1;
    return 0;
}

/* Read the header line "# key: value" with the expected key. */
static int
header_field(char **value, char **cursor, size_t lineno, const char *key)
{
    char *line = NULL, *k;
    int rc;

    if ((rc = next_line(&line, cursor, lineno)) < 0)
        return rc;
    if (strncmp(line, "# ", 2) != 0 || mrx_text_split_field(&k, value, line + 2) < 0 ||
        strcmp(k, key) != 0)
        return mrx_error_set(MRX_EFORMAT, "manifest line %zu: expected \"# %s: ...\"", lineno, key);
    return 0;
}

int
mrx_manifest_parse(mrx_manifest **out, const char *text, size_t len)
{
    mrx_manifest *self = NULL;
    char *copy = NULL, *cursor, *value = NULL, *line = NULL;
    unsigned long long files, bytes, size;
    mrx_kind kind = MRX_KIND_RECORDS;
    time_t created;
    size_t lineno = 1;
    int rc;

    *out = NULL;
    if (len > MRX_MANIFEST_MAX)
        return mrx_error_set(MRX_ELIMIT, "manifest larger than %d bytes", MRX_MANIFEST_MAX);
    if (memchr(text, '\0', len))
        return mrx_error_set(MRX_EFORMAT, "manifest holds a NUL byte");
    if (!(copy = strndup(text, len)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    cursor = copy;
    if ((rc = header_field(&value, &cursor, lineno++, "mrx-bundle")) < 0)
        goto out;
    if (strcmp(value, MANIFEST_VERSION) != 0) {
        rc = mrx_error_set(MRX_EFORMAT, "manifest version \"%.8s\" not supported", value);
        goto out;
    }
    if ((rc = header_field(&value, &cursor, lineno++, "kind")) < 0 ||
        (rc = mrx_kind_parse(&kind, value)) < 0)
        goto bad;
    if ((rc = header_field(&value, &cursor, lineno++, "author")) < 0)
        goto out;
    if ((rc = mrx_manifest_new(&self, kind, value, 0)) < 0)
        goto bad;
    if ((rc = header_field(&value, &cursor, lineno++, "created")) < 0 ||
        (rc = mrx_text_parse_time(&created, value)) < 0)
        goto bad;
    self->created = created;
    if ((rc = header_field(&value, &cursor, lineno++, "files")) < 0 ||
        (rc = mrx_text_parse_u64(&files, value)) < 0)
        goto bad;
    if (files > MRX_MANIFEST_FILES_MAX) {
        rc = mrx_error_set(MRX_ELIMIT, "manifest lists %llu files, more than %d", files,
                           MRX_MANIFEST_FILES_MAX);
        goto out;
    }
    if ((rc = header_field(&value, &cursor, lineno++, "bytes")) < 0 ||
        (rc = mrx_text_parse_u64(&bytes, value)) < 0)
        goto bad;
    while (*cursor) {
        if ((rc = header_field(&value, &cursor, lineno++, "size")) < 0 ||
            (rc = mrx_text_parse_u64(&size, value)) < 0)
            goto bad;
        if ((rc = next_line(&line, &cursor, lineno++)) < 0)
            goto out;
        if (strlen(line) < MRX_SHA256_HEX_LEN + 3 || line[MRX_SHA256_HEX_LEN] != ' ' ||
            line[MRX_SHA256_HEX_LEN + 1] != ' ') {
            rc = mrx_error_set(MRX_EFORMAT, "manifest line %zu: expected \"SHA256  PATH\"",
                               lineno - 1);
            goto out;
        }
        line[MRX_SHA256_HEX_LEN] = '\0';
        if ((rc = add_entry(self, line + MRX_SHA256_HEX_LEN + 2, size, line)) < 0)
            goto bad;
    }
    if (self->count != files || self->total != bytes) {
        rc = mrx_error_set(MRX_EFORMAT, "manifest says %llu files of %llu bytes but lists %zu "
                                        "of %llu",
                           files, bytes, self->count, (unsigned long long)self->total);
        goto out;
    }
    if ((rc = build_index(self)) < 0)
        goto out;
    *out = self;
    self = NULL;
    goto out;
bad:
    /* a value was wrong: report it as a format error of the manifest */
    rc = mrx_error_wrap(MRX_EFORMAT, "manifest line %zu", lineno - 1);
out:
    free(copy);
    mrx_manifest_destroy(&self);
    return rc;
}

mrx_kind
mrx_manifest_kind(const mrx_manifest *self)
{
    return self->kind;
}

const char *
mrx_manifest_author(const mrx_manifest *self)
{
    return self->author;
}

time_t
mrx_manifest_created(const mrx_manifest *self)
{
    return self->created;
}

size_t
mrx_manifest_count(const mrx_manifest *self)
{
    return self->count;
}

uint64_t
mrx_manifest_total(const mrx_manifest *self)
{
    return self->total;
}

const mrx_manifest_entry *
mrx_manifest_entry_at(const mrx_manifest *self, size_t i)
{
    return i < self->count ? &self->entries[i] : NULL;
}

/*
 * mrx_export: writing and importing export files (mrx_export.h,
 * docs/export-format.md). Besides the bundle code, this is the one user
 * of libarchive: an export is a tar, read and written as a stream.
 *
 * An import reads the file twice through one descriptor: first it checks
 * every entry (names, order, sizes, the header, the heads, each bundle's
 * SHA-256 and SHA256SUMS) and keeps the pack in an unlinked scratch
 * file; only a file that passes is applied: the ledger, then a second
 * pass streams the bundles into the store.
 */
#include "mrx_export.h"
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"
#include "mrx_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_ENTRY "mrx-export"
#define PACK_ENTRY "ledger.pack"
#define HEADS_ENTRY "heads"
#define SUMS_ENTRY "SHA256SUMS"
#define BUNDLE_DIR "bundles/"
#define BUNDLE_EXT ".mrx"
#define BUNDLE_NAME_LEN (sizeof BUNDLE_DIR - 1 + MRX_SHA256_HEX_LEN + sizeof BUNDLE_EXT - 1)
#define HEADER_MAX 1024                                         /* bytes of the mrx-export entry */
#define HEAD_LINE (MRX_FPR_LEN + 1 + MRX_COMMIT_HEX_LEN + 1)    /* "FPR COMMIT\n" */
#define SUM_LINE (MRX_SHA256_HEX_LEN + 2 + BUNDLE_NAME_LEN + 1) /* "ID  bundles/ID.mrx\n" */
#define CHUNK (1024 * 1024)                                     /* bytes moved at a time */
#define BLOCK (64 * 1024)                                       /* tar blocking, both ways */
#define ENTRY_MODE 0600
#define LEDGER_GIT "ledger.git" /* in a case folder (docs/ledger-format.md) */
#define STAGE_PREFIX ".import-" /* cases/.import-XXXXXX: a case taken up, not yet shown */

/* Progress in bytes of one stage. */
struct meter {
    const mrx_bundle_progress *progress; /* or NULL */
    const char *stage;                   /* its name in progress replies */
    uint64_t done, total;                /* bytes so far, and in all */
};

static void
meter_set(struct meter *m, uint64_t done)
{
    m->done = done < m->total ? done : m->total;
    if (m->progress && m->progress->fn)
        m->progress->fn(m->progress->arg, m->stage, m->done, m->total);
}

static int
no_memory(void)
{
    return mrx_error_set(MRX_ENOMEM, "out of memory");
}

static int
by_fpr(const void *a, const void *b)
{
    return strcmp(((const mrx_ledger_head *)a)->fpr, ((const mrx_ledger_head *)b)->fpr);
}

static int
by_bundle(const void *a, const void *b)
{
    return strcmp(((const mrx_event *)a)->bundle, ((const mrx_event *)b)->bundle);
}

static void
bundle_name(char name[BUNDLE_NAME_LEN + 1], const char *id)
{
    snprintf(name, BUNDLE_NAME_LEN + 1, BUNDLE_DIR "%s" BUNDLE_EXT, id);
}

/* The SHA256SUMS line of bundle id. */
static void
sum_line(char line[SUM_LINE + 1], const char *id)
{
    snprintf(line, SUM_LINE + 1, "%s  " BUNDLE_DIR "%s" BUNDLE_EXT "\n", id, id);
}

/* ---------------------------------------------------------------------
 * Writing
 */

struct writer {
    struct archive *a;  /* writing to the temporary file */
    const char *path;   /* the file being made, for messages */
    time_t mtime;       /* stamped on every entry */
    struct meter meter; /* bytes of pack and bundles written */
};

static int
write_fail(struct writer *w)
{
    return mrx_error_set(MRX_EIO, "%s: %s", w->path, archive_error_string(w->a));
}

static int
put_header(struct writer *w, const char *name, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    int rc = 0;

    if (!e)
        return no_memory();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, ENTRY_MODE);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, w->mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (archive_write_header(w->a, e) != ARCHIVE_OK)
        rc = write_fail(w);
    archive_entry_free(e);
    return rc;
}

static int
put_data(struct writer *w, const void *buf, size_t len)
{
    la_ssize_t n = len ? archive_write_data(w->a, buf, len) : 0;

    if (n < 0 || (size_t)n != len)
        return write_fail(w);
    return 0;
}

static int
put_entry(struct writer *w, const char *name, const void *data, size_t len)
{
    int rc;

    if ((rc = put_header(w, name, len)) < 0 || (rc = put_data(w, data, len)) < 0)
        return rc;
    return 0;
}

/* Stream one stored bundle into the archive, checking on the way that
 * it is the one its bundle-added names. */
static int
put_bundle(struct writer *w, mrx_node *node, const char *case_id, const mrx_event *added, char *buf)
{
    char *path = mrx_store_path(node, case_id, added->bundle), name[BUNDLE_NAME_LEN + 1];
    char hex[MRX_SHA256_HEX_LEN + 1];
    mrx_sha256 *h = NULL;
    uint64_t total = 0;
    struct stat st;
    ssize_t n;
    int fd = -1, rc;

    if (!path)
        return no_memory();
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0) {
        rc =
            mrx_error_set(MRX_EIO, "bundle %s: cannot read it: %s", added->bundle, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != added->size) {
        rc = mrx_error_set(MRX_EFORMAT,
                           "bundle %s: the stored copy has %llu bytes, its bundle-added says %llu; "
                           "nothing exported",
                           added->bundle, (unsigned long long)st.st_size,
                           (unsigned long long)added->size);
        goto out;
    }
    bundle_name(name, added->bundle);
    if ((rc = mrx_sha256_new(&h)) < 0 || (rc = put_header(w, name, added->size)) < 0)
        goto out;
    while ((n = mrx_fs_read_full(fd, buf, CHUNK)) > 0) {
        total += (uint64_t)n;
        if (total > added->size)
            break;
        if ((rc = mrx_sha256_update(h, buf, (size_t)n)) < 0 ||
            (rc = put_data(w, buf, (size_t)n)) < 0)
            goto out;
        meter_set(&w->meter, w->meter.done + (uint64_t)n);
    }
    if (n < 0) {
        rc = mrx_error_wrap((int)n, "bundle %s", added->bundle);
        goto out;
    }
    if (total != added->size || (rc = mrx_sha256_final_hex(h, hex)) < 0 ||
        strcmp(hex, added->bundle) != 0)
        rc = mrx_error_set(MRX_ECRYPTO,
                           "bundle %s: the stored copy does not hash to its id; nothing exported",
                           added->bundle);
out:
    if (fd >= 0)
        close(fd);
    mrx_sha256_destroy(&h);
    free(path);
    return rc;
}

/* Give the finished temporary file its name, never replacing one: by a
 * rename that refuses to, or a hard link where the file system cannot,
 * or (FAT, exFAT: neither) a check just before the rename. */
static int
publish(const char *tmp, const char *path)
{
    struct stat st;
    int err;

    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    err = errno;
    if (err == EINVAL || err == ENOSYS) {
        if (link(tmp, path) == 0) {
            unlink(tmp);
            return 0;
        }
        err = errno;
        if (err == EPERM || err == EOPNOTSUPP) {
            if (lstat(path, &st) == 0)
                err = EEXIST;
            else if (rename(tmp, path) == 0)
                return 0;
            else
                err = errno;
        }
    }
    if (err == EEXIST)
        return mrx_error_set(MRX_EEXIST, "%s: already exists", path);
    return mrx_error_set(MRX_EIO, "%s: cannot put it in place: %s", path, strerror(err));
}

/* The header entry's text. */
static char *
header_text(const char *case_id, const char *owner, const char *node, time_t when)
{
    char stamp[MRX_TIME_LEN + 1], *text = NULL;

    mrx_text_format_time(stamp, when);
    if (asprintf(&text, HEADER_ENTRY ": %d\ncase: %s\nowner: %s\nnode: %s\ntime: %s\n",
                 MRX_EXPORT_VERSION, case_id, owner, node, stamp) < 0)
        return NULL;
    return text;
}

/* The pack of every feed from its start, and the heads it goes up to. */
static int
pack_ledger(mrx_ledger *ledger, mrx_export_info *info, void **pack, size_t *len, char **heads_text)
{
    mrx_ledger_head *heads = NULL;
    size_t n = 0, owner_found = 0;
    char *text = NULL;
    int rc;

    *pack = NULL;
    *heads_text = NULL;
    if ((rc = mrx_ledger_heads(ledger, &heads, &n)) < 0)
        return rc;
    if (n > MRX_EXPORT_FEEDS_MAX) {
        rc = mrx_error_set(MRX_ELIMIT, "case %.16s: %zu feeds, an export holds at most %d",
                           mrx_ledger_case_id(ledger), n, MRX_EXPORT_FEEDS_MAX);
        goto out;
    }
    qsort(heads, n, sizeof *heads, by_fpr);
    for (size_t i = 0; i < n; i++) {
        owner_found += strcmp(heads[i].fpr, mrx_ledger_owner(ledger)) == 0;
        info->events += heads[i].events;
        heads[i].commit[0] = '\0'; /* the peer has nothing: from the start */
    }
    if (!owner_found) {
        rc =
            mrx_error_set(MRX_ENOTFOUND, "case %.16s: this node holds none of its owner's feed yet",
                          mrx_ledger_case_id(ledger));
        goto out;
    }
    if ((rc = mrx_ledger_pack(ledger, heads, n, (size_t)-1, pack, len)) < 0)
        goto out;
    if (*len > MRX_EXPORT_PACK_MAX) {
        rc = mrx_error_set(MRX_ELIMIT,
                           "case %.16s: its ledger packs to %zu bytes, an export holds at most %u",
                           mrx_ledger_case_id(ledger), *len, MRX_EXPORT_PACK_MAX);
        goto out;
    }
    if (!(text = malloc(n * HEAD_LINE + 1))) {
        rc = no_memory();
        goto out;
    }
    text[0] = '\0';
    /* mrx_ledger_pack named the last event packed: the head, as of now */
    for (size_t i = 0; i < n; i++) {
        if (strlen(heads[i].commit) != MRX_COMMIT_HEX_LEN) {
            rc = mrx_error_set(MRX_EIO, "case %.16s: feed %s: nothing packed",
                               mrx_ledger_case_id(ledger), heads[i].fpr);
            goto out;
        }
        sprintf(text + i * HEAD_LINE, "%s %s\n", heads[i].fpr, heads[i].commit);
    }
    info->feeds = n;
    *heads_text = text;
    text = NULL;
out:
    if (rc < 0) {
        free(*pack);
        *pack = NULL;
    }
    free(text);
    free(heads);
    return rc;
}

/* The bundles of the case this node holds, sorted by id. */
static int
held_bundles(mrx_event **out, size_t *n, mrx_export_info *info, mrx_ledger *ledger, mrx_node *node)
{
    mrx_event *all = NULL;
    size_t count = 0, kept = 0;
    int rc;

    if ((rc = mrx_case_bundles(ledger, mrx_node_pgp(node), &all, &count, NULL)) < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if (!mrx_store_has(node, mrx_ledger_case_id(ledger), all[i].bundle)) {
            info->bundles_absent++;
            continue;
        }
        info->bundle_bytes += all[i].size;
        all[kept++] = all[i];
    }
    if (kept > MRX_EXPORT_BUNDLES_MAX) {
        free(all);
        return mrx_error_set(MRX_ELIMIT, "case %.16s: %zu bundles, an export holds at most %d",
                             mrx_ledger_case_id(ledger), kept, MRX_EXPORT_BUNDLES_MAX);
    }
    if (kept)
        qsort(all, kept, sizeof *all, by_bundle);
    info->bundles = kept;
    *out = all;
    *n = kept;
    return 0;
}

static int
write_archive(struct writer *w, int fd, const char *header, const void *pack, size_t pack_len,
              const char *heads, mrx_event *bundles, size_t n, mrx_node *node, const char *case_id)
{
    char *buf = malloc(CHUNK), line[SUM_LINE + 1];
    int rc = 0;

    if (!buf || !(w->a = archive_write_new())) {
        free(buf);
        return no_memory();
    }
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->a, BLOCK) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
        rc = write_fail(w);
        goto out;
    }
    if ((rc = put_entry(w, HEADER_ENTRY, header, strlen(header))) < 0 ||
        (rc = put_entry(w, PACK_ENTRY, pack, pack_len)) < 0)
        goto out;
    meter_set(&w->meter, pack_len);
    if ((rc = put_entry(w, HEADS_ENTRY, heads, strlen(heads))) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((rc = put_bundle(w, node, case_id, &bundles[i], buf)) < 0)
            goto out;
    /* the ids are the hashes: each was just checked against its bytes */
    if ((rc = put_header(w, SUMS_ENTRY, (uint64_t)n * SUM_LINE)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        sum_line(line, bundles[i].bundle);
        if ((rc = put_data(w, line, SUM_LINE)) < 0)
            goto out;
    }
    if (archive_write_close(w->a) != ARCHIVE_OK)
        rc = write_fail(w);
out:
    archive_write_free(w->a);
    w->a = NULL;
    free(buf);
    return rc;
}

int
mrx_export_write(mrx_export_info *info, mrx_node *node, const char *case_id, const char *path,
                 const mrx_bundle_progress *progress)
{
    mrx_ledger *ledger = NULL;
    mrx_event *bundles = NULL;
    char *header = NULL, *heads = NULL, *tmp = NULL, *dir = NULL;
    void *pack = NULL;
    size_t pack_len = 0, n = 0;
    struct writer w;
    struct stat st;
    int fd = -1, rc;

    memset(info, 0, sizeof *info);
    memset(&w, 0, sizeof w);
    w.path = path;
    w.mtime = time(NULL);
    if (lstat(path, &st) == 0)
        return mrx_error_set(MRX_EEXIST, "%s: already exists", path);
    if ((rc = mrx_case_open_ledger(&ledger, node, case_id)) < 0)
        return rc;
    strcpy(info->case_id, mrx_ledger_case_id(ledger));
    if ((rc = pack_ledger(ledger, info, &pack, &pack_len, &heads)) < 0 ||
        (rc = held_bundles(&bundles, &n, info, ledger, node)) < 0)
        goto out;
    if (!(header = header_text(info->case_id, mrx_ledger_owner(ledger), mrx_node_config(node)->fpr,
                               w.mtime)) ||
        asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0 || !(dir = mrx_fs_dirname(path))) {
        tmp = NULL;
        rc = no_memory();
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        rc = mrx_error_set(errno == ENOENT   ? MRX_ENOTFOUND
                           : errno == EACCES ? MRX_EDENIED
                                             : MRX_EIO,
                           "%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    w.meter.progress = progress;
    w.meter.stage = "exporting";
    w.meter.total = pack_len + info->bundle_bytes;
    meter_set(&w.meter, 0);
    if ((rc = mrx_fs_lock(fd)) < 0 || (rc = write_archive(&w, fd, header, pack, pack_len, heads,
                                                          bundles, n, node, info->case_id)) < 0)
        goto out;
    if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot sync: %s", path, strerror(errno));
        goto out;
    }
    info->size = (uint64_t)st.st_size;
    if ((rc = publish(tmp, path)) < 0)
        goto out;
    free(tmp);
    tmp = NULL;
    rc = mrx_fs_fsync_dir(dir);
out:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(dir);
    free(header);
    free(heads);
    free(pack);
    free(bundles);
    mrx_ledger_destroy(&ledger);
    return rc;
}

/* ---------------------------------------------------------------------
 * Reading
 */

/* The entries in the order they come. As what may come next, E_BUNDLE
 * stands for "a bundle, or SHA256SUMS". */
enum entry { E_HEADER, E_PACK, E_HEADS, E_BUNDLE, E_SUMS, E_END };

/* What may come next, for messages. */
static const char *const expected_what[] = {
    [E_HEADER] = HEADER_ENTRY, [E_PACK] = PACK_ENTRY,
    [E_HEADS] = HEADS_ENTRY,   [E_BUNDLE] = "a bundle or " SUMS_ENTRY,
    [E_SUMS] = SUMS_ENTRY,     [E_END] = "the end of the archive",
};

struct reader {
    struct archive *a;  /* reading the file */
    const char *path;   /* the file, for messages */
    enum entry next;    /* what may come next */
    struct meter meter; /* bytes of the file read */
};

static int
reader_open(struct reader *r, int fd, const char *path, struct meter meter)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->meter = meter;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return mrx_error_set(MRX_EIO, "%s: cannot read it: %s", path, strerror(errno));
    if (!(r->a = archive_read_new()))
        return no_memory();
    /* a plain tar: no compression, no other format */
    if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
        archive_read_open_fd(r->a, fd, BLOCK) != ARCHIVE_OK)
        return mrx_error_set(MRX_EFORMAT, "%s: not a tar file: %s", path,
                             archive_error_string(r->a));
    meter_set(&r->meter, 0);
    return 0;
}

static void
reader_close(struct reader *r)
{
    if (r->a)
        archive_read_free(r->a);
    r->a = NULL;
}

/* An absolute name, or one with a ".." component. */
static int
name_escapes(const char *name)
{
    if (name[0] == '/')
        return 1;
    for (const char *p = name; (p = strstr(p, "..")); p += 2)
        if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

/* Which entry a name is; a bundle's id goes to id. */
static int
classify(enum entry *kind, char id[MRX_SHA256_HEX_LEN + 1], const char *name)
{
    size_t len = strlen(name);

    if (strcmp(name, HEADER_ENTRY) == 0)
        *kind = E_HEADER;
    else if (strcmp(name, PACK_ENTRY) == 0)
        *kind = E_PACK;
    else if (strcmp(name, HEADS_ENTRY) == 0)
        *kind = E_HEADS;
    else if (strcmp(name, SUMS_ENTRY) == 0)
        *kind = E_SUMS;
    else if (len == BUNDLE_NAME_LEN && strncmp(name, BUNDLE_DIR, sizeof BUNDLE_DIR - 1) == 0 &&
             strcmp(name + len - (sizeof BUNDLE_EXT - 1), BUNDLE_EXT) == 0) {
        memcpy(id, name + sizeof BUNDLE_DIR - 1, MRX_SHA256_HEX_LEN);
        id[MRX_SHA256_HEX_LEN] = '\0';
        if (!mrx_sha256_hex_valid(id))
            return -1;
        *kind = E_BUNDLE;
    } else {
        return -1;
    }
    return 0;
}

/* The next entry: a regular file with a name of the format, where that
 * name belongs. *kind is E_END at the end of a whole archive. */
static int
reader_next(struct reader *r, enum entry *kind, char id[MRX_SHA256_HEX_LEN + 1], uint64_t *size)
{
    struct archive_entry *e;
    const char *name;
    int ok, first = r->next == E_HEADER;

    switch (archive_read_next_header(r->a, &e)) {
    case ARCHIVE_OK:
        break;
    case ARCHIVE_EOF:
        if (r->next != E_END)
            return mrx_error_set(MRX_EFORMAT, "%s: ends before %s: %s", r->path,
                                 expected_what[r->next],
                                 first ? "not an mrx export" : "the file is cut short");
        *kind = E_END;
        return 0;
    default:
        return mrx_error_set(MRX_EFORMAT, "%s: %s%s", r->path, first ? "not a tar file: " : "",
                             archive_error_string(r->a));
    }
    if (!(name = archive_entry_pathname_utf8(e)) && !(name = archive_entry_pathname(e)))
        return mrx_error_set(MRX_EFORMAT, "%s: an entry with an unreadable name", r->path);
    if (name_escapes(name))
        return mrx_error_set(
            MRX_EFORMAT, "%s: entry \"%.100s\": a path outside the archive (absolute, or with ..)",
            r->path, name);
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
        archive_entry_symlink(e))
        return mrx_error_set(MRX_EFORMAT, "%s: entry \"%.100s\": not a regular file", r->path,
                             name);
    if (classify(kind, id, name) < 0)
        return mrx_error_set(MRX_EFORMAT, "%s: entry \"%.100s\": not part of an mrx export",
                             r->path, name);
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
        return mrx_error_set(MRX_EFORMAT, "%s: entry %s: no size", r->path, name);
    *size = (uint64_t)archive_entry_size(e);
    ok = *kind == r->next || (r->next == E_BUNDLE && *kind == E_SUMS);
    if (!ok)
        return mrx_error_set(MRX_EFORMAT, "%s: entry %s: out of place or given twice (%s expected)",
                             r->path, name, expected_what[r->next]);
    if (*kind == E_SUMS)
        r->next = E_END;
    else if (*kind != E_BUNDLE)
        r->next = *kind + 1;
    return 0;
}

/* Read up to len bytes of the entry's data; 0 at its end. */
static ssize_t
reader_data(struct reader *r, void *buf, size_t len)
{
    la_ssize_t n = archive_read_data(r->a, buf, len);

    if (n < 0)
        return mrx_error_set(MRX_EFORMAT, "%s: %s", r->path, archive_error_string(r->a));
    meter_set(&r->meter, (uint64_t)archive_filter_bytes(r->a, -1));
    return n;
}

/* A small entry, whole: *out malloc'd and NUL-terminated. */
static int
reader_small(struct reader *r, char **out, uint64_t size, uint64_t max, const char *what)
{
    size_t got = 0;
    ssize_t n = 0;

    *out = NULL;
    if (size > max)
        return mrx_error_set(MRX_ELIMIT, "%s: %s is %llu bytes, at most %llu are allowed", r->path,
                             what, (unsigned long long)size, (unsigned long long)max);
    if (!(*out = malloc(size + 1)))
        return no_memory();
    while (got < size && (n = reader_data(r, *out + got, size - got)) > 0)
        got += (size_t)n;
    if (got < size) {
        free(*out);
        *out = NULL;
        return n < 0 ? (int)n : mrx_error_set(MRX_EFORMAT, "%s: %s is cut short", r->path, what);
    }
    (*out)[size] = '\0';
    return 0;
}

/* An entry's data, thrown away. */
static int
reader_skip(struct reader *r)
{
    if (archive_read_data_skip(r->a) != ARCHIVE_OK)
        return mrx_error_set(MRX_EFORMAT, "%s: %s", r->path, archive_error_string(r->a));
    meter_set(&r->meter, (uint64_t)archive_filter_bytes(r->a, -1));
    return 0;
}

/* ---------------------------------------------------------------------
 * Checking a file (the first pass)
 */

/* What the first pass found, and what the import then works with. */
struct import {
    mrx_node *node;
    const char *path; /* the file */
    int fd;           /* open on it, for both passes */
    uint64_t file_size;
    const mrx_bundle_progress *progress;
    mrx_export_report *report; /* being filled */
    mrx_ledger_head *heads;    /* the heads entry */
    size_t n_heads;
    int pack_fd; /* an unlinked scratch file holding ledger.pack */
    size_t pack_len;
    mrx_ledger *ledger; /* the case, once taken up */
    char *stage;        /* cases/.import-XXXXXX, while used */
    int stage_lock;     /* held on it */
};

static int
parse_header(struct import *im, char *text, size_t len)
{
    static const char *const keys[] = {HEADER_ENTRY, "case", "owner", "node", "time"};
    mrx_export_report *rep = im->report;
    char *line = text, *key, *value, *nl;

    if (memchr(text, '\0', len))
        return mrx_error_set(MRX_EFORMAT, "%s: bad " HEADER_ENTRY " entry: a NUL byte", im->path);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, line = nl + 1) {
        if (!(nl = memchr(line, '\n', len - (size_t)(line - text))) ||
            (*nl = '\0', mrx_text_split_field(&key, &value, line) < 0) || strcmp(key, keys[i]) != 0)
            return mrx_error_set(MRX_EFORMAT,
                                 "%s: bad " HEADER_ENTRY " entry: line %zu must be \"%s: ...\"",
                                 im->path, i + 1, keys[i]);
        if ((i == 0 && strcmp(value, "1") != 0) || (i == 1 && !mrx_sha256_hex_valid(value)) ||
            ((i == 2 || i == 3) && !mrx_text_is_fpr(value)) ||
            (i == 4 && mrx_text_parse_time(&rep->exported, value) < 0))
            return mrx_error_set(MRX_EFORMAT, "%s: bad " HEADER_ENTRY " entry: %s \"%.80s\"%s",
                                 im->path, keys[i], value,
                                 i == 0 ? " (this mrx reads version 1)" : "");
        if (i == 1)
            strcpy(rep->case_id, value);
        else if (i == 2)
            strcpy(rep->owner, value);
        else if (i == 3)
            strcpy(rep->from, value);
    }
    if ((size_t)(line - text) != len)
        return mrx_error_set(MRX_EFORMAT,
                             "%s: bad " HEADER_ENTRY " entry: more than its five lines", im->path);
    return 0;
}

static int
is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int
parse_heads(struct import *im, const char *text, size_t len)
{
    int owner_found = 0;

    if (len == 0 || len % HEAD_LINE != 0)
        return mrx_error_set(MRX_EFORMAT,
                             "%s: bad " HEADS_ENTRY " entry: not lines of \"FINGERPRINT COMMIT\"",
                             im->path);
    if (!(im->heads = calloc(len / HEAD_LINE, sizeof *im->heads)))
        return no_memory();
    for (const char *l = text; l < text + len; l += HEAD_LINE) {
        mrx_ledger_head *h = &im->heads[im->n_heads];
        memcpy(h->fpr, l, MRX_FPR_LEN);
        memcpy(h->commit, l + MRX_FPR_LEN + 1, MRX_COMMIT_HEX_LEN);
        if (!mrx_text_is_fpr(h->fpr) || l[MRX_FPR_LEN] != ' ' ||
            !is_lower_hex(h->commit, MRX_COMMIT_HEX_LEN) || l[HEAD_LINE - 1] != '\n')
            return mrx_error_set(MRX_EFORMAT, "%s: bad " HEADS_ENTRY " entry: line %zu", im->path,
                                 im->n_heads + 1);
        if (im->n_heads && strcmp(im->heads[im->n_heads - 1].fpr, h->fpr) >= 0)
            return mrx_error_set(MRX_EFORMAT,
                                 "%s: bad " HEADS_ENTRY
                                 " entry: feeds not in order, or one given twice (line %zu)",
                                 im->path, im->n_heads + 1);
        owner_found |= strcmp(h->fpr, im->report->owner) == 0;
        im->n_heads++;
    }
    if (!owner_found)
        return mrx_error_set(MRX_EFORMAT, "%s: bad " HEADS_ENTRY " entry: no feed of the owner",
                             im->path);
    return 0;
}

/* ledger.pack into an unlinked scratch file. */
static int
save_pack(struct import *im, struct reader *r, uint64_t size, char *buf)
{
    char *tmp = mrx_fs_join(mrx_node_scratch(im->node), "import-pack-XXXXXX");
    ssize_t n;
    int rc = 0;

    if (size == 0 || size > MRX_EXPORT_PACK_MAX) {
        free(tmp);
        return mrx_error_set(size ? MRX_ELIMIT : MRX_EFORMAT,
                             "%s: " PACK_ENTRY " is %llu bytes (1 to %u)", im->path,
                             (unsigned long long)size, MRX_EXPORT_PACK_MAX);
    }
    if (!tmp)
        return no_memory();
    if ((rc = mrx_fs_mkdir_p(mrx_node_scratch(im->node), 0700)) < 0 ||
        (im->pack_fd = mkstemp(tmp)) < 0) {
        rc = rc ? rc : mrx_error_set(MRX_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    unlink(tmp);
    free(tmp);
    while ((n = reader_data(r, buf, CHUNK)) > 0)
        if ((rc = mrx_fs_write_all(im->pack_fd, buf, (size_t)n)) < 0)
            return rc;
    im->pack_len = (size_t)size;
    return n < 0 ? (int)n : 0;
}

/* A bundle entry: its bytes must hash to its name. */
static int
check_bundle(struct import *im, struct reader *r, const char *id, uint64_t size, char *buf)
{
    mrx_export_report *rep = im->report;
    char hex[MRX_SHA256_HEX_LEN + 1];
    mrx_sha256 *h = NULL;
    ssize_t n;
    int rc;

    if (rep->n_bundles == MRX_EXPORT_BUNDLES_MAX)
        return mrx_error_set(MRX_ELIMIT, "%s: more than %d bundles", im->path,
                             MRX_EXPORT_BUNDLES_MAX);
    if (rep->n_bundles % 64 == 0) {
        mrx_import_bundle *grown =
            realloc(rep->bundles, (rep->n_bundles + 64) * sizeof *rep->bundles);
        if (!grown)
            return no_memory();
        rep->bundles = grown;
    }
    if ((rc = mrx_sha256_new(&h)) < 0)
        return rc;
    while ((n = reader_data(r, buf, CHUNK)) > 0)
        if ((rc = mrx_sha256_update(h, buf, (size_t)n)) < 0)
            goto out;
    if (n < 0) {
        rc = (int)n;
        goto out;
    }
    if ((rc = mrx_sha256_final_hex(h, hex)) < 0)
        goto out;
    if (strcmp(hex, id) != 0) {
        rc = mrx_error_set(MRX_ECRYPTO,
                           "bundle %s: its bytes in %s do not hash to its id (sha256 %s): the file "
                           "is damaged; nothing imported",
                           id, im->path, hex);
        goto out;
    }
    memset(&rep->bundles[rep->n_bundles], 0, sizeof *rep->bundles);
    strcpy(rep->bundles[rep->n_bundles].id, id);
    rep->bundles[rep->n_bundles].size = size;
    rep->n_bundles++;
out:
    mrx_sha256_destroy(&h);
    return rc;
}

static int
by_id(const void *a, const void *b)
{
    return strcmp(((const mrx_import_bundle *)a)->id, ((const mrx_import_bundle *)b)->id);
}

/* SHA256SUMS: one line per bundle entry, in their order. */
static int
check_sums(struct import *im, struct reader *r, uint64_t size, char *buf)
{
    mrx_export_report *rep = im->report;
    char line[SUM_LINE + 1];
    uint64_t at = 0;
    ssize_t n;

    if (size != (uint64_t)rep->n_bundles * SUM_LINE)
        return mrx_error_set(MRX_EFORMAT,
                             "%s: " SUMS_ENTRY " does not list exactly the %zu bundles of the file",
                             im->path, rep->n_bundles);
    while ((n = reader_data(r, buf, CHUNK)) > 0)
        for (ssize_t i = 0; i < n; i++, at++) {
            if (at % SUM_LINE == 0)
                sum_line(line, rep->bundles[at / SUM_LINE].id);
            if (buf[i] != line[at % SUM_LINE])
                return mrx_error_set(MRX_EFORMAT, "%s: " SUMS_ENTRY " line %llu is not \"%.*s\"",
                                     im->path, (unsigned long long)(at / SUM_LINE + 1),
                                     (int)SUM_LINE - 1, line);
        }
    return n < 0 ? (int)n : 0;
}

/* The first pass: the whole file, checked. */
static int
check_file(struct import *im)
{
    struct meter m = {im->progress, "checking", 0, im->file_size};
    mrx_import_bundle *sorted = NULL;
    char *buf = malloc(CHUNK), *text = NULL, id[MRX_SHA256_HEX_LEN + 1];
    struct reader r;
    enum entry kind = E_HEADER;
    uint64_t size;
    int rc;

    if (!buf)
        return no_memory();
    if ((rc = reader_open(&r, im->fd, im->path, m)) < 0)
        goto out;
    do {
        if ((rc = reader_next(&r, &kind, id, &size)) < 0)
            goto out;
        switch (kind) {
        case E_HEADER:
            rc = reader_small(&r, &text, size, HEADER_MAX, HEADER_ENTRY);
            if (rc == 0)
                rc = parse_header(im, text, (size_t)size);
            break;
        case E_PACK:
            rc = save_pack(im, &r, size, buf);
            break;
        case E_HEADS:
            rc = reader_small(&r, &text, size, (uint64_t)MRX_EXPORT_FEEDS_MAX * HEAD_LINE,
                              HEADS_ENTRY);
            if (rc == 0)
                rc = parse_heads(im, text, (size_t)size);
            break;
        case E_BUNDLE:
            rc = check_bundle(im, &r, id, size, buf);
            break;
        case E_SUMS:
            rc = check_sums(im, &r, size, buf);
            break;
        case E_END:
            break;
        }
        free(text);
        text = NULL;
    } while (rc == 0 && kind != E_END);
    if (rc < 0)
        goto out;
    meter_set(&r.meter, r.meter.total);
    if (im->report->n_bundles < 2)
        goto out;
    /* each bundle once */
    if (!(sorted = malloc(im->report->n_bundles * sizeof *sorted))) {
        rc = no_memory();
        goto out;
    }
    memcpy(sorted, im->report->bundles, im->report->n_bundles * sizeof *sorted);
    qsort(sorted, im->report->n_bundles, sizeof *sorted, by_id);
    for (size_t i = 1; i < im->report->n_bundles && rc == 0; i++)
        if (strcmp(sorted[i - 1].id, sorted[i].id) == 0)
            rc = mrx_error_set(MRX_EFORMAT, "%s: bundle %s is given twice", im->path, sorted[i].id);
out:
    reader_close(&r);
    free(sorted);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------------
 * Applying the ledger
 */

/* Whether the ledger proves its case (the owner's feed is there) and
 * node takes part in it: its owner, or an active member. */
static int
takes_part(mrx_ledger *ledger, mrx_node *node)
{
    const char *me = mrx_node_config(node)->fpr, *owner = mrx_ledger_owner(ledger);
    mrx_ledger_head *heads = NULL;
    const mrx_member *m;
    mrx_case *c = NULL;
    size_t n = 0;
    int proven = 0, yes;

    if (mrx_ledger_heads(ledger, &heads, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        proven |= strcmp(heads[i].fpr, owner) == 0;
    free(heads);
    if (!proven)
        return 0;
    if (strcmp(me, owner) == 0)
        return 1;
    if (mrx_case_load(&c, ledger, mrx_node_pgp(node)) < 0)
        return 0;
    yes = (m = mrx_case_member(c, me)) && m->active;
    mrx_case_destroy(&c);
    return yes;
}

/* Add a line to what the import refused. */
static int note_refused(mrx_export_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
note_refused(mrx_export_report *rep, const char *fmt, ...)
{
    char *line = NULL, **grown;
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (len < 0 || !(grown = realloc(rep->refused, (rep->n_refused + 1) * sizeof *grown))) {
        free(len < 0 ? NULL : line);
        return no_memory();
    }
    rep->refused = grown;
    rep->refused[rep->n_refused++] = line;
    return 0;
}

/* Keep the lines of an ingest report that say a feed was refused. */
static int
note_refusals(mrx_export_report *rep, const char *report)
{
    int rc = 0;

    for (const char *l = report; l && *l && rc == 0;) {
        size_t len = strcspn(l, "\n");
        if (memmem(l, len, ": refused: ", 11))
            rc = note_refused(rep, "%.*s", (int)len, l);
        l += len + (l[len] == '\n');
    }
    return rc;
}

/* Count a feed the import moved on by events. */
static int
note_feed(mrx_export_report *rep, const char *fpr, unsigned long long events)
{
    mrx_import_feed *grown = realloc(rep->feeds, (rep->n_feeds + 1) * sizeof *grown);

    if (!grown)
        return no_memory();
    rep->feeds = grown;
    strcpy(rep->feeds[rep->n_feeds].fpr, fpr);
    rep->feeds[rep->n_feeds++].events = events;
    return 0;
}

/* Unpack the file's pack beside ledger: *dir is a source for ingest. */
static int
unpack(struct import *im, mrx_ledger *ledger, char **dir)
{
    void *map = mmap(NULL, im->pack_len, PROT_READ, MAP_PRIVATE, im->pack_fd, 0);
    int rc;

    *dir = NULL;
    if (map == MAP_FAILED)
        return mrx_error_set(MRX_EIO, "%s: cannot map " PACK_ENTRY ": %s", im->path,
                             strerror(errno));
    rc = mrx_ledger_unpack(ledger, dir, map, im->pack_len, im->heads, im->n_heads);
    munmap(map, im->pack_len);
    return rc < 0 ? mrx_error_wrap(rc, "%s: " PACK_ENTRY, im->path) : 0;
}

/* Ingest source into ledger as sync does; refusals are noted, and what
 * moved is counted against the heads before. */
static int
ingest(struct import *im, mrx_ledger *ledger, const char *source)
{
    mrx_export_report *rep = im->report;
    mrx_ledger_head *before = NULL, *after = NULL;
    size_t n_before = 0, n_after = 0;
    char *text = NULL;
    int rc;

    if ((rc = mrx_ledger_heads(ledger, &before, &n_before)) < 0)
        return rc;
    rc = mrx_case_ingest(ledger, im->node, source, NULL, &text);
    if (rc < 0 && (!text || !strstr(text, ": refused: ")))
        goto out; /* not a refusal: the system failed */
    if ((rc = note_refusals(rep, text)) < 0 ||
        (rc = mrx_ledger_heads(ledger, &after, &n_after)) < 0)
        goto out;
    for (size_t i = 0; i < n_after && rc == 0; i++) {
        unsigned long long was = 0;
        for (size_t j = 0; j < n_before; j++)
            if (strcmp(before[j].fpr, after[i].fpr) == 0)
                was = before[j].events;
        if (after[i].events > was)
            rc = note_feed(rep, after[i].fpr, after[i].events - was);
    }
out:
    free(text);
    free(before);
    free(after);
    return rc;
}

/* Take up a case in a staging folder of its own, cases/.import-XXXXXX,
 * where nobody sees it: the owner's feed first; only if that proves the
 * case and makes this node a member are the other feeds taken (and the
 * members' keys imported). */
static int
stage_case(struct import *im, mrx_ledger **staged, char **dir)
{
    const char *cases = mrx_node_cases(im->node), *owner = im->report->owner;
    size_t added = 0;
    int rc;

    *staged = NULL;
    *dir = NULL;
    if ((rc = mrx_fs_mkdir_p(cases, 0700)) < 0)
        return rc;
    mrx_fs_remove_stale(cases, STAGE_PREFIX);
    if (!(im->stage = mrx_fs_join(cases, STAGE_PREFIX "XXXXXX")))
        return no_memory();
    if (!mkdtemp(im->stage)) {
        free(im->stage);
        im->stage = NULL;
        return mrx_error_set(MRX_EIO, "%s: cannot take up a case: %s", cases, strerror(errno));
    }
    if ((im->stage_lock = open(im->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return mrx_error_set(MRX_EIO, "%s: %s", im->stage, strerror(errno));
    if ((rc = mrx_fs_lock(im->stage_lock)) < 0 ||
        (rc = mrx_ledger_adopt(staged, im->stage, im->report->case_id, owner)) < 0 ||
        (rc = unpack(im, *staged, dir)) < 0)
        return rc;
    rc = mrx_ledger_ingest_feed(*staged, mrx_node_pgp(im->node), *dir, owner, NULL, NULL, NULL,
                                &added);
    if (rc < 0 || added == 0)
        return mrx_error_set(
            rc < 0 ? rc : MRX_EFORMAT, "%s: its ledger does not prove case %.16s: %s", im->path,
            im->report->case_id, rc < 0 ? mrx_error_last() : "no feed of its owner");
    if (!takes_part(*staged, im->node))
        return mrx_error_set(MRX_EDENIED, "case %.16s: this node is not a member; nothing imported",
                             im->report->case_id);
    if ((rc = note_feed(im->report, owner, added)) < 0)
        return rc;
    return ingest(im, *staged, *dir);
}

/* The ledger part of an import: into the case this node holds and takes
 * part in, or through a staging folder. */
static int
apply_ledger(struct import *im)
{
    mrx_export_report *rep = im->report;
    mrx_ledger *staged = NULL;
    char *dir = NULL, *from = NULL, *to = NULL;
    int rc;

    if (!mrx_node_knows(im->node, rep->owner))
        return mrx_error_set(MRX_ENOTFOUND,
                             "case %.16s: its owner %s is not an imported peer (mrx peer add)",
                             rep->case_id, rep->owner);
    rc = mrx_case_open_ledger(&im->ledger, im->node, rep->case_id);
    if (rc < 0 && rc != MRX_ENOTFOUND)
        return rc;
    if (im->ledger && strcmp(mrx_ledger_owner(im->ledger), rep->owner) != 0)
        return mrx_error_set(MRX_EFORMAT, "%s: names %s as the owner of case %.16s, which is %s's",
                             im->path, rep->owner, rep->case_id, mrx_ledger_owner(im->ledger));
    if (im->ledger && takes_part(im->ledger, im->node)) {
        if ((rc = unpack(im, im->ledger, &dir)) == 0)
            rc = ingest(im, im->ledger, dir);
        goto out;
    }
    if ((rc = stage_case(im, &staged, &dir)) < 0)
        goto out;
    mrx_fs_remove_tree(dir);
    free(dir);
    dir = NULL;
    if (!(from = mrx_fs_join(im->stage, rep->case_id)) ||
        !(to = mrx_fs_join(mrx_node_cases(im->node), rep->case_id))) {
        rc = no_memory();
        goto out;
    }
    if (!im->ledger) {
        /* a new case appears whole, proven and ours to hold */
        mrx_ledger_destroy(&staged);
        if (rename(from, to) == 0) {
            rep->new_case = 1;
            if ((rc = mrx_fs_fsync_dir(mrx_node_cases(im->node))) == 0)
                rc = mrx_ledger_open(&im->ledger, to);
            goto out;
        }
        if (errno != EEXIST && errno != ENOTEMPTY) {
            rc = mrx_error_set(MRX_EIO, "case %.16s: cannot move into place: %s", rep->case_id,
                               strerror(errno));
            goto out;
        }
        /* taken up meanwhile (by sync): go on as for a case held */
        if ((rc = mrx_case_open_ledger(&im->ledger, im->node, rep->case_id)) < 0)
            goto out;
    }
    /* held, but not as a member: the staged copy says it is one now;
     * what counts is what the held copy takes from it */
    free(rep->feeds);
    rep->feeds = NULL;
    rep->n_feeds = 0;
    for (size_t i = 0; i < rep->n_refused; i++)
        free(rep->refused[i]);
    rep->n_refused = 0;
    if (!(dir = mrx_fs_join(from, LEDGER_GIT))) {
        rc = no_memory();
        goto out;
    }
    rc = ingest(im, im->ledger, dir);
    free(dir);
    dir = NULL;
out:
    if (dir) {
        mrx_fs_remove_tree(dir);
        free(dir);
    }
    mrx_ledger_destroy(&staged);
    free(from);
    free(to);
    return rc;
}

/* ---------------------------------------------------------------------
 * Storing the bundles (the second pass)
 */

/* Decide each bundle entry against the case as it now verifies. Returns
 * how many are to be stored. */
static int
judge_bundles(struct import *im, size_t *to_store)
{
    mrx_export_report *rep = im->report;
    const char *me = mrx_node_config(im->node)->fpr;
    mrx_event *added = NULL, key;
    mrx_case *c = NULL;
    size_t n = 0;
    int rc;

    *to_store = 0;
    if ((rc = mrx_case_load(&c, im->ledger, mrx_node_pgp(im->node))) < 0 ||
        (rc = mrx_case_bundles(im->ledger, mrx_node_pgp(im->node), &added, &n, NULL)) < 0)
        goto out;
    if (n)
        qsort(added, n, sizeof *added, by_bundle);
    for (size_t i = 0; i < rep->n_bundles && rc == 0; i++) {
        mrx_import_bundle *b = &rep->bundles[i];
        const mrx_event *ev;

        strcpy(key.bundle, b->id);
        ev = n ? bsearch(&key, added, n, sizeof *added, by_bundle) : NULL;
        b->outcome = MRX_IMPORT_REFUSED;
        if (!ev)
            rc = note_refused(
                rep, "bundle %s: no verified bundle-added of the case names it; not stored", b->id);
        else if (ev->size != b->size)
            rc = note_refused(rep,
                              "bundle %s: %llu bytes, but its bundle-added says %llu; not stored",
                              b->id, (unsigned long long)b->size, (unsigned long long)ev->size);
        else if (!mrx_case_may_hold(c, me, ev))
            b->outcome = MRX_IMPORT_SKIPPED;
        else if (mrx_store_has(im->node, rep->case_id, b->id))
            b->outcome = MRX_IMPORT_PRESENT;
        else {
            b->outcome = MRX_IMPORT_STORED;
            (*to_store)++;
        }
    }
out:
    free(added);
    mrx_case_destroy(&c);
    return rc;
}

/* Stream one bundle entry into the store: it becomes visible only if its
 * bytes hash to its id. */
static int
store_bundle(struct import *im, struct reader *r, mrx_import_bundle *b, char *chunk)
{
    mrx_store_partial *p = NULL;
    uint64_t offset = 0;
    size_t fill = 0;
    ssize_t n = 1;
    int rc;

    rc = mrx_store_partial_open(&p, &offset, im->node, im->report->case_id, b->id, b->size);
    if (rc == MRX_EEXIST) {
        b->outcome = MRX_IMPORT_PRESENT; /* arrived meanwhile */
        return reader_skip(r);
    }
    if (rc < 0)
        return rc;
    /* a partial file left before is taken up where its whole chunks end */
    for (uint64_t skipped = 0; skipped < offset && rc == 0; skipped += (uint64_t)n) {
        size_t want =
            offset - skipped < MRX_STORE_CHUNK ? (size_t)(offset - skipped) : MRX_STORE_CHUNK;
        if ((n = reader_data(r, chunk, want)) <= 0)
            rc = n < 0 ? (int)n : mrx_error_set(MRX_EFORMAT, "%s: cut short", im->path);
    }
    while (rc == 0 && n > 0) {
        while (fill < MRX_STORE_CHUNK &&
               (n = reader_data(r, chunk + fill, MRX_STORE_CHUNK - fill)) > 0)
            fill += (size_t)n;
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (fill && (rc = mrx_store_partial_write(p, offset, chunk, fill)) < 0)
            break;
        offset += fill;
        fill = 0;
    }
    if (rc < 0) {
        mrx_store_partial_destroy(&p); /* kept, for the next try to go on from */
        return rc;
    }
    return mrx_store_partial_commit(&p);
}

/* The second pass: the same entries again, the bundles to store into the
 * store. The file must not have changed since the first. */
static int
store_bundles(struct import *im)
{
    struct meter m = {im->progress, "importing", 0, im->file_size};
    mrx_export_report *rep = im->report;
    char *chunk = malloc(MRX_STORE_CHUNK), id[MRX_SHA256_HEX_LEN + 1];
    size_t i = 0;
    struct reader r;
    enum entry kind = E_HEADER;
    uint64_t size;
    int rc;

    if (!chunk)
        return no_memory();
    if ((rc = reader_open(&r, im->fd, im->path, m)) < 0)
        goto out;
    while ((rc = reader_next(&r, &kind, id, &size)) == 0 && kind != E_END) {
        if (kind == E_BUNDLE && (i == rep->n_bundles || strcmp(id, rep->bundles[i].id) != 0 ||
                                 size != rep->bundles[i].size)) {
            rc = mrx_error_set(MRX_EIO, "%s: changed while being imported", im->path);
            break;
        }
        if (kind == E_BUNDLE && rep->bundles[i].outcome == MRX_IMPORT_STORED)
            rc = store_bundle(im, &r, &rep->bundles[i], chunk);
        else
            rc = reader_skip(&r);
        i += kind == E_BUNDLE;
        if (rc < 0)
            break;
    }
    if (rc == 0 && i != rep->n_bundles)
        rc = mrx_error_set(MRX_EIO, "%s: changed while being imported", im->path);
    if (rc == 0)
        meter_set(&r.meter, m.total);
out:
    reader_close(&r);
    free(chunk);
    return rc;
}

int
mrx_export_import(mrx_export_report *report, mrx_node *node, const char *path,
                  const mrx_bundle_progress *progress)
{
    struct import im;
    struct stat st;
    size_t to_store = 0;
    int rc;

    memset(report, 0, sizeof *report);
    memset(&im, 0, sizeof im);
    im.node = node;
    im.path = path;
    im.progress = progress;
    im.report = report;
    im.pack_fd = im.stage_lock = -1;
    if ((im.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return mrx_error_set(errno == ENOENT ? MRX_ENOTFOUND : MRX_EIO, "%s: %s", path,
                             strerror(errno));
    if (fstat(im.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = mrx_error_set(MRX_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    im.file_size = (uint64_t)st.st_size;
    if ((rc = check_file(&im)) < 0 || (rc = apply_ledger(&im)) < 0 ||
        (rc = judge_bundles(&im, &to_store)) < 0)
        goto out;
    if (to_store)
        rc = store_bundles(&im);
out:
    if (im.stage) {
        mrx_fs_remove_tree(im.stage);
        free(im.stage);
    }
    if (im.stage_lock >= 0)
        close(im.stage_lock);
    if (im.pack_fd >= 0)
        close(im.pack_fd);
    close(im.fd);
    free(im.heads);
    mrx_ledger_destroy(&im.ledger);
    if (rc < 0)
        mrx_export_report_release(report);
    return rc;
}

void
mrx_export_report_release(mrx_export_report *report)
{
    for (size_t i = 0; i < report->n_refused; i++)
        free(report->refused[i]);
    free(report->refused);
    free(report->feeds);
    free(report->bundles);
    memset(report, 0, sizeof *report);
}

/*
 * mrx_bundle: streaming bundle writer and reader.
 *
 * Writing is a pipeline of two threads and gpg: the archive thread reads
 * the files, checks them against the manifest hashes taken in a first
 * pass, and writes the (compressed) tar into a pipe; the calling thread
 * runs the GPGME encryption that reads that pipe and hashes and stores the
 * ciphertext. Opening mirrors it: the calling thread runs the decryption
 * into a pipe; the extraction thread reads the tar from it, verifies the
 * manifest signature before any file, and checks every file as it lands
 * in a private staging folder.
 */
#include "mrx_bundle.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK (1024 * 1024)                 /* bytes read from a file at a time */
#define EXTRACT_CHUNK (64 * 1024)           /* bytes written to a file at a time */
#define PUMP_CHUNK (256 * 1024)             /* ciphertext moved at a time */
#define HASH_THREADS 2                      /* first-pass hashing in parallel */
#define PIPE_BYTES (1024 * 1024)            /* kernel pipe buffer we ask for */
#define SIG_MAX (64 * 1024)                 /* bytes of MANIFEST.sig */
#define WALK_DEPTH_MAX 64                   /* folder nesting when bundling */
#define SAMPLE_PER_FILE (128 * 1024)        /* compressibility probe per file */
#define SAMPLE_TOTAL (8 * 1024 * 1024)      /* and in all */
#define COMPRESS_WORTH 0.90                 /* compress if zstd saves >= 10% */
#define TRAILER_MAX (1024 * 1024)           /* slack allowed after the tar */
#define ZSTD_LEVEL "3"

/* Set by mrx_bundle_interrupt (from a signal handler); every loop that
 * moves a chunk checks it, so an interrupted run cleans up after itself. */
static volatile sig_atomic_t interrupted;

void
mrx_bundle_interrupt(void)
{
    interrupted = 1;
}

int
mrx_bundle_interrupted(void)
{
    return interrupted != 0;
}

static int
check_interrupted(void)
{
    return interrupted ? mrx_error_set(MRX_EIO, "interrupted") : 0;
}

/* Bytes of one stage done so far, shared by the threads working on it. */
struct meter {
    const mrx_bundle_progress *progress; /* whom to tell, or NULL */
    const char *stage;                   /* what is being done */
    _Atomic uint64_t done;               /* bytes so far */
    uint64_t total;                      /* bytes in all */
};

static void
meter_add(struct meter *m, uint64_t n)
{
    uint64_t done;

    if (!m || !m->progress || !m->progress->fn)
        return;
    done = atomic_fetch_add(&m->done, n) + n;
    m->progress->fn(m->progress->arg, m->stage, done, m->total);
}

static void
meter_start(struct meter *m, const mrx_bundle_progress *progress, const char *stage,
            uint64_t total)
{
    m->progress = progress;
    m->stage = stage;
    atomic_store(&m->done, 0);
    m->total = total;
    meter_add(m, 0);
}

/* ---------------------------------------------------------------------
 * Collecting the inputs
 */

/* One file to bundle. */
struct input {
    char *src;              /* where it is on disk */
    char *path;             /* where it goes in the bundle */
    int follow;             /* named on the command line: links followed */
    dev_t dev;              /* identity and state seen in the first pass, */
    ino_t ino;              /* checked again when it is archived */
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
    char sha256[MRX_SHA256_HEX_LEN + 1]; /* content hash from the first pass */
};

/* True if st is the file the first pass hashed, unchanged since: same
 * inode, size, and modification and change times (the change time cannot
 * be set back by a user). */
static int
unchanged(const struct input *item, const struct stat *st)
{
    return st->st_dev == item->dev && st->st_ino == item->ino && st->st_size == item->size &&
           st->st_mtim.tv_sec == item->mtime.tv_sec &&
           st->st_mtim.tv_nsec == item->mtime.tv_nsec &&
           st->st_ctim.tv_sec == item->ctime.tv_sec && st->st_ctim.tv_nsec == item->ctime.tv_nsec;
}

struct inputs {
    struct input *items;
    size_t count, cap;
};

static void
inputs_release(struct inputs *in)
{
    for (size_t i = 0; i < in->count; i++) {
        free(in->items[i].src);
        free(in->items[i].path);
    }
    free(in->items);
    memset(in, 0, sizeof *in);
}

static int
inputs_push(struct inputs *in, const char *src, const char *path, int follow)
{
    struct input *item;

    if (in->count == MRX_MANIFEST_FILES_MAX)
        return mrx_error_set(MRX_ELIMIT, "more than %d files in one bundle",
                             MRX_MANIFEST_FILES_MAX);
    if (in->count == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 32;
        struct input *grown = realloc(in->items, cap * sizeof *grown);
        if (!grown)
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        in->items = grown;
        in->cap = cap;
    }
    item = &in->items[in->count];
    memset(item, 0, sizeof *item);
    item->src = strdup(src);
    item->path = strdup(path);
    item->follow = follow;
    if (!item->src || !item->path) {
        free(item->src);
        free(item->path);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    in->count++;
    return 0;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add every regular file under the folder src as path/..., sorted, refusing
 * links and special files (a bundle holds regular files only). */
static int
walk_folder(struct inputs *in, const char *src, const char *path, int depth)
{
    DIR *dir = NULL;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (depth > WALK_DEPTH_MAX)
        return mrx_error_set(MRX_ELIMIT, "%s: folders nested deeper than %d", src,
                             WALK_DEPTH_MAX);
    if (!(dir = opendir(src)))
        return mrx_error_set(MRX_EIO, "%s: cannot read folder: %s", src, strerror(errno));
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            char **grown;
            cap = cap ? cap * 2 : 32;
            if (!(grown = realloc(names, cap * sizeof *grown))) {
                rc = mrx_error_set(MRX_ENOMEM, "out of memory");
                goto out;
            }
            names = grown;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    for (i = 0; i < n && rc == 0; i++) {
        char *child_src = mrx_fs_join(src, names[i]), *child_path = mrx_fs_join(path, names[i]);
        struct stat st;

        if (!child_src || !child_path)
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        else if (lstat(child_src, &st) != 0)
            rc = mrx_error_set(MRX_EIO, "%s: %s", child_src, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk_folder(in, child_src, child_path, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = inputs_push(in, child_src, child_path, 0);
        else
            rc = mrx_error_set(MRX_EINVAL, "%s: %s; a bundle holds regular files only", child_src,
                               S_ISLNK(st.st_mode) ? "is a symbolic link" : "is a special file");
        free(child_src);
        free(child_path);
    }
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dir);
    return rc;
}

/* The name a command-line argument gets inside the bundle. */
static char *
top_name(const char *arg)
{
    char *copy = strdup(arg), *base, *real = NULL, *out = NULL;

    if (!copy)
        return NULL;
    base = basename(copy);
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strcmp(base, "/") == 0) {
        if ((real = realpath(arg, NULL)))
            base = basename(real);
    }
    if (strcmp(base, "/") != 0 && strcmp(base, ".") != 0 && strcmp(base, "..") != 0)
        out = strdup(base);
    free(copy);
    free(real);
    return out;
}

static int
collect_inputs(struct inputs *in, const mrx_bundle_spec *spec)
{
    const char *kind = mrx_kind_name(spec->kind);
    int rc = 0;

    if (spec->n_inputs == 0)
        return mrx_error_set(MRX_EINVAL, "nothing to bundle: name files or folders");
    for (size_t i = 0; i < spec->n_inputs && rc == 0; i++) {
        const char *arg = spec->inputs[i];
        char *name = top_name(arg), *path = NULL;
        struct stat st;

        if (!name || !(path = mrx_fs_join(kind, name)))
            rc = mrx_error_set(MRX_EINVAL, "%s: cannot name this input inside a bundle", arg);
        else if (stat(arg, &st) != 0)
            rc = mrx_error_set(errno == ENOENT ? MRX_ENOTFOUND : MRX_EIO, "%s: %s", arg,
                               strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk_folder(in, arg, path, 0);
        else if (S_ISREG(st.st_mode))
            rc = inputs_push(in, arg, path, 1);
        else
            rc = mrx_error_set(MRX_EINVAL, "%s: not a regular file or folder", arg);
        free(name);
        free(path);
    }
    if (rc == 0 && in->count == 0)
        rc = mrx_error_set(MRX_EINVAL, "nothing to bundle: the folders hold no files");
    return rc;
}

static int
open_input(const struct input *item, int *fd_out)
{
    int fd = open(item->src, O_RDONLY | O_CLOEXEC | (item->follow ? 0 : O_NOFOLLOW));

    if (fd < 0)
        return mrx_error_set(MRX_EIO, "%s: cannot open: %s", item->src, strerror(errno));
    *fd_out = fd;
    return 0;
}

/* How well zstd shrinks the samples seen so far. */
struct probe {
    ZSTD_CCtx *cctx;
    void *dst;
    size_t dst_cap;
    uint64_t in, out; /* sampled bytes before and after */
};

static void
probe_sample(struct probe *p, const void *buf, size_t len)
{
    size_t n;

    if (!p->cctx || p->in >= SAMPLE_TOTAL || len == 0)
        return;
    n = ZSTD_compressCCtx(p->cctx, p->dst, p->dst_cap, buf, len, 1);
    if (ZSTD_isError(n))
        return;
    p->in += len;
    p->out += n;
}

/* Bytes in all the inputs as they are now, for progress only (hashing
 * takes the sizes that count). */
static uint64_t
inputs_total(const struct inputs *in)
{
    uint64_t total = 0;
    struct stat st;

    for (size_t i = 0; i < in->count; i++)
        if (stat(in->items[i].src, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    return total;
}

/* Hash one file and sample how well its start compresses. */
static int
hash_one(struct input *item, mrx_sha256 *h, struct probe *probe, char *buf, struct meter *meter)
{
    struct stat st;
    uint64_t total = 0;
    ssize_t n;
    int fd = -1, rc;

    if ((rc = open_input(item, &fd)) < 0)
        return rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mrx_error_set(MRX_EINVAL, "%s: not a regular file", item->src);
    }
    while ((n = mrx_fs_read_full(fd, buf, CHUNK)) > 0) {
        if (total == 0)
            probe_sample(probe, buf, (size_t)n < SAMPLE_PER_FILE ? (size_t)n : SAMPLE_PER_FILE);
        total += (uint64_t)n;
        if ((rc = check_interrupted()) < 0 || (rc = mrx_sha256_update(h, buf, (size_t)n)) < 0)
            break;
        meter_add(meter, (uint64_t)n);
    }
    close(fd);
    if (n < 0)
        return mrx_error_wrap((int)n, "%s", item->src);
    if (rc < 0 || (rc = mrx_sha256_final_hex(h, item->sha256)) < 0 ||
        (rc = mrx_sha256_reset(h)) < 0)
        return rc;
    if (total != (uint64_t)st.st_size)
        return mrx_error_set(MRX_EIO, "%s: changed while being read", item->src);
    item->dev = st.st_dev;
    item->ino = st.st_ino;
    item->size = st.st_size;
    item->mtime = st.st_mtim;
    item->ctime = st.st_ctim;
    return 0;
}

/* One first-pass worker: it hashes the files it claims, one at a time,
 * from the shared counter. */
struct hasher {
    struct inputs *in;       /* the files */
    atomic_size_t *next;     /* shared: the next file nobody has claimed */
    struct probe probe;      /* its own compressibility sample */
    struct meter *meter;     /* shared: bytes hashed */
    int rc;                  /* its first failure */
    size_t failed_at;        /* on which file */
    char message[1024];      /* and why */
};

static void *
hasher_main(void *arg)
{
    struct hasher *w = arg;
    mrx_sha256 *h = NULL;
    char *buf = malloc(CHUNK);
    size_t i;
    int rc = 0;

    if (!buf)
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
    else
        rc = mrx_sha256_new(&h);
    while (rc == 0 && (i = atomic_fetch_add(w->next, 1)) < w->in->count) {
        if ((rc = hash_one(&w->in->items[i], h, &w->probe, buf, w->meter)) < 0)
            w->failed_at = i;
    }
    if (rc < 0) {
        w->rc = rc;
        snprintf(w->message, sizeof w->message, "%s", mrx_error_last());
        /* the others stop at their next file */
        atomic_store(w->next, w->in->count);
    }
    mrx_sha256_destroy(&h);
    free(buf);
    return NULL;
}

/* First pass: hash every file, on HASH_THREADS threads, and sample how
 * well they compress; then list them in the manifest in input order. */
static int
hash_inputs(struct inputs *in, mrx_manifest *manifest, struct probe *probe, struct meter *meter)
{
    struct hasher workers[HASH_THREADS];
    pthread_t threads[HASH_THREADS];
    atomic_size_t next = 0;
    struct hasher *first_failure = NULL;
    size_t started = 0, i;
    int rc = 0;

    memset(workers, 0, sizeof workers);
    for (i = 0; i < HASH_THREADS; i++) {
        workers[i].in = in;
        workers[i].next = &next;
        workers[i].meter = meter;
        workers[i].probe.dst_cap = probe->dst_cap;
        workers[i].probe.cctx = ZSTD_createCCtx();
        workers[i].probe.dst = malloc(probe->dst_cap);
        if (!workers[i].probe.cctx || !workers[i].probe.dst) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (started = 0; started < HASH_THREADS; started++)
        if (pthread_create(&threads[started], NULL, hasher_main, &workers[started]) != 0)
            break;
    if (started == 0) {
        rc = mrx_error_set(MRX_EIO, "cannot start a hashing thread");
        goto out;
    }
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    /* report the failure of the earliest file, as one thread would have */
    for (i = 0; i < started; i++)
        if (workers[i].rc < 0 && (!first_failure || workers[i].failed_at < first_failure->failed_at))
            first_failure = &workers[i];
    if (first_failure) {
        rc = mrx_error_set(first_failure->rc, "%s", first_failure->message);
        goto out;
    }
    for (i = 0; i < started; i++) {
        probe->in += workers[i].probe.in;
        probe->out += workers[i].probe.out;
    }
    for (i = 0; i < in->count && rc == 0; i++)
        rc = mrx_manifest_add(manifest, in->items[i].path, (uint64_t)in->items[i].size,
                              in->items[i].sha256);
out:
    for (i = 0; i < HASH_THREADS; i++) {
        ZSTD_freeCCtx(workers[i].probe.cctx);
        free(workers[i].probe.dst);
    }
    return rc;
}

/* ---------------------------------------------------------------------
 * The archive thread of a write
 */

struct writer {
    int fd;                       /* pipe to gpg */
    const struct inputs *inputs;  /* the files, hashed */
    const char *manifest;         /* MANIFEST text */
    size_t manifest_len;
    const char *sig;              /* MANIFEST.sig text */
    size_t sig_len;
    int compress;                 /* add the zstd filter */
    time_t mtime;                 /* time stamped on every entry */
    int rc;                       /* outcome */
    int broken_pipe;              /* it failed only because the reader left */
    struct meter meter;           /* bytes of files archived */
    char message[1024];           /* its error message */
};

static int
archive_fail(struct writer *w, struct archive *a, const char *what)
{
    if (archive_errno(a) == EPIPE)
        w->broken_pipe = 1;
    return mrx_error_set(MRX_EIO, "%s: %s", what, archive_error_string(a));
}

static int
write_header(struct writer *w, struct archive *a, const char *path, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    int rc = 0;

    if (!e)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    archive_entry_set_pathname_utf8(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, w->mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (archive_write_header(a, e) != ARCHIVE_OK)
        rc = archive_fail(w, a, path);
    archive_entry_free(e);
    return rc;
}

static int
write_data(struct writer *w, struct archive *a, const char *what, const void *buf, size_t len)
{
    la_ssize_t n = archive_write_data(a, buf, len);

    if (n < 0 || (size_t)n != len)
        return archive_fail(w, a, what);
    return 0;
}

/* Stream one file into the archive. Its content is not hashed again: the
 * file must be the one the first pass hashed, unchanged, before and after
 * (and the reader checks every hash anyway). */
static int
write_file(struct writer *w, struct archive *a, const struct input *item, char *buf)
{
    struct stat st;
    uint64_t total = 0;
    ssize_t n;
    int fd = -1, rc;

    if ((rc = open_input(item, &fd)) < 0)
        return rc;
    if (fstat(fd, &st) != 0 || !unchanged(item, &st)) {
        close(fd);
        return mrx_error_set(MRX_EIO, "%s: changed while being bundled", item->src);
    }
    if ((rc = write_header(w, a, item->path, (uint64_t)item->size)) < 0)
        goto out;
    while ((n = mrx_fs_read_full(fd, buf, CHUNK)) > 0) {
        total += (uint64_t)n;
        if (total > (uint64_t)item->size) {
            rc = mrx_error_set(MRX_EIO, "%s: grew while being bundled", item->src);
            goto out;
        }
        if ((rc = check_interrupted()) < 0 ||
            (rc = write_data(w, a, item->path, buf, (size_t)n)) < 0)
            goto out;
        meter_add(&w->meter, (uint64_t)n);
    }
    if (n < 0) {
        rc = mrx_error_wrap((int)n, "%s", item->src);
        goto out;
    }
    if (total != (uint64_t)item->size || fstat(fd, &st) != 0 || !unchanged(item, &st))
        rc = mrx_error_set(MRX_EIO, "%s: changed while being bundled", item->src);
out:
    close(fd);
    return rc;
}

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    struct archive *a = archive_write_new();
    char *buf = malloc(CHUNK);
    int rc = 0;

    if (!a || !buf) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if (w->compress) {
        if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
            archive_write_set_filter_option(a, "zstd", "compression-level", ZSTD_LEVEL) !=
                ARCHIVE_OK) {
            rc = archive_fail(w, a, "zstd");
            goto out;
        }
    }
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 64 * 1024) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(a, w->fd) != ARCHIVE_OK) {
        rc = archive_fail(w, a, "archive");
        goto out;
    }
    if ((rc = write_header(w, a, "MANIFEST", w->manifest_len)) < 0 ||
        (rc = write_data(w, a, "MANIFEST", w->manifest, w->manifest_len)) < 0 ||
        (rc = write_header(w, a, "MANIFEST.sig", w->sig_len)) < 0 ||
        (rc = write_data(w, a, "MANIFEST.sig", w->sig, w->sig_len)) < 0)
        goto out;
    for (size_t i = 0; i < w->inputs->count && rc == 0; i++)
        rc = write_file(w, a, &w->inputs->items[i], buf);
    if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
        rc = archive_fail(w, a, "archive");
out:
    if (a)
        archive_write_free(a);
    /* end of plaintext for gpg (or a broken pipe it will notice) */
    close(w->fd);
    w->fd = -1;
    free(buf);
    w->rc = rc;
    if (rc < 0)
        snprintf(w->message, sizeof w->message, "%s", mrx_error_last());
    return NULL;
}

/* ---------------------------------------------------------------------
 * The pump: ciphertext between gpg and the bundle file, hashed on its own
 * thread so that GPGME's thread, the pipeline's bottleneck, only moves data.
 */

struct pump {
    int in, out;             /* it copies in to out */
    int close_in, close_out; /* and closes these when it ends */
    mrx_sha256 *h;           /* hash of everything that passed: the bundle id */
    uint64_t bytes;          /* how much passed */
    int rc;                  /* outcome */
    int broken_pipe;         /* it failed only because its reader left */
    char message[1024];      /* its error message */
    pthread_t thread;
    int started;
};

static void *
pump_main(void *arg)
{
    struct pump *p = arg;
    char *buf = malloc(PUMP_CHUNK);
    ssize_t n;
    int rc = 0;

    if (!buf)
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
    while (rc == 0) {
        n = read(p->in, buf, PUMP_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mrx_error_set(MRX_EIO, "reading ciphertext: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if ((rc = mrx_sha256_update(p->h, buf, (size_t)n)) < 0)
            break;
        if ((rc = mrx_fs_write_all(p->out, buf, (size_t)n)) < 0) {
            p->broken_pipe = errno == EPIPE;
            break;
        }
        p->bytes += (uint64_t)n;
    }
    if (p->close_in)
        close(p->in);
    if (p->close_out)
        close(p->out);
    free(buf);
    p->rc = rc;
    if (rc < 0)
        snprintf(p->message, sizeof p->message, "%s", mrx_error_last());
    return NULL;
}

/* Start copying in to out; the pump closes the descriptors flagged. On
 * failure to start, those are closed here. */
static int
pump_start(struct pump *p, int in, int close_in, int out, int close_out)
{
    int rc;

    memset(p, 0, sizeof *p);
    p->in = in;
    p->out = out;
    p->close_in = close_in;
    p->close_out = close_out;
    if ((rc = mrx_sha256_new(&p->h)) == 0 && pthread_create(&p->thread, NULL, pump_main, p) != 0)
        rc = mrx_error_set(MRX_EIO, "cannot start the ciphertext thread");
    if (rc < 0) {
        if (close_in)
            close(in);
        if (close_out)
            close(out);
        mrx_sha256_destroy(&p->h);
        return rc;
    }
    p->started = 1;
    return 0;
}

/* Wait for the pump to end; id (may be NULL) gets the hash of what passed. */
static int
pump_finish(struct pump *p, char id[MRX_SHA256_HEX_LEN + 1])
{
    int rc = 0;

    if (!p->started)
        return 0;
    pthread_join(p->thread, NULL);
    p->started = 0;
    if (p->rc < 0)
        rc = mrx_error_set(p->rc, "%s", p->message);
    else if (id)
        rc = mrx_sha256_final_hex(p->h, id);
    mrx_sha256_destroy(&p->h);
    return rc;
}

static void
grow_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
    (void)fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES);
#else
    (void)fd;
#endif
}

/* The recipient list: the author first, then each other reader once. */
static int
recipient_list(const char ***out, size_t *n, const mrx_bundle_spec *spec)
{
    const char **list = calloc(spec->n_recipients + 1, sizeof *list);
    size_t count = 0;

    if (!list)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    list[count++] = spec->author;
    for (size_t i = 0; i < spec->n_recipients; i++) {
        size_t j;
        if (!mrx_text_is_fpr(spec->recipients[i])) {
            free(list);
            return mrx_error_set(MRX_EINVAL, "recipient \"%.48s\" is not a fingerprint",
                                 spec->recipients[i]);
        }
        for (j = 0; j < count && strcmp(list[j], spec->recipients[i]) != 0; j++)
            ;
        if (j == count)
            list[count++] = spec->recipients[i];
    }
    *out = list;
    *n = count;
    return 0;
}

int
mrx_bundle_create(mrx_bundle_info *info, const mrx_bundle_spec *spec, const char *out_path)
{
    struct inputs in = {0};
    struct probe probe = {0};
    struct meter hashed;
    struct writer w;
    struct pump pump = {0};
    mrx_manifest *manifest = NULL;
    const char **recipients = NULL;
    size_t n_recipients = 0;
    char *manifest_text = NULL, *sig = NULL, *tmp = NULL, *dir = NULL;
    size_t manifest_len = 0, sig_len = 0;
    int plain[2] = {-1, -1}, cipher[2] = {-1, -1}, out_fd = -1, thread_started = 0, rc, pump_rc;
    int into_store;
    struct stat st;
    pthread_t thread;
    time_t created = spec->created ? spec->created : time(NULL);

    memset(info, 0, sizeof *info);
    memset(&w, 0, sizeof w);
    w.fd = -1;
    /* a folder is a bundle store: the bundle is named by its id in it */
    into_store = stat(out_path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!into_store && access(out_path, F_OK) == 0)
        return mrx_error_set(MRX_EEXIST, "%s: already exists (not overwriting)", out_path);
    if ((rc = recipient_list(&recipients, &n_recipients, spec)) < 0 ||
        (rc = collect_inputs(&in, spec)) < 0 ||
        (rc = mrx_manifest_new(&manifest, spec->kind, spec->author, created)) < 0)
        goto out;
    probe.dst_cap = ZSTD_compressBound(SAMPLE_PER_FILE);
    meter_start(&hashed, spec->progress, "hashing", inputs_total(&in));
    if ((rc = hash_inputs(&in, manifest, &probe, &hashed)) < 0 ||
        (rc = mrx_manifest_format(manifest, &manifest_text, &manifest_len)) < 0)
        goto out;
    if (manifest_len > MRX_MANIFEST_MAX) {
        rc = mrx_error_set(MRX_ELIMIT, "manifest would be larger than %d bytes", MRX_MANIFEST_MAX);
        goto out;
    }
    if ((rc = mrx_pgp_sign_detached(spec->pgp, &sig, &sig_len, spec->author, manifest_text,
                                    manifest_len)) < 0) {
        mrx_error_wrap(rc, "signing the manifest");
        goto out;
    }

    if (!(dir = into_store ? strdup(out_path) : mrx_fs_dirname(out_path)) ||
        asprintf(&tmp, into_store ? "%s/.bundle.tmp-XXXXXX" : "%s.tmp-XXXXXX", out_path) < 0) {
        tmp = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    /* tidy up after writers that were killed, then hold our own lock */
    if (into_store)
        mrx_fs_remove_stale(dir, ".bundle.tmp-");
    if ((out_fd = mkstemp(tmp)) < 0) {
        free(tmp);
        tmp = NULL;
        rc = mrx_error_set(MRX_EIO, "%s: cannot create: %s", out_path, strerror(errno));
        goto out;
    }
    if ((rc = mrx_fs_lock(out_fd)) < 0)
        goto out;
    /* archive thread -> plain -> gpg -> cipher -> pump -> out_fd */
    if (pipe2(plain, O_CLOEXEC) != 0 || pipe2(cipher, O_CLOEXEC) != 0) {
        rc = mrx_error_set(MRX_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    grow_pipe(plain[1]);
    grow_pipe(cipher[1]);
    if ((rc = pump_start(&pump, cipher[0], 1, out_fd, 0)) < 0) {
        cipher[0] = -1;
        goto out;
    }
    cipher[0] = -1;
    w.fd = plain[1];
    plain[1] = -1;
    w.inputs = &in;
    w.manifest = manifest_text;
    w.manifest_len = manifest_len;
    w.sig = sig;
    w.sig_len = sig_len;
    w.compress = probe.in > 0 && (double)probe.out < COMPRESS_WORTH * (double)probe.in;
    w.mtime = created;
    meter_start(&w.meter, spec->progress, "packaging", mrx_manifest_total(manifest));
    if (pthread_create(&thread, NULL, writer_main, &w) != 0) {
        close(w.fd);
        rc = mrx_error_set(MRX_EIO, "cannot start the archive thread");
        goto out;
    }
    thread_started = 1;
    rc = mrx_pgp_encrypt(spec->pgp, recipients, n_recipients, plain[0], cipher[1]);
    /* whatever happened, the archive thread and the pump must be able to
     * finish: they see a broken pipe or the end of the ciphertext */
    close(plain[0]);
    plain[0] = -1;
    close(cipher[1]);
    cipher[1] = -1;
    pthread_join(thread, NULL);
    thread_started = 0;
    pump_rc = pump_finish(&pump, info->id);
    /* the first cause wins: a pump or archive failure makes gpg fail */
    if (pump_rc < 0 && (rc == 0 || !pump.broken_pipe)) {
        rc = pump_rc;
        goto out;
    }
    if (w.rc < 0 && (rc == 0 || !w.broken_pipe)) {
        rc = mrx_error_set(w.rc, "%s", w.message);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (fsync(out_fd) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: fsync failed: %s", out_path, strerror(errno));
        goto out;
    }
    if (into_store)
        snprintf(info->path, sizeof info->path, "%s/%s.mrx", out_path, info->id);
    else
        snprintf(info->path, sizeof info->path, "%s", out_path);
    if (link(tmp, info->path) != 0) {
        rc = errno == EEXIST ? mrx_error_set(MRX_EEXIST, "%s: already exists (not overwriting)",
                                             info->path)
                             : mrx_error_set(MRX_EIO, "%s: cannot create: %s", info->path,
                                             strerror(errno));
        goto out;
    }
    if ((rc = mrx_fs_fsync_dir(dir)) < 0)
        goto out;
    info->size = pump.bytes;
    info->kind = spec->kind;
    strcpy(info->author, spec->author);
    info->created = created;
    info->files = mrx_manifest_count(manifest);
    info->bytes = mrx_manifest_total(manifest);
    info->compressed = w.compress;
out:
    for (int i = 0; i < 2; i++) {
        if (plain[i] >= 0)
            close(plain[i]);
        if (cipher[i] >= 0)
            close(cipher[i]);
    }
    if (thread_started)
        pthread_join(thread, NULL);
    pump_finish(&pump, NULL);
    if (out_fd >= 0)
        close(out_fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(dir);
    free(sig);
    free(manifest_text);
    free(recipients);
    mrx_manifest_destroy(&manifest);
    inputs_release(&in);
    return rc;
}

/* ---------------------------------------------------------------------
 * The extraction thread of an open
 */

struct reader {
    int fd;                         /* pipe from gpg */
    const char *gnupghome;          /* keyring to verify the manifest with */
    const char *expected_signer;    /* or NULL for any key in it */
    int dirfd;                      /* the staging folder */
    mrx_manifest *manifest;         /* once verified */
    char *manifest_text;            /* MANIFEST as received */
    size_t manifest_len;
    char *sig;                      /* MANIFEST.sig as received */
    size_t sig_len;
    char signer[MRX_FPR_LEN + 1];   /* who signed it */
    int compressed;                 /* zstd was found inside */
    int quit_early;                 /* it stopped reading before the end */
    const mrx_bundle_progress *progress; /* whom to tell how far it got */
    struct meter meter;             /* bytes of files extracted */
    int rc;                         /* outcome */
    char message[1024];             /* its error message */
};

/* Read a small member (MANIFEST or its signature) whole. */
static int
read_member(char **out, size_t *out_len, struct archive *a, struct archive_entry *e,
            const char *name, size_t max)
{
    const char *path = archive_entry_pathname_utf8(e);
    la_int64_t size = archive_entry_size(e);
    size_t got = 0;
    char *buf;

    if (!path || strcmp(path, name) != 0)
        return mrx_error_set(MRX_EFORMAT, "archive must hold %s here, found \"%.80s\"", name,
                             path ? path : "?");
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
        return mrx_error_set(MRX_EFORMAT, "%s is not a regular file", name);
    if (!archive_entry_size_is_set(e) || size < 0 || (uint64_t)size > max)
        return mrx_error_set(MRX_ELIMIT, "%s larger than %zu bytes", name, max);
    if (!(buf = malloc((size_t)size + 1)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf + got, (size_t)size + 1 - got);
        if (n < 0) {
            free(buf);
            return mrx_error_set(MRX_EFORMAT, "%s: %s", name, archive_error_string(a));
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > (size_t)size) {
            free(buf);
            return mrx_error_set(MRX_EFORMAT, "%s larger than its header says", name);
        }
    }
    if (got != (size_t)size) {
        free(buf);
        return mrx_error_set(MRX_EFORMAT, "%s shorter than its header says", name);
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    return 0;
}

/* Open (creating as needed) the folder that will hold path, below dirfd,
 * never following a link. Returns a new fd; *leaf points at the name. */
static int
open_parent(int *out, int dirfd, const char *path, const char **leaf)
{
    char component[MRX_PATH_COMPONENT_MAX + 1];
    const char *p = path, *slash;
    int fd = dup(dirfd);

    if (fd < 0)
        return mrx_error_set(MRX_EIO, "dup: %s", strerror(errno));
    while ((slash = strchr(p, '/'))) {
        size_t n = (size_t)(slash - p);
        int next;
        memcpy(component, p, n);
        component[n] = '\0';
        if (mkdirat(fd, component, 0700) != 0 && errno != EEXIST) {
            close(fd);
            return mrx_error_set(MRX_EIO, "%s: cannot create folder: %s", path, strerror(errno));
        }
        next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (next < 0)
            return mrx_error_set(MRX_EFORMAT, "%s: a parent is not a folder", path);
        fd = next;
        p = slash + 1;
    }
    *out = fd;
    *leaf = p;
    return 0;
}

static int
extract_file(struct reader *r, struct archive *a, const mrx_manifest_entry *entry, mrx_sha256 *h,
             char *buf)
{
    char sha[MRX_SHA256_HEX_LEN + 1];
    const char *leaf = NULL;
    uint64_t total = 0;
    int parent = -1, fd = -1, rc;

    if ((rc = open_parent(&parent, r->dirfd, entry->path, &leaf)) < 0)
        return rc;
    fd = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = mrx_error_set(errno == EEXIST ? MRX_EFORMAT : MRX_EIO, "%s: cannot create: %s",
                           entry->path, strerror(errno));
        goto out;
    }
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, EXTRACT_CHUNK);
        if (n < 0) {
            rc = mrx_error_set(MRX_EFORMAT, "%s: %s", entry->path, archive_error_string(a));
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > entry->size) {
            rc = mrx_error_set(MRX_EFORMAT, "%s: larger than the manifest says (%llu bytes)",
                               entry->path, (unsigned long long)entry->size);
            goto out;
        }
        if ((rc = check_interrupted()) < 0 || (rc = mrx_sha256_update(h, buf, (size_t)n)) < 0 ||
            (rc = mrx_fs_write_all(fd, buf, (size_t)n)) < 0)
            goto out;
        meter_add(&r->meter, (uint64_t)n);
    }
    if ((rc = mrx_sha256_final_hex(h, sha)) < 0 || (rc = mrx_sha256_reset(h)) < 0)
        goto out;
    if (total != entry->size)
        rc = mrx_error_set(MRX_EFORMAT, "%s: %llu bytes, the manifest says %llu", entry->path,
                           (unsigned long long)total, (unsigned long long)entry->size);
    else if (strcmp(sha, entry->sha256) != 0)
        rc = mrx_error_set(MRX_EFORMAT, "%s: SHA-256 does not match the manifest", entry->path);
out:
    if (fd >= 0)
        close(fd);
    close(parent);
    return rc;
}

/* Verify MANIFEST.sig over MANIFEST and parse it; nothing else is read
 * before this has passed. */
static int
verify_manifest(struct reader *r)
{
    mrx_pgp *pgp = NULL;
    struct statvfs vfs;
    int rc;

    if ((rc = mrx_pgp_new(&pgp, r->gnupghome)) < 0)
        return rc;
    rc = mrx_pgp_verify_detached(pgp, r->signer, r->expected_signer, r->sig, r->sig_len,
                                 r->manifest_text, r->manifest_len);
    mrx_pgp_destroy(&pgp);
    if (rc < 0)
        return mrx_error_wrap(rc, "manifest signature");
    if ((rc = mrx_manifest_parse(&r->manifest, r->manifest_text, r->manifest_len)) < 0)
        return rc;
    if (strcmp(mrx_manifest_author(r->manifest), r->signer) != 0)
        return mrx_error_set(MRX_EDENIED, "manifest names author %s but is signed by %s",
                             mrx_manifest_author(r->manifest), r->signer);
    if (fstatvfs(r->dirfd, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * vfs.f_frsize < mrx_manifest_total(r->manifest))
        return mrx_error_set(MRX_ELIMIT, "bundle needs %llu bytes, only %llu free",
                             (unsigned long long)mrx_manifest_total(r->manifest),
                             (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    meter_start(&r->meter, r->progress, "opening", mrx_manifest_total(r->manifest));
    return 0;
}

/* Check one archive entry after the manifest: a listed, new, regular file
 * of the listed size, or a folder that holds listed files. Returns the
 * manifest index, or -1 for a folder to skip. */
static int
check_entry(long *index, struct reader *r, struct archive_entry *e, unsigned char *seen)
{
    const char *raw = archive_entry_pathname_utf8(e);
    char path[MRX_PATH_MAX + 2];
    mode_t type = archive_entry_filetype(e);
    const mrx_manifest_entry *m;
    size_t len;
    long i;

    *index = -1;
    if (!raw)
        return mrx_error_set(MRX_EFORMAT, "archive entry with an unreadable name");
    len = strlen(raw);
    if (len > MRX_PATH_MAX + 1)
        return mrx_error_set(MRX_EFORMAT, "archive entry name longer than %d bytes", MRX_PATH_MAX);
    memcpy(path, raw, len + 1);
    if (archive_entry_hardlink(e))
        return mrx_error_set(MRX_EFORMAT, "%.80s: hard links are refused", path);
    if (type == AE_IFLNK || archive_entry_symlink(e))
        return mrx_error_set(MRX_EFORMAT, "%.80s: symbolic links are refused", path);
    if (type == AE_IFDIR) {
        if (len > 1 && path[len - 1] == '/')
            path[len - 1] = '\0';
        if (!mrx_path_valid(path))
            return mrx_error_set(MRX_EFORMAT, "%.80s: path not allowed", raw);
        if (!mrx_manifest_has_dir(r->manifest, path))
            return mrx_error_set(MRX_EFORMAT, "%.80s: folder not in the manifest", path);
        return 0;
    }
    if (type != AE_IFREG)
        return mrx_error_set(MRX_EFORMAT, "%.80s: devices, FIFOs and sockets are refused", path);
    if (!mrx_path_valid(path))
        return mrx_error_set(MRX_EFORMAT, "%.80s: path not allowed (absolute, .. or bad "
                                          "characters)",
                             path);
    if ((i = mrx_manifest_find(r->manifest, path)) < 0)
        return mrx_error_set(MRX_EFORMAT, "%.80s: not listed in the manifest", path);
    if (seen[i])
        return mrx_error_set(MRX_EFORMAT, "%.80s: appears twice in the archive", path);
    m = mrx_manifest_entry_at(r->manifest, (size_t)i);
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0 ||
        (uint64_t)archive_entry_size(e) != m->size)
        return mrx_error_set(MRX_EFORMAT, "%.80s: archive says %lld bytes, the manifest %llu",
                             path, (long long)archive_entry_size(e),
                             (unsigned long long)m->size);
    seen[i] = 1;
    *index = i;
    return 0;
}

/* After the archive's end: allow a little padding, then expect EOF. */
static int
drain(int fd, char *buf)
{
    size_t total = 0;
    ssize_t n;

    while ((n = read(fd, buf, CHUNK)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mrx_error_set(MRX_EIO, "reading plaintext: %s", strerror(errno));
        }
        total += (size_t)n;
        if (total > TRAILER_MAX)
            return mrx_error_set(MRX_EFORMAT, "data after the end of the archive");
    }
    return 0;
}

/* True if gpg has finished and all it wrote has been read: a failure of
 * ours then came after its end (a plaintext cut short), not before it. */
static int
read_to_the_end(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};

    return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN);
}

static int
archive_next(struct archive *a, struct archive_entry **e)
{
    int r = archive_read_next_header(a, e);

    if (r == ARCHIVE_EOF)
        return 1;
    if (r != ARCHIVE_OK)
        return mrx_error_set(MRX_EFORMAT, "archive: %s", archive_error_string(a));
    return 0;
}

static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    unsigned char *seen = NULL;
    mrx_sha256 *h = NULL;
    char *buf = malloc(CHUNK);
    size_t count;
    int rc, end;

    if (!a || !buf) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mrx_sha256_new(&h)) < 0)
        goto out;
    /* a bundle is a tar, plain or zstd: no other format or filter */
    if (archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
        archive_read_support_filter_none(a) != ARCHIVE_OK ||
        archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_open_fd(a, r->fd, 64 * 1024) != ARCHIVE_OK) {
        rc = mrx_error_set(MRX_EFORMAT, "archive: %s", archive_error_string(a));
        goto out;
    }
    if ((rc = archive_next(a, &e)) != 0) {
        if (rc == 1)
            rc = mrx_error_set(MRX_EFORMAT, "archive is empty");
        goto out;
    }
    r->compressed = archive_filter_code(a, 0) == ARCHIVE_FILTER_ZSTD;
    if ((rc = read_member(&r->manifest_text, &r->manifest_len, a, e, "MANIFEST",
                          MRX_MANIFEST_MAX)) < 0)
        goto out;
    if ((rc = archive_next(a, &e)) != 0) {
        if (rc == 1)
            rc = mrx_error_set(MRX_EFORMAT, "archive ends before MANIFEST.sig");
        goto out;
    }
    if ((rc = read_member(&r->sig, &r->sig_len, a, e, "MANIFEST.sig", SIG_MAX)) < 0 ||
        (rc = verify_manifest(r)) < 0)
        goto out;
    count = mrx_manifest_count(r->manifest);
    if (!(seen = calloc(count ? count : 1, 1))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    while ((end = archive_next(a, &e)) == 0) {
        long i;
        if ((rc = check_entry(&i, r, e, seen)) < 0)
            goto out;
        if (i >= 0 && (rc = extract_file(r, a, mrx_manifest_entry_at(r->manifest, (size_t)i), h,
                                         buf)) < 0)
            goto out;
    }
    if (end < 0) {
        rc = end;
        goto out;
    }
    for (size_t i = 0; i < count; i++)
        if (!seen[i]) {
            rc = mrx_error_set(MRX_EFORMAT, "%.80s: listed in the manifest but missing",
                               mrx_manifest_entry_at(r->manifest, i)->path);
            goto out;
        }
    rc = drain(r->fd, buf);
out:
    if (rc < 0)
        r->quit_early = !read_to_the_end(r->fd);
    if (a)
        archive_read_free(a);
    /* closing tells gpg to stop if we quit early */
    close(r->fd);
    r->fd = -1;
    mrx_sha256_destroy(&h);
    free(seen);
    free(buf);
    r->rc = rc;
    if (rc < 0)
        snprintf(r->message, sizeof r->message, "%s", mrx_error_last());
    return NULL;
}

/* out_dir may not exist, or be an empty folder (then it is replaced). */
static int
check_out_dir(const char *out_dir)
{
    mrx_fs_state state;
    int rc = mrx_fs_folder_state(&state, out_dir);

    if (rc < 0)
        return rc;
    if (state == MRX_FS_NOT_DIR)
        return mrx_error_set(MRX_EEXIST, "%s: exists and is not a folder", out_dir);
    if (state == MRX_FS_NONEMPTY)
        return mrx_error_set(MRX_EEXIST, "%s: folder is not empty", out_dir);
    return 0;
}

static int
write_at(int dirfd, const char *name, const char *data, size_t len)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc;

    if (fd < 0)
        return mrx_error_set(MRX_EIO, "%s: cannot create: %s", name, strerror(errno));
    rc = mrx_fs_write_all(fd, data, len);
    close(fd);
    return rc;
}

int
mrx_bundle_open(mrx_bundle_info *info, mrx_pgp *pgp, const char *expected_signer,
                const char *expected_id, const char *in_path, const char *out_dir,
                const mrx_bundle_progress *progress)
{
    struct reader r;
    struct pump pump = {0};
    char *parent = NULL, *staging = NULL, *copy = NULL;
    int cipher[2] = {-1, -1}, plain[2] = {-1, -1}, in_fd = -1, thread_started = 0, rc, dec,
        pump_rc;
    pthread_t thread;
    struct stat st;

    memset(info, 0, sizeof *info);
    memset(&r, 0, sizeof r);
    r.fd = -1;
    r.dirfd = -1;
    r.progress = progress;
    if ((rc = check_out_dir(out_dir)) < 0)
        return rc;
    if ((in_fd = open(in_path, O_RDONLY | O_CLOEXEC)) < 0)
        return mrx_error_set(errno == ENOENT ? MRX_ENOTFOUND : MRX_EIO, "%s: cannot open: %s",
                             in_path, strerror(errno));
    if (fstat(in_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = mrx_error_set(MRX_EINVAL, "%s: not a regular file", in_path);
        goto out;
    }
    if (!(parent = mrx_fs_dirname(out_dir)) || !(copy = strdup(out_dir)) ||
        asprintf(&staging, "%s/.%s.mrx-XXXXXX", parent, basename(copy)) < 0) {
        staging = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    {
        /* plaintext left by an open that was killed is removed first */
        char prefix[300];
        snprintf(prefix, sizeof prefix, ".%s.mrx-", basename(copy));
        mrx_fs_remove_stale(parent, prefix);
    }
    if (!mkdtemp(staging)) {
        rc = errno == ENOENT || errno == ENOTDIR
                 ? mrx_error_set(MRX_ENOTFOUND, "%s: folder %s does not exist", out_dir, parent)
                 : mrx_error_set(MRX_EIO, "%s: cannot create a folder beside it: %s", out_dir,
                                 strerror(errno));
        free(staging);
        staging = NULL;
        goto out;
    }
    if ((r.dirfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = mrx_error_set(MRX_EIO, "%s: %s", staging, strerror(errno));
        goto out;
    }
    if ((rc = mrx_fs_lock(r.dirfd)) < 0)
        goto out;
    /* in_fd -> pump -> cipher -> gpg -> plain -> extraction thread */
    if (pipe2(cipher, O_CLOEXEC) != 0 || pipe2(plain, O_CLOEXEC) != 0) {
        rc = mrx_error_set(MRX_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    grow_pipe(cipher[1]);
    grow_pipe(plain[1]);
    r.fd = plain[0];
    plain[0] = -1;
    r.gnupghome = mrx_pgp_home(pgp);
    r.expected_signer = expected_signer;
    if (pthread_create(&thread, NULL, reader_main, &r) != 0) {
        close(r.fd);
        rc = mrx_error_set(MRX_EIO, "cannot start the extraction thread");
        goto out;
    }
    thread_started = 1;
    rc = pump_start(&pump, in_fd, 0, cipher[1], 1);
    cipher[1] = -1;
    if (rc < 0)
        goto out;
    dec = mrx_pgp_decrypt(pgp, cipher[0], plain[1]);
    /* gpg is done: the pump and the extraction thread see a broken pipe or
     * the end of their data */
    close(cipher[0]);
    cipher[0] = -1;
    close(plain[1]);
    plain[1] = -1;
    pump_rc = pump_finish(&pump, info->id);
    pthread_join(thread, NULL);
    thread_started = 0;
    /* the first cause wins: reading the bundle failed, or the reader quit
     * early and made gpg fail, or gpg failed and starved the reader */
    if (pump_rc < 0 && !pump.broken_pipe) {
        rc = mrx_error_wrap(pump_rc, "%s", in_path);
        goto out;
    }
    if (r.rc < 0 && (dec == 0 || r.quit_early)) {
        rc = mrx_error_set(r.rc, "%s: %s", in_path, r.message);
        goto out;
    }
    if (dec < 0) {
        rc = mrx_error_wrap(dec, "%s", in_path);
        goto out;
    }
    if (expected_id && strcmp(expected_id, info->id) != 0) {
        rc = mrx_error_set(MRX_ECRYPTO, "%s: ciphertext SHA-256 is %s, expected %s", in_path,
                           info->id, expected_id);
        goto out;
    }
    if ((rc = write_at(r.dirfd, "MANIFEST", r.manifest_text, r.manifest_len)) < 0 ||
        (rc = write_at(r.dirfd, "MANIFEST.sig", r.sig, r.sig_len)) < 0)
        goto out;
    if (rename(staging, out_dir) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot move into place: %s", out_dir, strerror(errno));
        goto out;
    }
    free(staging);
    staging = NULL;
    mrx_fs_fsync_dir(parent);
    info->size = pump.bytes;
    info->kind = mrx_manifest_kind(r.manifest);
    strcpy(info->author, r.signer);
    info->created = mrx_manifest_created(r.manifest);
    info->files = mrx_manifest_count(r.manifest);
    info->bytes = mrx_manifest_total(r.manifest);
    info->compressed = r.compressed;
out:
    for (int i = 0; i < 2; i++) {
        if (cipher[i] >= 0)
            close(cipher[i]);
        if (plain[i] >= 0)
            close(plain[i]);
    }
    pump_finish(&pump, NULL);
    if (thread_started)
        pthread_join(thread, NULL);
    if (r.dirfd >= 0)
        close(r.dirfd);
    if (staging) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", mrx_error_last());
        mrx_fs_remove_tree(staging);
        mrx_error_set(rc, "%s", saved);
        free(staging);
    }
    close(in_fd);
    mrx_manifest_destroy(&r.manifest);
    free(r.manifest_text);
    free(r.sig);
    free(parent);
    free(copy);
    return rc;
}

/*
 * mrx_store: a case's bundle store and bundles arriving in it. See
 * mrx_store.h and docs/ledger-format.md ("Layout").
 */
#include "mrx_store.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARTIAL_PREFIX ".partial-"

struct mrx_store_partial {
    char bundle[MRX_SHA256_HEX_LEN + 1]; /* what is arriving */
    char *dir;                           /* the store */
    char *path;                          /* its partial file */
    int fd;                              /* open on it, for writing */
    uint64_t size;                       /* bytes it will have */
    uint64_t offset;                     /* bytes it has */
    uint64_t synced;                     /* bytes handed to the disk to write */
    mrx_sha256 *hash;                    /* of the bytes so far */
    struct writer *writer;               /* writes whole chunks with O_DIRECT; NULL */
};

char *
mrx_store_dir(mrx_node *node, const char *case_id)
{
    char *dir = NULL;

    if (asprintf(&dir, "%s/%s/" MRX_STORE_DIR, mrx_node_cases(node), case_id) < 0)
        return NULL;
    return dir;
}

char *
mrx_store_path(mrx_node *node, const char *case_id, const char *bundle)
{
    char *path = NULL;

    if (asprintf(&path, "%s/%s/" MRX_STORE_DIR "/%s.mrx", mrx_node_cases(node), case_id,
                 bundle) < 0)
        return NULL;
    return path;
}

int
mrx_store_has(mrx_node *node, const char *case_id, const char *bundle)
{
    char *path = mrx_store_path(node, case_id, bundle);
    int yes = path && access(path, F_OK) == 0;

    free(path);
    return yes;
}

/* Hash the first len bytes of the file (the part taken up again). */
static int
hash_prefix(mrx_store_partial *self, uint64_t len)
{
    static const size_t bufsize = 1 << 20;
    char *buf = malloc(bufsize);
    uint64_t done = 0;
    int rc = 0;

    if (!buf)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    while (done < len) {
        size_t want = len - done < bufsize ? (size_t)(len - done) : bufsize;
        ssize_t got = pread(self->fd, buf, want, (off_t)done);
        if (got <= 0) {
            rc = mrx_error_set(MRX_EIO, "bundle %.16s: cannot read its partial file: %s",
                               self->bundle, got < 0 ? strerror(errno) : "it is shorter");
            break;
        }
        if ((rc = mrx_sha256_update(self->hash, buf, (size_t)got)) < 0)
            break;
        done += (uint64_t)got;
    }
    free(buf);
    return rc;
}

/*
 * A bundle arriving is written past the page cache where the file system
 * allows (O_DIRECT): it will not be read again soon, and copying
 * gigabytes into the cache costs more CPU than the transfer's
 * cryptography. Such writes wait for the disk, so a writer thread does
 * them while the caller goes on receiving: the caller copies each whole
 * chunk into one of WRITE_AHEAD aligned blocks and hashes it; the thread
 * writes the blocks in order. Whole chunks lie at chunk-aligned offsets,
 * so O_DIRECT's alignment holds; the last, shorter one is written through
 * the cache once the thread has written the rest.
 */
#define WRITE_AHEAD 4
#define DIRECT_ALIGN 4096

typedef struct {
    unsigned char *data; /* MRX_STORE_CHUNK bytes, DIRECT_ALIGN-aligned */
    uint64_t offset;     /* where it goes in the file */
} block;

struct writer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int fd;
    block blocks[WRITE_AHEAD];
    size_t head, count; /* blocks[head], ... count of them, are queued */
    int stop;           /* the thread ends once the queue is empty */
    int err;            /* errno of the first write that failed; 0 */
};

static void *
writer_run(void *arg)
{
    struct writer *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->count == 0 && !w->stop)
            pthread_cond_wait(&w->changed, &w->lock);
        if (w->count == 0)
            break;
        block *b = &w->blocks[w->head];
        pthread_mutex_unlock(&w->lock);
        ssize_t put = pwrite(w->fd, b->data, MRX_STORE_CHUNK, (off_t)b->offset);
        int err = put == MRX_STORE_CHUNK ? 0 : put < 0 ? errno : EIO;
        pthread_mutex_lock(&w->lock);
        if (err && !w->err)
            w->err = err;
        w->head = (w->head + 1) % WRITE_AHEAD;
        w->count--;
        if (w->err)
            w->count = 0; /* what follows a failed write is not written */
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Whether the file system takes O_DIRECT writes on fd at offset (which
 * is aligned): a block of zeros is written there and cut off again. */
static int
direct_works(int fd, uint64_t offset, void *zeros)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) != 0)
        return 0;
    memset(zeros, 0, DIRECT_ALIGN);
    if (pwrite(fd, zeros, DIRECT_ALIGN, (off_t)offset) == DIRECT_ALIGN &&
        ftruncate(fd, (off_t)offset) == 0)
        return 1;
    fcntl(fd, F_SETFL, flags);
    return 0;
}

/* Start a writer on self's file if O_DIRECT works there; if not, the
 * file is written through the cache by the caller. */
static void
writer_start(mrx_store_partial *self)
{
    struct writer *w = calloc(1, sizeof *w);
    size_t made = 0;

    if (!w)
        return;
    w->fd = self->fd;
    for (; made < WRITE_AHEAD; made++)
        if (posix_memalign((void **)&w->blocks[made].data, DIRECT_ALIGN, MRX_STORE_CHUNK) != 0)
            break;
    if (made == WRITE_AHEAD && direct_works(self->fd, self->offset, w->blocks[0].data) &&
        pthread_mutex_init(&w->lock, NULL) == 0) {
        if (pthread_cond_init(&w->changed, NULL) == 0) {
            if (pthread_create(&w->thread, NULL, writer_run, w) == 0) {
                self->writer = w;
                return;
            }
            pthread_cond_destroy(&w->changed);
        }
        pthread_mutex_destroy(&w->lock);
    }
    if (made == WRITE_AHEAD) {
        int flags = fcntl(self->fd, F_GETFL);
        if (flags >= 0)
            fcntl(self->fd, F_SETFL, flags & ~O_DIRECT);
    }
    while (made > 0)
        free(w->blocks[--made].data);
    free(w);
}

/* Wait for the writer to write what it was given; the error of a write
 * that failed. */
static int
writer_drain(mrx_store_partial *self)
{
    struct writer *w = self->writer;
    int err;

    pthread_mutex_lock(&w->lock);
    while (w->count > 0)
        pthread_cond_wait(&w->changed, &w->lock);
    err = w->err;
    pthread_mutex_unlock(&w->lock);
    if (err)
        return mrx_error_set(MRX_EIO, "bundle %.16s: cannot write its partial file: %s",
                             self->bundle, strerror(err));
    return 0;
}

/* Write what was given, end the thread and write through the cache from
 * now on. */
static int
writer_stop(mrx_store_partial *self)
{
    struct writer *w = self->writer;
    int rc, flags;

    if (!w)
        return 0;
    rc = writer_drain(self);
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->lock);
    for (size_t i = 0; i < WRITE_AHEAD; i++)
        free(w->blocks[i].data);
    free(w);
    self->writer = NULL;
    if ((flags = fcntl(self->fd, F_GETFL)) < 0 || fcntl(self->fd, F_SETFL, flags & ~O_DIRECT) != 0 ||
        lseek(self->fd, (off_t)self->offset, SEEK_SET) < 0)
        rc = rc < 0 ? rc
                    : mrx_error_set(MRX_EIO, "bundle %.16s: cannot go on writing its partial "
                                    "file: %s", self->bundle, strerror(errno));
    return rc;
}

/* Give the writer a whole chunk to write at self->offset. */
static int
writer_put(mrx_store_partial *self, const void *data)
{
    struct writer *w = self->writer;
    int err;

    pthread_mutex_lock(&w->lock);
    while (w->count == WRITE_AHEAD && !w->err)
        pthread_cond_wait(&w->changed, &w->lock);
    if (!(err = w->err)) {
        block *b = &w->blocks[(w->head + w->count) % WRITE_AHEAD];
        pthread_mutex_unlock(&w->lock);
        /* the writer does not touch a block until it is counted */
        memcpy(b->data, data, MRX_STORE_CHUNK);
        b->offset = self->offset;
        pthread_mutex_lock(&w->lock);
        w->count++;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    if (err)
        return mrx_error_set(MRX_EIO, "bundle %.16s: cannot write its partial file: %s",
                             self->bundle, strerror(err));
    return 0;
}

int
mrx_store_partial_open(mrx_store_partial **out, uint64_t *offset, mrx_node *node,
                       const char *case_id, const char *bundle, uint64_t size)
{
    mrx_store_partial *self = NULL;
    struct stat st;
    uint64_t keep;
    int rc;

    *out = NULL;
    *offset = 0;
    if (!mrx_sha256_hex_valid(bundle) || !mrx_sha256_hex_valid(case_id))
        return mrx_error_set(MRX_EINVAL, "not a bundle id");
    if (mrx_store_has(node, case_id, bundle))
        return mrx_error_set(MRX_EEXIST, "bundle %.16s: already in the store", bundle);
    if (!(self = calloc(1, sizeof *self)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    self->fd = -1;
    self->size = size;
    strcpy(self->bundle, bundle);
    if (!(self->dir = mrx_store_dir(node, case_id)) ||
        asprintf(&self->path, "%s/" PARTIAL_PREFIX "%s", self->dir, bundle) < 0) {
        self->path = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = mrx_fs_mkdir_p(self->dir, 0700)) < 0 || (rc = mrx_sha256_new(&self->hash)) < 0)
        goto fail;
    if ((self->fd = open(self->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
        fstat(self->fd, &st) != 0) {
        rc = mrx_error_set(MRX_EIO, "bundle %.16s: cannot open its partial file: %s", bundle,
                           strerror(errno));
        goto fail;
    }
    /* one writer at a time (sync from a peer, an import): the lock goes
     * with the descriptor, so a killed writer leaves none behind */
    if (flock(self->fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? mrx_error_set(MRX_EEXIST, "bundle %.16s: already arriving here", bundle)
                 : mrx_error_set(MRX_EIO, "bundle %.16s: cannot lock its partial file: %s", bundle,
                                 strerror(errno));
        goto fail;
    }
    /* only whole chunks are trusted; a partial file longer than the
     * bundle is not this bundle's and starts again */
    keep = (uint64_t)st.st_size - (uint64_t)st.st_size % MRX_STORE_CHUNK;
    if ((uint64_t)st.st_size > size)
        keep = 0;
    if (ftruncate(self->fd, (off_t)keep) != 0 || lseek(self->fd, (off_t)keep, SEEK_SET) < 0) {
        rc = mrx_error_set(MRX_EIO, "bundle %.16s: cannot cut back its partial file: %s", bundle,
                           strerror(errno));
        goto fail;
    }
    if ((rc = hash_prefix(self, keep)) < 0)
        goto fail;
    self->offset = self->synced = keep;
    if (keep < size)
        writer_start(self);
    *offset = keep;
    *out = self;
    return 0;
fail:
    mrx_store_partial_destroy(&self);
    return rc;
}

int
mrx_store_partial_write(mrx_store_partial *self, uint64_t offset, const void *data, size_t len)
{
    int rc;

    if (offset != self->offset)
        return mrx_error_set(MRX_EINVAL, "bundle %.16s: a chunk at %llu, expected %llu",
                             self->bundle, (unsigned long long)offset,
                             (unsigned long long)self->offset);
    if (len > self->size - self->offset || len > MRX_STORE_CHUNK ||
        (len < MRX_STORE_CHUNK && self->offset + len != self->size) || len == 0)
        return mrx_error_set(MRX_EINVAL, "bundle %.16s: a chunk of %zu bytes at %llu does not fit "
                             "its %llu bytes",
                             self->bundle, len, (unsigned long long)offset,
                             (unsigned long long)self->size);
    if (self->writer && len == MRX_STORE_CHUNK) {
        if ((rc = writer_put(self, data)) < 0 || (rc = mrx_sha256_update(self->hash, data, len)) < 0)
            return rc;
        self->offset += len;
        return 0;
    }
    if ((rc = writer_stop(self)) < 0 || (rc = mrx_fs_write_all(self->fd, data, len)) < 0 ||
        (rc = mrx_sha256_update(self->hash, data, len)) < 0)
        return rc;
    self->offset += len;
    /* the disk starts on what came, without waiting for it: the fsync
     * before the rename then finds little left to do. A crash of the
     * machine may leave anything after the last fsync; the hash at the
     * end catches it */
    if (self->offset - self->synced >= MRX_STORE_SYNC_EVERY) {
        sync_file_range(self->fd, (off_t)self->synced, (off_t)(self->offset - self->synced),
                        SYNC_FILE_RANGE_WRITE);
        self->synced = self->offset;
    }
    return 0;
}

uint64_t
mrx_store_partial_offset(const mrx_store_partial *self)
{
    return self->offset;
}

int
mrx_store_partial_complete(const mrx_store_partial *self)
{
    return self->offset == self->size;
}

int
mrx_store_partial_commit(mrx_store_partial **self_p)
{
    mrx_store_partial *self = *self_p;
    char hex[MRX_SHA256_HEX_LEN + 1], *final = NULL;
    struct stat st;
    int rc;

    if (self->offset != self->size) {
        rc = mrx_error_set(MRX_EINVAL, "bundle %.16s: %llu of %llu bytes arrived", self->bundle,
                           (unsigned long long)self->offset, (unsigned long long)self->size);
        mrx_store_partial_destroy(self_p);
        return rc;
    }
    if ((rc = writer_stop(self)) < 0 || (rc = mrx_sha256_final_hex(self->hash, hex)) < 0)
        goto out;
    if (strcmp(hex, self->bundle) != 0) {
        rc = mrx_error_set(MRX_ECRYPTO, "bundle %s: its bytes do not hash to its id (sha256 %s); "
                           "discarded",
                           self->bundle, hex);
        unlink(self->path);
        goto out;
    }
    if (asprintf(&final, "%s/%s.mrx", self->dir, self->bundle) < 0) {
        final = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    /* the hash was taken as the bytes came; the file must hold just them */
    if (fstat(self->fd, &st) != 0 || (uint64_t)st.st_size != self->size) {
        rc = mrx_error_set(MRX_EIO, "bundle %.16s: its partial file is not %llu bytes",
                           self->bundle, (unsigned long long)self->size);
        unlink(self->path);
        goto out;
    }
    if (fsync(self->fd) != 0 || fchmod(self->fd, 0600) != 0 || rename(self->path, final) != 0) {
        rc = mrx_error_set(MRX_EIO, "bundle %.16s: cannot put it in the store: %s", self->bundle,
                           strerror(errno));
        goto out;
    }
    rc = mrx_fs_fsync_dir(self->dir);
out:
    free(final);
    mrx_store_partial_destroy(self_p);
    return rc;
}

static void
partial_free(mrx_store_partial **self_p, int discard)
{
    mrx_store_partial *self = *self_p;

    if (!self)
        return;
    writer_stop(self);
    if (self->fd >= 0) {
        if (!discard)
            fdatasync(self->fd);
        close(self->fd);
    }
    if (discard && self->path)
        unlink(self->path);
    mrx_sha256_destroy(&self->hash);
    free(self->dir);
    free(self->path);
    free(self);
    *self_p = NULL;
}

void
mrx_store_partial_destroy(mrx_store_partial **self_p)
{
    partial_free(self_p, 0);
}

void
mrx_store_partial_discard(mrx_store_partial **self_p)
{
    partial_free(self_p, 1);
}

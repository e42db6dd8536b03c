/*
 * mrx_fs: crash-safe file helpers.
 */
#include "mrx_fs.h"
#include "mrx_error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
mrx_fs_mkdir_p(const char *path, mode_t mode)
{
    char *copy = strdup(path), *p;
    int rc = 0;

    if (!copy)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    for (p = copy + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            rc = mrx_error_set(MRX_EIO, "%s: cannot create folder: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = mrx_error_set(MRX_EIO, "%s: not a folder", path);
    }
    free(copy);
    return rc;
}

int
mrx_fs_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mrx_error_set(MRX_EIO, "write failed: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t
mrx_fs_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mrx_error_set(MRX_EIO, "read failed: %s", strerror(errno));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int
mrx_fs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return mrx_error_set(MRX_EIO, "%s: cannot open folder: %s", path, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = mrx_error_set(MRX_EIO, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

char *
mrx_fs_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

char *
mrx_fs_join(const char *dir, const char *name)
{
    char *out = NULL;

    if (asprintf(&out, "%s/%s", dir, name) < 0)
        return NULL;
    return out;
}

static int
write_file(const char *path, const void *data, size_t len, mode_t mode, int exclusive)
{
    char *dir = mrx_fs_dirname(path), *tmp = NULL;
    int fd = -1, rc = 0;

    if (!dir || asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        tmp = NULL;
        goto out;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    if (fchmod(fd, mode) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot set mode: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = mrx_fs_write_all(fd, data, len)) < 0) {
        mrx_error_wrap(rc, "%s", path);
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: fsync failed: %s", path, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (exclusive) {
        /* link() fails if path exists, so nothing is ever overwritten */
        if (link(tmp, path) != 0) {
            rc = errno == EEXIST ? mrx_error_set(MRX_EEXIST, "%s: already exists", path)
                                 : mrx_error_set(MRX_EIO, "%s: cannot create: %s", path,
                                                 strerror(errno));
            goto out;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    rc = mrx_fs_fsync_dir(dir);
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(dir);
    return rc;
}

int
mrx_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_file(path, data, len, mode, 0);
}

int
mrx_fs_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_file(path, data, len, mode, 1);
}

int
mrx_fs_read_file(char **out, size_t *out_len, const char *path, size_t max)
{
    struct stat st;
    char *buf = NULL;
    int fd, rc = 0;
    ssize_t n;

    *out = NULL;
    if (out_len)
        *out_len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mrx_error_set(errno == ENOENT ? MRX_ENOTFOUND : MRX_EIO, "%s: cannot open: %s",
                             path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = mrx_error_set(MRX_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        rc = mrx_error_set(MRX_ELIMIT, "%s: %lld bytes, more than the limit of %zu", path,
                           (long long)st.st_size, max);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    n = mrx_fs_read_full(fd, buf, (size_t)st.st_size);
    if (n < 0) {
        rc = mrx_error_wrap((int)n, "%s", path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (out_len)
        *out_len = (size_t)n;
out:
    free(buf);
    close(fd);
    return rc;
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int
mrx_fs_remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : mrx_error_set(MRX_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : mrx_error_set(MRX_EIO, "%s: cannot remove: %s", path,
                                                     strerror(errno));
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return mrx_error_set(MRX_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int
mrx_fs_folder_state(mrx_fs_state *out, const char *path)
{
    struct stat st;
    struct dirent *de;
    DIR *dir;

    *out = MRX_FS_ABSENT;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : mrx_error_set(MRX_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        *out = MRX_FS_NOT_DIR;
        return 0;
    }
    if (!(dir = opendir(path)))
        return mrx_error_set(MRX_EIO, "%s: %s", path, strerror(errno));
    *out = MRX_FS_EMPTY;
    while ((de = readdir(dir)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            *out = MRX_FS_NONEMPTY;
    closedir(dir);
    return 0;
}

#define STALE_AFTER 10 /* seconds a temporary entry may exist unlocked */

int
mrx_fs_lock(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        return mrx_error_set(MRX_EIO, "cannot lock a temporary file: %s", strerror(errno));
    return 0;
}

void
mrx_fs_remove_stale(const char *dir, const char *prefix)
{
    size_t len = strlen(prefix);
    struct dirent *de;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((de = readdir(d))) {
        struct stat st;
        char *path;
        int fd;

        if (strncmp(de->d_name, prefix, len) != 0 || !(path = mrx_fs_join(dir, de->d_name)))
            continue;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_mtime + STALE_AFTER < time(NULL) &&
            flock(fd, LOCK_EX | LOCK_NB) == 0)
            mrx_fs_remove_tree(path);
        if (fd >= 0)
            close(fd);
        free(path);
    }
    closedir(d);
}

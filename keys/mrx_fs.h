/*
 * mrx_fs: the file-system moves mrx makes again and again, each done the
 * crash-safe way (temporary name, fsync, rename, fsync of the folder).
 */
#ifndef MRX_FS_H
#define MRX_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Create dir and missing parents with mode (existing folders are kept). */
int mrx_fs_mkdir_p(const char *path, mode_t mode);

/* Replace path with data atomically: a temporary file beside it is written,
 * fsynced and renamed over path, then the folder is fsynced. */
int mrx_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Like mrx_fs_write_atomic but fails with MRX_EEXIST if path exists. */
int mrx_fs_write_new(const char *path, const void *data, size_t len, mode_t mode);

/* Read a whole regular file of at most max bytes into a NUL-terminated
 * buffer the caller frees. Larger files fail with MRX_ELIMIT. */
int mrx_fs_read_file(char **out, size_t *out_len, const char *path, size_t max);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int mrx_fs_write_all(int fd, const void *buf, size_t len);

/* Read up to len bytes, retrying until len or end of file; returns the
 * count read (>= 0) or a negative MRX_E* code. */
ssize_t mrx_fs_read_full(int fd, void *buf, size_t len);

/* fsync a folder so that renames and creations inside it are durable. */
int mrx_fs_fsync_dir(const char *path);

/* Remove path and everything under it without following links. A path
 * that does not exist is not an error. */
int mrx_fs_remove_tree(const char *path);

/* What is at path, for commands that may create it or fill an empty one. */
typedef enum {
    MRX_FS_ABSENT,    /* nothing */
    MRX_FS_EMPTY,     /* an empty folder */
    MRX_FS_NONEMPTY,  /* a folder with something in it */
    MRX_FS_NOT_DIR,   /* something other than a folder (links not followed) */
} mrx_fs_state;

/* Find out what is at path; a negative MRX_E* code if it cannot tell. */
int mrx_fs_folder_state(mrx_fs_state *out, const char *path);

/* Writers of temporary files and folders hold an flock on them while they
 * work. Remove the entries of dir whose name starts with prefix, that no
 * live process holds locked and that are older than a few seconds (the
 * time between creating and locking): the leftovers of writers that were
 * killed. Errors are ignored: this is tidying, not a duty. */
void mrx_fs_remove_stale(const char *dir, const char *prefix);

/* Take the writer's lock on fd (see mrx_fs_remove_stale). */
int mrx_fs_lock(int fd);

/* The folder part of path, newly allocated ("." when there is none). */
char *mrx_fs_dirname(const char *path);

/* path joined with name, newly allocated. */
char *mrx_fs_join(const char *dir, const char *name);

#endif

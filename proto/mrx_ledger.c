/*
 * mrx_ledger: per-author signed feeds in a bare git repository.
 */
#include "mrx_ledger.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_request.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <search.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LEDGER_DIR "ledger.git"
#define OWNER_FILE "owner"
#define TITLE_FILE "title"
#define CACHE_FILE "verified"
#define CACHE_MAX (256 * 1024 * 1024) /* bytes of cache we read */
#define CACHE_LINE (MRX_COMMIT_HEX_LEN + 1 + MRX_FPR_LEN + 1)
#define FEED_PREFIX "refs/feeds/"
#define FEED_EVENTS_MAX 10000000 /* events one feed may hold */
#define CERT_ENTRY "certificate"
#define CERT_BLOB_MAX (64 * 1024) /* as MRX_CERT_MAX */
#define REQUEST_ENTRY "request"
#define COMMIT_MAX (MRX_EVENT_MAX + 16 * 1024) /* an event with its headers and signature */
#define TREE_MAX 256                       /* bytes of an event's tree */
#define FUTURE_SLACK (24 * 3600)           /* how far ahead an event's clock may be */
#define EVIDENCE_DIR "evidence"
#define EVIDENCE_NOTE "REFUSED"
#define EVIDENCE_NOTE_MAX 4096 /* bytes of a REFUSED note */
#define INGEST_BYTES_MAX (256 * 1024 * 1024) /* object bytes one ingest of a feed may copy */
#define LOCK_FILE "lock"

struct mrx_ledger {
    git_repository *repo;                  /* the bare repository */
    char *dir;                             /* the case folder */
    char case_id[MRX_SHA256_HEX_LEN + 1];  /* SHA-256 of the owner's first event */
    char owner[MRX_FPR_LEN + 1];           /* the owner's key */
    char title[MRX_TITLE_MAX + 1];         /* local title, or "" */
    void *verified;                        /* tsearch tree of "COMMIT FPR" keys */
    int verified_loaded;                   /* the cache file has been read */
};

/* Turn the last libgit2 error into ours. */
static int
git_fail(int code, const char *what)
{
    const git_error *e = git_error_last();

    return mrx_error_set(code, "%s: %s", what, e && e->message ? e->message : "git error");
}

int
mrx_ledger_global_init(void)
{
    if (git_libgit2_init() < 0)
        return git_fail(MRX_EIO, "libgit2");
    /* every object, index and ref write is fsynced before it counts */
    if (git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1) < 0)
        return git_fail(MRX_EIO, "libgit2 fsync option");
    return 0;
}

void
mrx_ledger_destroy(mrx_ledger **self_p)
{
    mrx_ledger *self;

    if (!self_p || !(self = *self_p))
        return;
    tdestroy(self->verified, free);
    git_repository_free(self->repo);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

const char *
mrx_ledger_case_id(const mrx_ledger *self)
{
    return self->case_id;
}

const char *
mrx_ledger_owner(const mrx_ledger *self)
{
    return self->owner;
}

const char *
mrx_ledger_title(const mrx_ledger *self)
{
    return self->title;
}

/* SHA-256 of a commit as git stores it ("commit <size>\0<content>"): the
 * chain of events holds on it even if SHA-1 does not. */
static int
commit_sha256(char hex[MRX_SHA256_HEX_LEN + 1], git_repository *repo, const git_oid *oid)
{
    git_odb *odb = NULL;
    git_odb_object *obj = NULL;
    mrx_sha256 *h = NULL;
    char header[64];
    int n, rc;

    if (git_repository_odb(&odb, repo) < 0 || git_odb_read(&obj, odb, oid) < 0) {
        rc = git_fail(MRX_EIO, "reading an event");
        goto out;
    }
    if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s is not a commit", git_oid_tostr_s(oid));
        goto out;
    }
    n = snprintf(header, sizeof header, "commit %zu", git_odb_object_size(obj));
    if ((rc = mrx_sha256_new(&h)) < 0 || (rc = mrx_sha256_update(h, header, (size_t)n + 1)) < 0 ||
        (rc = mrx_sha256_update(h, git_odb_object_data(obj), git_odb_object_size(obj))) < 0 ||
        (rc = mrx_sha256_final_hex(h, hex)) < 0)
        goto out;
out:
    mrx_sha256_destroy(&h);
    git_odb_object_free(obj);
    git_odb_free(odb);
    return rc;
}

static void
feed_ref(char *out, size_t cap, const char *fpr)
{
    snprintf(out, cap, FEED_PREFIX "%s", fpr);
}

/* Every mrx writer of a case holds the case's lock (an flock, released
 * when the process ends, however it ends) while it moves a feed. Holding
 * it, a libgit2 lock file left on that feed's ref can only be the leftover
 * of a writer that was killed, and is removed: otherwise one kill -9 at the
 * wrong moment would lock the feed for good. Returns the lock's fd. */
static int
lock_feed(mrx_ledger *self, const char *fpr, int *fd_out)
{
    char *path = mrx_fs_join(self->dir, LOCK_FILE), *stale = NULL;
    int fd, rc = 0;

    *fd_out = -1;
    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot lock the case: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    if (asprintf(&stale, "%s" FEED_PREFIX "%s.lock", git_repository_path(self->repo), fpr) < 0) {
        stale = NULL;
        close(fd);
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    (void)unlink(stale);
    *fd_out = fd;
out:
    free(stale);
    free(path);
    return rc;
}

/* The one blob an event of this type carries in its tree, or NULL:
 * member-added the member's certificate, bundle-served the receiver's
 * signed request. */
static const char *
attachment_entry(mrx_event_type type)
{
    return type == MRX_EV_MEMBER_ADDED    ? CERT_ENTRY
           : type == MRX_EV_BUNDLE_SERVED ? REQUEST_ENTRY
                                          : NULL;
}

/* The tree of an event: empty, or holding its attachment as entry. */
static int
event_tree(git_tree **out, git_repository *repo, const char *entry, const char *attachment)
{
    git_treebuilder *tb = NULL;
    git_oid blob, tree;
    int rc = 0;

    if (git_treebuilder_new(&tb, repo, NULL) < 0)
        return git_fail(MRX_EIO, "tree");
    if (attachment &&
        (git_blob_create_from_buffer(&blob, repo, attachment, strlen(attachment)) < 0 ||
         git_treebuilder_insert(NULL, tb, entry, &blob, GIT_FILEMODE_BLOB) < 0)) {
        rc = git_fail(MRX_EIO, "storing the event's attachment");
        goto out;
    }
    if (git_treebuilder_write(&tree, tb) < 0 || git_tree_lookup(out, repo, &tree) < 0)
        rc = git_fail(MRX_EIO, "tree");
out:
    git_treebuilder_free(tb);
    return rc;
}

/* Write ev as a signed commit on top of parent (NULL for the first) and
 * move the feed's ref to it, provided the ref still points at parent. */
static int
write_event(git_oid *out, git_repository *repo, const mrx_ledger_author *author,
            const mrx_event *ev, const char *attachment, git_commit *parent)
{
    git_signature *sig = NULL;
    git_tree *tree = NULL;
    git_buf buf = {0};
    git_reference *ref = NULL;
    const git_commit *parents[1] = {parent};
    char *text = NULL, *gpgsig = NULL, email[MRX_FPR_LEN + 8], refname[64];
    size_t sig_len = 0;
    int rc;

    if ((rc = mrx_event_format(ev, &text, NULL)) < 0)
        return rc;
    snprintf(email, sizeof email, "%s@mrx", author->fpr);
    if (git_signature_new(&sig, author->name, email, (git_time_t)ev->time, 0) < 0) {
        rc = git_fail(MRX_EINVAL, "commit author");
        goto out;
    }
    if ((rc = event_tree(&tree, repo, attachment_entry(ev->type), attachment)) < 0)
        goto out;
    if (git_commit_create_buffer(&buf, repo, sig, sig, NULL, text, tree, parent ? 1 : 0,
                                 parents) < 0) {
        rc = git_fail(MRX_EIO, "commit");
        goto out;
    }
    if ((rc = mrx_pgp_sign_detached(author->pgp, &gpgsig, &sig_len, author->fpr, buf.ptr,
                                    buf.size)) < 0) {
        mrx_error_wrap(rc, "signing event %llu", (unsigned long long)ev->seq);
        goto out;
    }
    if (git_commit_create_with_signature(out, repo, buf.ptr, gpgsig, "gpgsig") < 0) {
        rc = git_fail(MRX_EIO, "signed commit");
        goto out;
    }
    feed_ref(refname, sizeof refname, author->fpr);
    /* compare-and-swap: a concurrent append to the same feed loses */
    if (git_reference_create_matching(&ref, repo, refname, out, parent ? 1 : 0,
                                      parent ? git_commit_id(parent) : NULL,
                                      "mrx: append event") < 0)
        rc = git_fail(MRX_EEXIST, "feed moved while appending");
out:
    git_reference_free(ref);
    git_buf_dispose(&buf);
    git_tree_free(tree);
    git_signature_free(sig);
    free(text);
    free(gpgsig);
    return rc;
}

/* Write one line of local metadata (owner, title) into the case folder. */
static int
write_line_file(const char *dir, const char *name, const char *value)
{
    char *path = mrx_fs_join(dir, name), *line = NULL;
    int rc;

    if (!path || asprintf(&line, "%s\n", value) < 0) {
        free(path);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    rc = mrx_fs_write_atomic(path, line, strlen(line), 0600);
    free(path);
    free(line);
    return rc;
}

static int
open_repo(mrx_ledger *self)
{
    char *path = mrx_fs_join(self->dir, LEDGER_DIR);
    int rc = 0;

    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (git_repository_open_bare(&self->repo, path) < 0)
        rc = git_fail(MRX_ENOTFOUND, "case ledger");
    free(path);
    return rc;
}

/* Start a case folder: cases_dir/.new-XXXXXX (*tmp, malloc'd) holding an
 * empty bare ledger, opened in *repo when repo is not NULL. */
static int
case_dir_begin(char **tmp, git_repository **repo, const char *cases_dir)
{
    git_repository *r = NULL;
    char *repo_path = NULL;
    int rc = 0;

    if ((rc = mrx_fs_mkdir_p(cases_dir, 0700)) < 0)
        return rc;
    if (!(*tmp = mrx_fs_join(cases_dir, ".new-XXXXXX")) || !mkdtemp(*tmp)) {
        free(*tmp);
        *tmp = NULL;
        return mrx_error_set(MRX_EIO, "%s: cannot create a case: %s", cases_dir, strerror(errno));
    }
    if (!(repo_path = mrx_fs_join(*tmp, LEDGER_DIR)))
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
    else if (git_repository_init(&r, repo_path, 1) < 0)
        rc = git_fail(MRX_EIO, "creating the ledger");
    free(repo_path);
    if (repo && rc == 0)
        *repo = r;
    else
        git_repository_free(r);
    return rc;
}

/* Give the folder *tmp its name, cases_dir/<case_id>, whole; *final gets
 * the path and *tmp is consumed. */
static int
case_dir_publish(char **final, char **tmp, const char *cases_dir, const char *case_id)
{
    if (!(*final = mrx_fs_join(cases_dir, case_id)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (rename(*tmp, *final) != 0)
        return mrx_error_set(errno == EEXIST || errno == ENOTEMPTY ? MRX_EEXIST : MRX_EIO,
                             "case %.16s: cannot move into place: %s", case_id, strerror(errno));
    free(*tmp);
    *tmp = NULL;
    return mrx_fs_fsync_dir(cases_dir);
}

int
mrx_ledger_create(mrx_ledger **out, const char *cases_dir, const mrx_ledger_author *owner,
                  const char *title)
{
    mrx_ledger *self = calloc(1, sizeof *self);
    unsigned char nonce[MRX_NONCE_HEX_LEN / 2];
    char *tmp = NULL;
    mrx_event ev;
    git_oid oid;
    int rc;

    *out = NULL;
    if (!self)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (!mrx_text_is_single_line(title, MRX_TITLE_MAX)) {
        rc = mrx_error_set(MRX_EINVAL, "bad case title (1-%d characters on one line)",
                           MRX_TITLE_MAX);
        goto out;
    }
    strcpy(self->title, title);
    if ((rc = case_dir_begin(&tmp, &self->repo, cases_dir)) < 0)
        goto out;
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_CASE_CREATED;
    strcpy(ev.author, owner->fpr);
    ev.time = time(NULL);
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) {
        rc = mrx_error_set(MRX_EIO, "no randomness for the case nonce");
        goto out;
    }
    for (size_t i = 0; i < sizeof nonce; i++)
        sprintf(ev.nonce + 2 * i, "%02x", nonce[i]);
    if ((rc = write_event(&oid, self->repo, owner, &ev, NULL, NULL)) < 0 ||
        (rc = commit_sha256(self->case_id, self->repo, &oid)) < 0 ||
        (rc = write_line_file(tmp, OWNER_FILE, owner->fpr)) < 0 ||
        (rc = write_line_file(tmp, TITLE_FILE, title)) < 0)
        goto out;
    strcpy(self->owner, owner->fpr);
    /* the case becomes visible under its id only now, whole */
    git_repository_free(self->repo);
    self->repo = NULL;
    if ((rc = case_dir_publish(&self->dir, &tmp, cases_dir, self->case_id)) < 0 ||
        (rc = open_repo(self)) < 0)
        goto out;
    *out = self;
    self = NULL;
out:
    if (tmp) {
        mrx_fs_remove_tree(tmp);
        free(tmp);
    }
    mrx_ledger_destroy(&self);
    return rc;
}

int
mrx_ledger_adopt(mrx_ledger **out, const char *cases_dir, const char *case_id, const char *owner)
{
    char *tmp = NULL, *final = NULL;
    int rc;

    *out = NULL;
    if (!mrx_sha256_hex_valid(case_id) || !mrx_text_is_fpr(owner))
        return mrx_error_set(MRX_EINVAL, "bad case id or owner");
    if (!(final = mrx_fs_join(cases_dir, case_id)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = access(final, F_OK) == 0
             ? mrx_error_set(MRX_EEXIST, "case %.16s: already on this node", case_id)
             : 0;
    free(final);
    final = NULL;
    if (rc < 0 || (rc = case_dir_begin(&tmp, NULL, cases_dir)) < 0 ||
        (rc = write_line_file(tmp, OWNER_FILE, owner)) < 0 ||
        (rc = case_dir_publish(&final, &tmp, cases_dir, case_id)) < 0)
        goto out;
    rc = mrx_ledger_open(out, final);
out:
    if (tmp) {
        mrx_fs_remove_tree(tmp);
        free(tmp);
    }
    free(final);
    return rc;
}

/* The local title, if this node keeps one; a damaged one is an error. */
static int
read_title(mrx_ledger *self)
{
    char *path = mrx_fs_join(self->dir, TITLE_FILE), *text = NULL;
    size_t len = 0;
    int rc;

    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = mrx_fs_read_file(&text, &len, path, MRX_TITLE_MAX + 2);
    if (rc == MRX_ENOTFOUND) {
        rc = 0;
    } else if (rc == 0) {
        if (len > 0 && text[len - 1] == '\n')
            text[--len] = '\0';
        if (!mrx_text_is_single_line(text, MRX_TITLE_MAX))
            rc = mrx_error_set(MRX_EFORMAT, "%s: bad title", path);
        else
            strcpy(self->title, text);
    }
    free(text);
    free(path);
    return rc;
}

int
mrx_ledger_open(mrx_ledger **out, const char *case_dir)
{
    mrx_ledger *self = calloc(1, sizeof *self);
    char *owner_path = NULL, *text = NULL, *copy = NULL;
    const char *base;
    size_t len = 0;
    int rc;

    *out = NULL;
    if (!self || !(self->dir = strdup(case_dir)) || !(copy = strdup(case_dir)) ||
        !(owner_path = mrx_fs_join(case_dir, OWNER_FILE))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
    if (!mrx_sha256_hex_valid(base)) {
        rc = mrx_error_set(MRX_EINVAL, "%s: not a case folder (named by a case id)", case_dir);
        goto out;
    }
    strcpy(self->case_id, base);
    if ((rc = mrx_fs_read_file(&text, &len, owner_path, 64)) < 0)
        goto out;
    if (len != MRX_FPR_LEN + 1 || text[MRX_FPR_LEN] != '\n' ||
        (text[MRX_FPR_LEN] = '\0', !mrx_text_is_fpr(text))) {
        rc = mrx_error_set(MRX_EFORMAT, "%s: bad owner file", owner_path);
        goto out;
    }
    strcpy(self->owner, text);
    free(text);
    text = NULL;
    if ((rc = read_title(self)) < 0 || (rc = open_repo(self)) < 0)
        goto out;
    *out = self;
    self = NULL;
out:
    free(owner_path);
    free(text);
    free(copy);
    mrx_ledger_destroy(&self);
    return rc;
}

/* The commit a feed points at, or NULL (and 0) if the feed does not exist. */
static int
feed_head(git_commit **out, git_repository *repo, const char *fpr)
{
    git_reference *ref = NULL;
    char refname[64];
    int err;

    *out = NULL;
    feed_ref(refname, sizeof refname, fpr);
    err = git_reference_lookup(&ref, repo, refname);
    if (err == GIT_ENOTFOUND)
        return 0;
    if (err < 0)
        return git_fail(MRX_EIO, "feed");
    if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
        git_reference_free(ref);
        return mrx_error_set(MRX_EFORMAT, "feed %s: its ref is symbolic, not an event", fpr);
    }
    err = git_commit_lookup(out, repo, git_reference_target(ref));
    git_reference_free(ref);
    return err < 0 ? mrx_error_set(MRX_EFORMAT, "feed %s: its head is not a commit", fpr) : 0;
}

int
mrx_ledger_append(mrx_ledger *self, const mrx_ledger_author *author, mrx_event *ev,
                  const char *attachment, char commit[MRX_COMMIT_HEX_LEN + 1])
{
    git_commit *parent = NULL;
    mrx_event last;
    git_oid oid;
    int rc, lock = -1;

    if (ev->type == MRX_EV_CASE_CREATED)
        return mrx_error_set(MRX_EINVAL, "a case is created once, by mrx_ledger_create");
    if ((attachment_entry(ev->type) != NULL) != (attachment != NULL))
        return mrx_error_set(MRX_EINVAL, "member-added carries a certificate, bundle-served a "
                                         "signed request, and no other event anything");
    if ((rc = lock_feed(self, author->fpr, &lock)) < 0)
        return rc;
    if ((rc = feed_head(&parent, self->repo, author->fpr)) < 0)
        goto out;
    strcpy(ev->author, author->fpr);
    strcpy(ev->case_id, self->case_id);
    ev->time = time(NULL);
    ev->seq = 0;
    ev->prev[0] = '\0';
    if (parent) {
        const char *msg = git_commit_message_raw(parent);
        if ((rc = mrx_event_parse(&last, msg, strlen(msg))) < 0 ||
            (rc = commit_sha256(ev->prev, self->repo, git_commit_id(parent))) < 0)
            goto out;
        ev->seq = last.seq + 1;
        /* times in one feed never go backwards, whatever the clock does */
        if (ev->time < last.time)
            ev->time = last.time;
    }
    if ((rc = write_event(&oid, self->repo, author, ev, attachment, parent)) < 0)
        goto out;
    if (commit)
        git_oid_tostr(commit, MRX_COMMIT_HEX_LEN + 1, &oid);
out:
    git_commit_free(parent);
    if (lock >= 0)
        close(lock);
    return rc;
}

/* The verification cache: the signatures this node has already checked,
 * as "COMMIT FPR" lines in cases/<id>/verified. Events are immutable, so an
 * entry never goes stale; a lost or torn line only costs a re-check. */
static int
compare_keys(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
cache_insert(mrx_ledger *self, const char *key)
{
    char *copy = strdup(key), **found;

    if (!copy)
        return;
    found = tsearch(copy, &self->verified, compare_keys);
    if (!found || *found != copy)
        free(copy);
}

static void
cache_load(mrx_ledger *self)
{
    char *path = mrx_fs_join(self->dir, CACHE_FILE), *text = NULL, *line, *next;
    size_t len = 0;

    self->verified_loaded = 1;
    if (!path)
        return;
    if (mrx_fs_read_file(&text, &len, path, CACHE_MAX) == 0) {
        for (line = text; (next = strchr(line, '\n')); line = next + 1) {
            *next = '\0';
            /* only well-formed lines count */
            if (next - line == CACHE_LINE - 1 && line[MRX_COMMIT_HEX_LEN] == ' ' &&
                mrx_text_is_fpr(line + MRX_COMMIT_HEX_LEN + 1))
                cache_insert(self, line);
        }
    }
    free(text);
    free(path);
}

static int
cache_has(mrx_ledger *self, const char *key)
{
    if (!self->verified_loaded)
        cache_load(self);
    return tfind(key, &self->verified, compare_keys) != NULL;
}

static void
cache_add(mrx_ledger *self, const char *key)
{
    char *path = mrx_fs_join(self->dir, CACHE_FILE), line[CACHE_LINE + 1];
    int fd;

    cache_insert(self, key);
    if (!path)
        return;
    /* one short O_APPEND write: lines from concurrent readers never interleave */
    snprintf(line, sizeof line, "%s\n", key);
    if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
        (void)!write(fd, line, strlen(line));
        close(fd);
    }
    free(path);
}

/* Check one event of fpr's feed at position seq, given the previous one's
 * SHA-256 (empty for the first). */
static int
check_event(mrx_ledger *self, git_repository *repo, mrx_pgp *pgp, const char *fpr, git_commit *c,
            uint64_t seq, const char *prev, time_t not_before, mrx_event *ev)
{
    git_buf sig = {0}, signed_data = {0};
    git_tree *tree = NULL;
    const char *msg, *entry;
    char id[MRX_COMMIT_HEX_LEN + 1], key[CACHE_LINE];
    int rc = 0, cached;

    git_oid_tostr(id, sizeof id, git_commit_id(c));
    snprintf(key, sizeof key, "%s %s", id, fpr);
    cached = cache_has(self, key);
    if (git_commit_parentcount(c) > 1) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s has %u parents", id, git_commit_parentcount(c));
        goto out;
    }
    if (!cached) {
        if (git_commit_extract_signature(&sig, &signed_data, repo, (git_oid *)git_commit_id(c),
                                         "gpgsig") < 0) {
            rc = mrx_error_set(MRX_ECRYPTO, "event %s is not signed", id);
            goto out;
        }
        if ((rc = mrx_pgp_verify_detached(pgp, NULL, fpr, sig.ptr, sig.size, signed_data.ptr,
                                          signed_data.size)) < 0) {
            mrx_error_wrap(rc, "event %s", id);
            goto out;
        }
    }
    msg = git_commit_message_raw(c);
    if ((rc = mrx_event_parse(ev, msg, strlen(msg))) < 0) {
        mrx_error_wrap(rc, "event %s", id);
        goto out;
    }
    if (ev->time < not_before) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s is dated before the event it follows", id);
        goto out;
    }
    {
        /* git's own view of the event must be the event's: author and
         * committer FPR@mrx at the event's time */
        const git_signature *a = git_commit_author(c), *k = git_commit_committer(c);
        char email[MRX_FPR_LEN + 8];
        snprintf(email, sizeof email, "%s@mrx", fpr);
        if (!a || !k || strcmp(a->email, email) != 0 || strcmp(k->email, email) != 0 ||
            a->when.time != (git_time_t)ev->time || k->when.time != (git_time_t)ev->time) {
            rc = mrx_error_set(MRX_EFORMAT, "event %s: commit author or time differs from the "
                                            "event's",
                               id);
            goto out;
        }
    }
    if (strcmp(ev->author, fpr) != 0 || ev->seq != seq || strcmp(ev->prev, prev) != 0) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s breaks the chain of feed %s (author, seq %llu "
                                        "or prev)",
                           id, fpr, (unsigned long long)seq);
        goto out;
    }
    if (ev->type == MRX_EV_CASE_CREATED) {
        char case_id[MRX_SHA256_HEX_LEN + 1];
        if ((rc = commit_sha256(case_id, repo, git_commit_id(c))) < 0)
            goto out;
        if (strcmp(fpr, self->owner) != 0 || strcmp(case_id, self->case_id) != 0) {
            rc = mrx_error_set(MRX_EFORMAT, "event %s creates another case", id);
            goto out;
        }
    } else if (strcmp(ev->case_id, self->case_id) != 0) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s belongs to another case", id);
        goto out;
    }
    if (git_commit_tree(&tree, c) < 0) {
        rc = git_fail(MRX_EFORMAT, "event tree");
        goto out;
    }
    if ((entry = attachment_entry(ev->type))
            ? git_tree_entrycount(tree) != 1 || !git_tree_entry_byname(tree, entry) ||
                  git_tree_entry_type(git_tree_entry_byname(tree, entry)) != GIT_OBJECT_BLOB
            : git_tree_entrycount(tree) != 0 ||
        (git_tree_entrycount(tree) == 1 &&
         git_tree_entry_filemode(git_tree_entry_byindex(tree, 0)) != GIT_FILEMODE_BLOB)) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s has unexpected tree entries", id);
        goto out;
    }
    /* remembered only once every check has passed */
    if (!cached)
        cache_add(self, key);
out:
    git_tree_free(tree);
    git_buf_dispose(&sig);
    git_buf_dispose(&signed_data);
    return rc;
}

/* Walk a feed back from head (taken over, freed here) to stop (not
 * included) or to its root, collecting the commit ids, newest first.
 * Refuses a commit with more than one parent and an overlong feed.
 * *reached says whether stop was met. */
static int
walk_back(git_oid **out, size_t *n, int *reached, git_commit *head, const git_oid *stop,
          const char *fpr)
{
    git_oid *chain = NULL;
    size_t count = 0, cap = 0;
    git_commit *c, *parent;
    int rc = 0;

    *out = NULL;
    *n = 0;
    *reached = 0;
    for (c = head; c; c = parent) {
        parent = NULL;
        if (stop && git_oid_equal(git_commit_id(c), stop)) {
            *reached = 1;
            git_commit_free(c);
            break;
        }
        if (count == FEED_EVENTS_MAX || git_commit_parentcount(c) > 1) {
            rc = mrx_error_set(MRX_EFORMAT, "feed %s: event %s has %u parents or the feed holds "
                                            "more than %d events",
                               fpr, git_oid_tostr_s(git_commit_id(c)),
                               git_commit_parentcount(c), FEED_EVENTS_MAX);
        } else if (count == cap) {
            git_oid *grown = realloc(chain, (cap = cap ? cap * 2 : 64) * sizeof *chain);
            if (!grown)
                rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            else
                chain = grown;
        }
        if (rc == 0) {
            git_oid_cpy(&chain[count++], git_commit_id(c));
            if (git_commit_parentcount(c) == 1 && git_commit_parent(&parent, c, 0) < 0)
                rc = mrx_error_set(MRX_EFORMAT, "feed %s: the parent of event %s is missing", fpr,
                                   git_oid_tostr_s(git_commit_id(c)));
        }
        git_commit_free(c);
        if (rc < 0) {
            git_commit_free(parent);
            break;
        }
    }
    if (rc < 0) {
        free(chain);
        return rc;
    }
    *out = chain;
    *n = count;
    return 0;
}

int
mrx_ledger_read_feed(mrx_ledger *self, mrx_pgp *pgp, const char *fpr, mrx_ledger_event_fn fn,
                     void *arg)
{
    git_commit *head = NULL, *c = NULL;
    git_oid *chain = NULL;
    size_t n = 0;
    int reached;
    char prev[MRX_SHA256_HEX_LEN + 1] = "";
    time_t last = 0;
    mrx_event ev;
    int rc;

    if (!mrx_text_is_fpr(fpr))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", fpr);
    if ((rc = feed_head(&head, self->repo, fpr)) < 0 || !head)
        return rc;
    /* collect head..root, then check root..head */
    if ((rc = walk_back(&chain, &n, &reached, head, NULL, fpr)) < 0)
        return rc;
    for (size_t i = n; rc == 0 && i-- > 0;) {
        char commit[MRX_COMMIT_HEX_LEN + 1];
        if (git_commit_lookup(&c, self->repo, &chain[i]) < 0) {
            rc = git_fail(MRX_EIO, "event");
            break;
        }
        rc = check_event(self, self->repo, pgp, fpr, c, n - 1 - i, prev, last, &ev);
        git_commit_free(c);
        if (rc < 0 || (rc = commit_sha256(prev, self->repo, &chain[i])) < 0)
            break;
        last = ev.time;
        git_oid_tostr(commit, sizeof commit, &chain[i]);
        if (fn && (rc = fn(arg, &ev, commit)) < 0)
            break;
    }
    free(chain);
    return rc;
}

/* The blob entry of the event commit, at most max bytes: *out malloc'd
 * and NUL-terminated. */
static int
read_attachment(mrx_ledger *self, const char *commit, const char *entry, size_t max, char **out,
                size_t *len, char blob_id[MRX_COMMIT_HEX_LEN + 1])
{
    git_commit *c = NULL;
    git_tree *tree = NULL;
    git_blob *blob = NULL;
    const git_tree_entry *e;
    git_oid oid;
    size_t size;
    int rc = 0;

    *out = NULL;
    if (git_oid_fromstr(&oid, commit) < 0 || git_commit_lookup(&c, self->repo, &oid) < 0 ||
        git_commit_tree(&tree, c) < 0) {
        rc = git_fail(MRX_ENOTFOUND, "event");
        goto out;
    }
    if (!(e = git_tree_entry_byname(tree, entry)) ||
        git_blob_lookup(&blob, self->repo, git_tree_entry_id(e)) < 0) {
        rc = mrx_error_set(MRX_EFORMAT, "event %s holds no %s", commit, entry);
        goto out;
    }
    size = (size_t)git_blob_rawsize(blob);
    if (size > max) {
        rc = mrx_error_set(MRX_ELIMIT, "event %s: %s larger than %zu bytes", commit, entry, max);
        goto out;
    }
    if (!(*out = malloc(size + 1))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*out, git_blob_rawcontent(blob), size);
    (*out)[size] = '\0';
    if (len)
        *len = size;
    if (blob_id)
        git_oid_tostr(blob_id, MRX_COMMIT_HEX_LEN + 1, git_blob_id(blob));
out:
    git_blob_free(blob);
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}

int
mrx_ledger_certificate(mrx_ledger *self, const char *commit, char **out, size_t *len)
{
    return read_attachment(self, commit, CERT_ENTRY, CERT_BLOB_MAX, out, len, NULL);
}

int
mrx_ledger_request(mrx_ledger *self, const char *commit, char **out, size_t *len)
{
    return read_attachment(self, commit, REQUEST_ENTRY, MRX_REQUEST_MAX, out, len, NULL);
}

int
mrx_ledger_witness(mrx_ledger *self, mrx_pgp *pgp, const char *commit, const char *reader,
                   mrx_request *out)
{
    char blob[MRX_COMMIT_HEX_LEN + 1], key[CACHE_LINE], *text = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = read_attachment(self, commit, REQUEST_ENTRY, MRX_REQUEST_MAX, &text, &len, blob)) <
        0)
        return rc;
    /* remembered by the request's blob id, which no event commit can have */
    snprintf(key, sizeof key, "%s %s", blob, reader);
    if (cache_has(self, key))
        rc = mrx_request_read_verified(out, text, len, reader);
    else if ((rc = mrx_request_check(out, pgp, text, len, reader)) == 0)
        cache_add(self, key);
    free(text);
    return rc;
}

int
mrx_ledger_feeds(mrx_ledger *self, char (**out)[MRX_FPR_LEN + 1], size_t *n)
{
    git_reference_iterator *it = NULL;
    git_reference *ref;
    char (*list)[MRX_FPR_LEN + 1] = NULL;
    size_t count = 0;
    int rc = 0, err;

    *out = NULL;
    *n = 0;
    if (git_reference_iterator_glob_new(&it, self->repo, FEED_PREFIX "*") < 0)
        return git_fail(MRX_EIO, "listing feeds");
    while ((err = git_reference_next(&ref, it)) == 0) {
        const char *fpr = git_reference_name(ref) + strlen(FEED_PREFIX);
        if (mrx_text_is_fpr(fpr)) {
            char (*grown)[MRX_FPR_LEN + 1] = realloc(list, (count + 1) * sizeof *list);
            if (!grown) {
                git_reference_free(ref);
                rc = mrx_error_set(MRX_ENOMEM, "out of memory");
                break;
            }
            list = grown;
            strcpy(list[count++], fpr);
        }
        git_reference_free(ref);
    }
    if (rc == 0 && err != GIT_ITEROVER)
        rc = git_fail(MRX_EIO, "listing feeds");
    git_reference_iterator_free(it);
    if (rc < 0) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

int
mrx_ledger_source_feeds(const char *source_git_dir, char (**out)[MRX_FPR_LEN + 1], size_t *n)
{
    mrx_ledger source;
    int rc;

    memset(&source, 0, sizeof source);
    *out = NULL;
    *n = 0;
    if (git_repository_open_bare(&source.repo, source_git_dir) < 0)
        return git_fail(MRX_ENOTFOUND, source_git_dir);
    rc = mrx_ledger_feeds(&source, out, n);
    git_repository_free(source.repo);
    return rc;
}

/* Copy one object from src to dst, refusing wrong types and sizes and
 * counting what was copied against *budget. */
static int
copy_object(git_odb *dst, git_odb *src, const git_oid *oid, git_object_t type, size_t max,
            size_t *budget)
{
    git_odb_object *obj = NULL;
    git_oid written;
    int rc = 0;

    if (git_odb_read(&obj, src, oid) < 0)
        return mrx_error_set(MRX_EFORMAT, "object %s is missing", git_oid_tostr_s(oid));
    if (git_odb_object_type(obj) != type)
        rc = mrx_error_set(MRX_EFORMAT, "object %s is a %s, not a %s", git_oid_tostr_s(oid),
                           git_object_type2string(git_odb_object_type(obj)),
                           git_object_type2string(type));
    else if (git_odb_object_size(obj) > max)
        rc = mrx_error_set(MRX_ELIMIT, "object %s: %zu bytes, more than %zu",
                           git_oid_tostr_s(oid), git_odb_object_size(obj), max);
    else if (git_odb_object_size(obj) > *budget)
        rc = mrx_error_set(MRX_ELIMIT, "more than %d bytes of new events at once",
                           INGEST_BYTES_MAX);
    else if (git_odb_write(&written, dst, git_odb_object_data(obj), git_odb_object_size(obj),
                           type) < 0 ||
             !git_oid_equal(&written, oid))
        rc = git_fail(MRX_EIO, "copying an object");
    if (rc == 0)
        *budget -= git_odb_object_size(obj);
    git_odb_object_free(obj);
    return rc;
}

/* Copy a commit of an event with its tree and the tree's blobs. */
static int
copy_event_objects(git_odb *dst, git_repository *src, const git_oid *commit, size_t *budget)
{
    git_odb *src_odb = NULL;
    git_commit *c = NULL;
    git_tree *tree = NULL;
    int rc;

    if (git_repository_odb(&src_odb, src) < 0)
        return git_fail(MRX_EIO, "source objects");
    if ((rc = copy_object(dst, src_odb, commit, GIT_OBJECT_COMMIT, COMMIT_MAX, budget)) < 0)
        goto out;
    if (git_commit_lookup(&c, src, commit) < 0) {
        rc = git_fail(MRX_EFORMAT, "event commit");
        goto out;
    }
    if ((rc = copy_object(dst, src_odb, git_commit_tree_id(c), GIT_OBJECT_TREE, TREE_MAX,
                          budget)) < 0)
        goto out;
    if (git_tree_lookup(&tree, src, git_commit_tree_id(c)) < 0) {
        rc = git_fail(MRX_EFORMAT, "event tree");
        goto out;
    }
    for (size_t i = 0; i < git_tree_entrycount(tree) && rc == 0; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        rc = git_tree_entry_type(e) != GIT_OBJECT_BLOB
                 ? mrx_error_set(MRX_EFORMAT, "event %s: tree holds a %s",
                                 git_oid_tostr_s(commit),
                                 git_object_type2string(git_tree_entry_type(e)))
                 : copy_object(dst, src_odb, git_tree_entry_id(e), GIT_OBJECT_BLOB, CERT_BLOB_MAX,
                               budget);
    }
out:
    git_tree_free(tree);
    git_commit_free(c);
    git_odb_free(src_odb);
    return rc;
}

/* A fresh quarantine: an object store of its own that also reads ours. */
static int
quarantine_open(git_repository **qrepo, git_odb **qodb, const char *qdir, git_repository *main)
{
    git_odb_backend *loose = NULL;
    char *objects = NULL;
    int rc = 0;

    *qrepo = NULL;
    *qodb = NULL;
    if (asprintf(&objects, "%sobjects", git_repository_path(main)) < 0)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (git_odb_new(qodb) < 0 || git_odb_backend_loose(&loose, qdir, -1, 1, 0, 0) < 0 ||
        git_odb_add_backend(*qodb, loose, 2) < 0 || git_odb_add_disk_alternate(*qodb, objects) < 0 ||
        git_repository_wrap_odb(qrepo, *qodb) < 0)
        rc = git_fail(MRX_EIO, "quarantine");
    free(objects);
    return rc;
}

/* Keep a refused history: its objects stay in evidence/<fpr>-<head>/, and
 * a note (REFUSED) says what it was, why, and who offered it. */
static int
keep_evidence(mrx_ledger *self, const char *qdir, const char *fpr, const git_oid *theirs,
              const char *kind, const char *from, const char *why)
{
    char *dir = NULL, *dest = NULL, *note = NULL, *text = NULL, head[GIT_OID_HEXSZ + 1];
    int kept = 0;

    git_oid_tostr(head, sizeof head, theirs);
    if (!(dir = mrx_fs_join(self->dir, EVIDENCE_DIR)) || mrx_fs_mkdir_p(dir, 0700) < 0 ||
        asprintf(&dest, "%s/%s-%s", dir, fpr, head) < 0)
        goto out;
    /* the same evidence twice is kept once */
    if (rename(qdir, dest) != 0)
        goto out;
    kept = 1;
    if (asprintf(&note, "%s/" EVIDENCE_NOTE, dest) >= 0 &&
        asprintf(&text, "feed: %s\nhead: %s\nkind: %s\nfrom: %s\nreason: %s\n", fpr, head, kind,
                 from && mrx_text_is_fpr(from) ? from : "-", why) >= 0)
        mrx_fs_write_atomic(note, text, strlen(text), 0600);
out:
    free(dir);
    free(dest);
    free(note);
    free(text);
    return kept;
}

/* The value of "key: " among a note's lines, into out ("" if none). */
static void
note_field(char *out, size_t len, const char *note, const char *key)
{
    size_t klen = strlen(key);

    out[0] = '\0';
    for (const char *p = note; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, klen) == 0 && p[klen] == ':' && p[klen + 1] == ' ') {
            const char *v = p + klen + 2, *end = strchr(v, '\n');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), v);
            return;
        }
}

int
mrx_ledger_evidence(mrx_ledger *self, mrx_ledger_refusal **out, size_t *n)
{
    char *dir = mrx_fs_join(self->dir, EVIDENCE_DIR);
    mrx_ledger_refusal *list = NULL;
    size_t cap = 0;
    struct dirent *de;
    DIR *d;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (!dir)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (!(d = opendir(dir))) {
        free(dir);
        return 0; /* none kept */
    }
    while (rc == 0 && (de = readdir(d))) {
        char *path = NULL, *note = NULL, kind[16];
        struct stat st;
        size_t len = 0;
        mrx_ledger_refusal *r;

        if (de->d_name[0] == '.' || asprintf(&path, "%s/%s/" EVIDENCE_NOTE, dir, de->d_name) < 0)
            continue;
        if (stat(path, &st) == 0 && mrx_fs_read_file(&note, &len, path, EVIDENCE_NOTE_MAX) == 0) {
            if (*n == cap) {
                size_t grown_cap = cap ? cap * 2 : 8;
                mrx_ledger_refusal *grown = realloc(list, grown_cap * sizeof *grown);
                if (!grown) {
                    rc = mrx_error_set(MRX_ENOMEM, "out of memory");
                    free(note);
                    free(path);
                    break;
                }
                list = grown;
                cap = grown_cap;
            }
            r = &list[(*n)++];
            memset(r, 0, sizeof *r);
            r->time = st.st_mtime;
            note_field(r->fpr, sizeof r->fpr, note, "feed");
            note_field(r->head, sizeof r->head, note, "head");
            note_field(r->from, sizeof r->from, note, "from");
            note_field(r->reason, sizeof r->reason, note, "reason");
            note_field(kind, sizeof kind, note, "kind");
            if (!mrx_text_is_fpr(r->fpr))
                r->fpr[0] = '\0';
            if (strlen(r->head) != MRX_COMMIT_HEX_LEN)
                r->head[0] = '\0';
            if (!mrx_text_is_fpr(r->from))
                r->from[0] = '\0';
            /* notes from before kinds were written are rewrites */
            r->unentitled = strcmp(kind, "unentitled") == 0;
        }
        mrx_error_clear();
        free(note);
        free(path);
    }
    closedir(d);
    free(dir);
    if (rc < 0) {
        free(list);
        *n = 0;
        return rc;
    }
    *out = list;
    return 0;
}

int
mrx_ledger_ingest_feed(mrx_ledger *self, mrx_pgp *pgp, const char *source_git_dir,
                       const char *fpr, const char *from, mrx_ledger_check_fn check, void *arg,
                       size_t *added)
{
    git_repository *src = NULL, *qrepo = NULL;
    git_odb *qodb = NULL, *main_odb = NULL;
    git_commit *ours = NULL, *theirs = NULL, *c = NULL;
    git_oid *chain = NULL, ours_id;
    git_reference *ref = NULL;
    size_t n = 0, budget = INGEST_BYTES_MAX, budget_main = INGEST_BYTES_MAX;
    uint64_t seq = 0;
    time_t last = 0;
    int reached = 0, lock = -1;
    char prev[MRX_SHA256_HEX_LEN + 1] = "", refname[64], *qdir = NULL, why[512] = "";
    int rc = 0, rewritten = 0;
    mrx_event ev;

    *added = 0;
    if (!mrx_text_is_fpr(fpr))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", fpr);
    if (git_repository_open_bare(&src, source_git_dir) < 0)
        return git_fail(MRX_ENOTFOUND, source_git_dir);
    if ((rc = lock_feed(self, fpr, &lock)) < 0)
        goto out;
    if ((rc = feed_head(&theirs, src, fpr)) < 0 || !theirs ||
        (rc = feed_head(&ours, self->repo, fpr)) < 0)
        goto out;
    if (ours && git_oid_equal(git_commit_id(ours), git_commit_id(theirs)))
        goto out; /* nothing new */
    if (ours)
        git_oid_cpy(&ours_id, git_commit_id(ours));
    /* their chain back to our head (or to its root) */
    rc = walk_back(&chain, &n, &reached, theirs, ours ? &ours_id : NULL, fpr);
    theirs = NULL;
    if (rc < 0)
        goto out;
    if (ours && !reached) {
        /* their history does not contain our head: behind us, or rewritten */
        if (git_graph_descendant_of(self->repo, &ours_id, &chain[0]) == 1) {
            n = 0;
            goto out;
        }
        rewritten = 1;
        snprintf(why, sizeof why, "feed %s: their history does not extend ours at %s "
                                  "(rewritten); refused and kept as evidence",
                 fpr, git_oid_tostr_s(&ours_id));
    }
    /* into quarantine: nothing reaches the ledger before every check */
    if (!(qdir = mrx_fs_join(self->dir, ".quarantine-XXXXXX")) || !mkdtemp(qdir)) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot make a quarantine", self->dir);
        goto out;
    }
    if ((rc = quarantine_open(&qrepo, &qodb, qdir, self->repo)) < 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = copy_event_objects(qodb, src, &chain[i], &budget);
    if (rc < 0)
        goto out;
    if (rewritten) {
        /* evidence must be the author's own doing: their whole history,
         * from its root, must verify as fpr's feed; anything else is only
         * refused, so nobody can frame an author with forged commits */
        char their_prev[MRX_SHA256_HEX_LEN + 1] = "";
        time_t their_last = 0;
        for (size_t i = n; rc == 0 && i-- > 0;) {
            if (git_commit_lookup(&c, qrepo, &chain[i]) < 0) {
                rc = git_fail(MRX_EFORMAT, git_oid_tostr_s(&chain[i]));
                break;
            }
            rc = check_event(self, qrepo, pgp, fpr, c, n - 1 - i, their_prev, their_last, &ev);
            git_commit_free(c);
            c = NULL;
            if (rc == 0 && (rc = commit_sha256(their_prev, qrepo, &chain[i])) == 0)
                their_last = ev.time;
        }
        if (rc < 0) {
            mrx_error_wrap(rc, "feed %s: a history that does not extend ours, nor verify", fpr);
            goto out;
        }
        rc = mrx_error_set(MRX_EDENIED, "%s", why);
        if (keep_evidence(self, qdir, fpr, &chain[0], "rewritten", from, why)) {
            free(qdir);
            qdir = NULL;
        }
        mrx_error_set(rc, "%s", why);
        goto out;
    }
    if (ours) {
        const char *msg = git_commit_message_raw(ours);
        if ((rc = mrx_event_parse(&ev, msg, strlen(msg))) < 0 ||
            (rc = commit_sha256(prev, self->repo, &ours_id)) < 0)
            goto out;
        seq = ev.seq + 1;
        last = ev.time;
    }
    for (size_t i = n; i-- > 0;) {
        if (git_commit_lookup(&c, qrepo, &chain[i]) < 0) {
            rc = git_fail(MRX_EFORMAT, git_oid_tostr_s(&chain[i]));
            goto out;
        }
        rc = check_event(self, qrepo, pgp, fpr, c, seq, prev, last, &ev);
        git_commit_free(c);
        c = NULL;
        if (rc < 0)
            goto out;
        last = ev.time;
        if (ev.time > time(NULL) + FUTURE_SLACK) {
            rc = mrx_error_set(MRX_EFORMAT, "event %s is dated in the future",
                               git_oid_tostr_s(&chain[i]));
            goto out;
        }
        if (check && (rc = check(arg, &ev)) < 0) {
            /* signed by its author, who was not entitled to it: kept,
             * up to that event, as the author's own doing */
            snprintf(why, sizeof why, "feed %s: event %s (%s, seq %llu) was not its author's to "
                                      "write: %s; refused and kept as evidence",
                     fpr, git_oid_tostr_s(&chain[i]), mrx_event_type_name(ev.type),
                     (unsigned long long)ev.seq, mrx_error_last());
            if (rc == MRX_EDENIED && keep_evidence(self, qdir, fpr, &chain[i], "unentitled", from, why)) {
                free(qdir);
                qdir = NULL;
            }
            mrx_error_set(rc, "%s", why);
            goto out;
        }
        if ((rc = commit_sha256(prev, qrepo, &chain[i])) < 0)
            goto out;
        seq++;
    }
    /* every check held: the objects join the ledger, then the feed moves */
    if (git_repository_odb(&main_odb, self->repo) < 0) {
        rc = git_fail(MRX_EIO, "ledger objects");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = copy_event_objects(main_odb, qrepo, &chain[i], &budget_main);
    if (rc < 0)
        goto out;
    feed_ref(refname, sizeof refname, fpr);
    if (git_reference_create_matching(&ref, self->repo, refname, &chain[0], ours ? 1 : 0,
                                      ours ? &ours_id : NULL, "mrx: ingest") < 0) {
        rc = git_fail(MRX_EEXIST, "feed moved while ingesting");
        goto out;
    }
    *added = n;
out:
    if (qdir) {
        mrx_fs_remove_tree(qdir);
        free(qdir);
    }
    git_reference_free(ref);
    git_commit_free(c);
    git_commit_free(ours);
    git_commit_free(theirs);
    git_repository_free(qrepo);
    git_odb_free(qodb);
    git_odb_free(main_odb);
    git_repository_free(src);
    free(chain);
    if (lock >= 0)
        close(lock);
    return rc;
}

/* ---------------------------------------------------------------------
 * Heads and packs, for sync
 */

int
mrx_ledger_heads(mrx_ledger *self, mrx_ledger_head **out, size_t *n)
{
    char (*feeds)[MRX_FPR_LEN + 1] = NULL;
    mrx_ledger_head *heads = NULL;
    size_t n_feeds = 0, count = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = mrx_ledger_feeds(self, &feeds, &n_feeds)) < 0)
        return rc;
    if (n_feeds && !(heads = calloc(n_feeds, sizeof *heads))) {
        free(feeds);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_feeds && rc == 0; i++) {
        git_commit *c = NULL;
        mrx_event ev;
        const char *msg;

        if ((rc = feed_head(&c, self->repo, feeds[i])) < 0 || !c)
            continue;
        strcpy(heads[count].fpr, feeds[i]);
        git_oid_tostr(heads[count].commit, sizeof heads[count].commit, git_commit_id(c));
        msg = git_commit_message_raw(c);
        heads[count].events = mrx_event_parse(&ev, msg, strlen(msg)) == 0 ? ev.seq + 1 : 0;
        count++;
        git_commit_free(c);
    }
    free(feeds);
    if (rc < 0) {
        free(heads);
        return rc;
    }
    *out = heads;
    *n = count;
    return 0;
}

static int
object_exists(git_repository *repo, const git_oid *oid)
{
    git_odb *odb = NULL;
    int exists;

    if (git_repository_odb(&odb, repo) < 0)
        return 0;
    exists = git_odb_exists(odb, oid);
    git_odb_free(odb);
    return exists;
}

/* Add to pb the events of fpr's feed after have, at most max of them (the
 * oldest); head receives the last one added, or "". */
static int
pack_feed(mrx_ledger *self, git_packbuilder *pb, const char *fpr, const char *have, size_t max,
          char head[MRX_COMMIT_HEX_LEN + 1])
{
    git_revwalk *walk = NULL;
    git_commit *tip = NULL;
    git_oid oid, *list = NULL;
    size_t count = 0, cap = 0;
    int rc, err;

    head[0] = '\0';
    if ((rc = feed_head(&tip, self->repo, fpr)) < 0 || !tip)
        return rc;
    if (git_revwalk_new(&walk, self->repo) < 0 || git_revwalk_push(walk, git_commit_id(tip)) < 0) {
        rc = git_fail(MRX_EIO, "walking a feed");
        goto out;
    }
    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
    /* what the peer has need not be sent; a commit we do not know is
     * no help, and the peer gets the feed from its start */
    if (have[0] && git_oid_fromstr(&oid, have) == 0 && object_exists(self->repo, &oid))
        git_revwalk_hide(walk, &oid);
    while ((err = git_revwalk_next(&oid, walk)) == 0) {
        if (count == cap) {
            size_t grown_cap = cap ? cap * 2 : 64;
            git_oid *grown = realloc(list, grown_cap * sizeof *grown);
            if (!grown) {
                rc = mrx_error_set(MRX_ENOMEM, "out of memory");
                goto out;
            }
            list = grown;
            cap = grown_cap;
        }
        list[count++] = oid;
    }
    if (err != GIT_ITEROVER) {
        rc = git_fail(MRX_EIO, "walking a feed");
        goto out;
    }
    /* oldest first; the peer asks again for what is beyond max */
    if (count > max)
        count = max;
    for (size_t i = 0; i < count; i++)
        if (git_packbuilder_insert_commit(pb, &list[i]) < 0) {
            rc = git_fail(MRX_EIO, "packing a feed");
            goto out;
        }
    if (count)
        git_oid_tostr(head, MRX_COMMIT_HEX_LEN + 1, &list[count - 1]);
out:
    free(list);
    git_revwalk_free(walk);
    git_commit_free(tip);
    return rc;
}

int
mrx_ledger_pack(mrx_ledger *self, mrx_ledger_head *wants, size_t n, size_t max_events,
                void **pack, size_t *len)
{
    git_packbuilder *pb = NULL;
    git_buf buf = {NULL, 0, 0};
    int rc = 0;

    *pack = NULL;
    *len = 0;
    if (git_packbuilder_new(&pb, self->repo) < 0)
        return git_fail(MRX_EIO, "packing");
    for (size_t i = 0; i < n && rc == 0; i++) {
        char have[MRX_COMMIT_HEX_LEN + 1];
        strcpy(have, wants[i].commit);
        rc = pack_feed(self, pb, wants[i].fpr, have, max_events, wants[i].commit);
    }
    if (rc == 0 && git_packbuilder_write_buf(&buf, pb) < 0)
        rc = git_fail(MRX_EIO, "packing");
    if (rc == 0) {
        if (!(*pack = malloc(buf.size ? buf.size : 1))) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        } else {
            memcpy(*pack, buf.ptr, buf.size);
            *len = buf.size;
        }
    }
    git_buf_dispose(&buf);
    git_packbuilder_free(pb);
    return rc;
}

int
mrx_ledger_unpack(mrx_ledger *self, char **dir_out, const void *pack, size_t len,
                  const mrx_ledger_head *heads, size_t n)
{
    git_repository *repo = NULL;
    git_indexer *idx = NULL;
    git_indexer_progress stats;
    char *dir = NULL, *packdir = NULL, *alternates = NULL, *line = NULL;
    int rc = 0;

    *dir_out = NULL;
    if (!(dir = mrx_fs_join(self->dir, ".incoming-XXXXXX")) || !mkdtemp(dir)) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot make a folder for a pack", self->dir);
        free(dir);
        return rc;
    }
    if (git_repository_init(&repo, dir, 1) < 0) {
        rc = git_fail(MRX_EIO, "unpacking");
        goto out;
    }
    /* the pack may build on events we hold: read ours too */
    if (asprintf(&alternates, "%s/objects/info/alternates", dir) < 0 ||
        asprintf(&line, "%sobjects\n", git_repository_path(self->repo)) < 0 ||
        asprintf(&packdir, "%s/objects/pack", dir) < 0) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mrx_fs_write_new(alternates, line, strlen(line), 0600)) < 0)
        goto out;
    memset(&stats, 0, sizeof stats);
    if (git_indexer_new(&idx, packdir, 0, NULL, NULL) < 0 ||
        git_indexer_append(idx, pack, len, &stats) < 0 || git_indexer_commit(idx, &stats) < 0) {
        rc = git_fail(MRX_EFORMAT, "the peer's pack");
        goto out;
    }
    git_repository_free(repo);
    repo = NULL;
    if (git_repository_open_bare(&repo, dir) < 0) {
        rc = git_fail(MRX_EIO, "unpacking");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        git_reference *ref = NULL;
        char refname[64];
        git_oid oid;

        feed_ref(refname, sizeof refname, heads[i].fpr);
        if (git_oid_fromstr(&oid, heads[i].commit) < 0)
            rc = mrx_error_set(MRX_EFORMAT, "feed %s: bad head", heads[i].fpr);
        else if (!object_exists(repo, &oid))
            rc = mrx_error_set(MRX_EFORMAT, "feed %s: the pack lacks its head %s", heads[i].fpr,
                               heads[i].commit);
        else if (git_reference_create(&ref, repo, refname, &oid, 1, "sync") < 0)
            rc = git_fail(MRX_EIO, "unpacking");
        git_reference_free(ref);
    }
out:
    git_indexer_free(idx);
    git_repository_free(repo);
    free(alternates);
    free(line);
    free(packdir);
    if (rc < 0) {
        mrx_fs_remove_tree(dir);
        free(dir);
        return rc;
    }
    *dir_out = dir;
    return 0;
}

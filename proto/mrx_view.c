/*
 * mrx_view: make, check, compare and keep signed views of a case.
 */
#include "mrx_view.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define VIEW_VERSION "1"
#define BEGIN_MESSAGE "-----BEGIN PGP SIGNED MESSAGE-----\n"
#define BEGIN_SIGNATURE "-----BEGIN PGP SIGNATURE-----\n"
#define END_SIGNATURE "-----END PGP SIGNATURE-----\n"
#define SUFFIX ".view"
#define SUFFIX_LEN (sizeof SUFFIX - 1)
#define AHEAD_MAX (24 * 60 * 60) /* how far ahead of our clock a kept view may be dated */

struct mrx_view {
    char case_id[MRX_SHA256_HEX_LEN + 1]; /* the case viewed */
    char node[MRX_FPR_LEN + 1];           /* who signed it */
    time_t time;                          /* when, UTC */
    mrx_ledger_head *feeds;               /* the heads it shows, sorted by author */
    size_t n_feeds;                       /* how many */
    char *text;                           /* the clear-signed text as received */
    size_t len;                           /* its bytes */
};

void
mrx_view_destroy(mrx_view **self_p)
{
    mrx_view *self = self_p ? *self_p : NULL;

    if (!self)
        return;
    free(self->feeds);
    free(self->text);
    free(self);
    *self_p = NULL;
}

const char *
mrx_view_case_id(const mrx_view *self)
{
    return self->case_id;
}

const char *
mrx_view_node(const mrx_view *self)
{
    return self->node;
}

time_t
mrx_view_time(const mrx_view *self)
{
    return self->time;
}

size_t
mrx_view_feed_count(const mrx_view *self)
{
    return self->n_feeds;
}

const mrx_ledger_head *
mrx_view_feed(const mrx_view *self, size_t i)
{
    return i < self->n_feeds ? &self->feeds[i] : NULL;
}

const char *
mrx_view_text(const mrx_view *self, size_t *len)
{
    if (len)
        *len = self->len;
    return self->text;
}

static int
is_commit(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");

    return n == MRX_COMMIT_HEX_LEN && s[n] == '\0';
}

static int
by_author(const void *a, const void *b)
{
    return strcmp(((const mrx_ledger_head *)a)->fpr, ((const mrx_ledger_head *)b)->fpr);
}

int
mrx_view_make(char **out, size_t *len, mrx_ledger *ledger, mrx_pgp *pgp, const char *signer,
              time_t now)
{
    const char *case_id = mrx_ledger_case_id(ledger);
    mrx_ledger_head *heads = NULL;
    char when[MRX_TIME_LEN + 1], *body = NULL;
    size_t n = 0, body_len = 0;
    FILE *f;
    int rc;

    *out = NULL;
    if (len)
        *len = 0;
    if (!mrx_text_is_fpr(signer))
        return mrx_error_set(MRX_EINVAL, "view signer \"%.48s\" is not a fingerprint", signer);
    if ((rc = mrx_ledger_heads(ledger, &heads, &n)) < 0)
        return rc;
    if (n > MRX_VIEW_FEEDS_MAX) {
        rc = mrx_error_set(MRX_ELIMIT, "case %s: %zu feeds, a view shows at most %d", case_id, n,
                           MRX_VIEW_FEEDS_MAX);
        goto out;
    }
    qsort(heads, n, sizeof *heads, by_author);
    for (size_t i = 0; i < n; i++)
        if (!is_commit(heads[i].commit) || heads[i].events == 0) {
            rc = mrx_error_set(MRX_EFORMAT, "case %s: feed %s has no readable head", case_id,
                               heads[i].fpr);
            goto out;
        }
    if (!(f = open_memstream(&body, &body_len))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    mrx_text_format_time(when, now);
    fprintf(f, "mrx-view: " VIEW_VERSION "\ncase: %s\nnode: %s\ntime: %s\n", case_id, signer, when);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "feed: %s %s %llu\n", heads[i].fpr, heads[i].commit, heads[i].events);
    if (fclose(f) != 0) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if (body_len > MRX_VIEW_MAX) {
        rc = mrx_error_set(MRX_ELIMIT, "case %s: view of %zu bytes, more than %d", case_id,
                           body_len, MRX_VIEW_MAX);
        goto out;
    }
    rc = mrx_pgp_clearsign(pgp, out, len, signer, body);
out:
    free(body);
    free(heads);
    return rc;
}

/* Find the body of a clear-signed view: the BEGIN line, "Hash:" armour
 * headers, an empty line, the body, then one signature block that ends
 * the text. Only the shape is checked here; gpg judges the rest. */
static int
find_body(const char **body, size_t *body_len, const char *text, size_t len)
{
    const size_t begin_len = strlen(BEGIN_SIGNATURE), end_len = strlen(END_SIGNATURE);
    const char *p, *end = text + len, *nl, *sig, *armor;

    if (len < strlen(BEGIN_MESSAGE) || memcmp(text, BEGIN_MESSAGE, strlen(BEGIN_MESSAGE)) != 0)
        return mrx_error_set(MRX_EFORMAT, "view is not clear-signed (no \"-----BEGIN PGP "
                                          "SIGNED MESSAGE-----\" line first)");
    for (p = text + strlen(BEGIN_MESSAGE); p < end && *p != '\n'; p = nl + 1)
        if (!(nl = memchr(p, '\n', (size_t)(end - p))) || nl - p < 6 || memcmp(p, "Hash: ", 6))
            return mrx_error_set(MRX_EFORMAT, "view: an armour header other than \"Hash:\"");
    if (p == end)
        return mrx_error_set(MRX_EFORMAT, "view: no signed text");
    p++;
    if (!(sig = memmem(p, (size_t)(end - p), "\n" BEGIN_SIGNATURE, begin_len + 1)))
        return mrx_error_set(MRX_EFORMAT, "view: no signature block");
    *body = p;
    *body_len = (size_t)(sig + 1 - p);
    armor = sig + 1 + begin_len;
    if ((size_t)(end - armor) < end_len || memcmp(end - end_len, END_SIGNATURE, end_len) != 0 ||
        (end - end_len > armor && end[-(ptrdiff_t)end_len - 1] != '\n'))
        return mrx_error_set(MRX_EFORMAT, "view: the text must end with the line "
                                          "\"-----END PGP SIGNATURE-----\" and a line feed");
    if (memmem(armor, (size_t)(end - end_len - armor), "-----", 5))
        return mrx_error_set(MRX_EFORMAT, "view: more than one armour block");
    return 0;
}

/* "FPR COMMIT EVENTS" */
static int
parse_feed(mrx_ledger_head *out, const char *value, const mrx_text_cursor *c)
{
    if (strlen(value) < 2 * 41 + 1 || value[40] != ' ' || value[81] != ' ')
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: a feed is \"FPR COMMIT EVENTS\"",
                             c->what, c->line);
    memcpy(out->fpr, value, MRX_FPR_LEN);
    out->fpr[MRX_FPR_LEN] = '\0';
    memcpy(out->commit, value + 41, MRX_COMMIT_HEX_LEN);
    out->commit[MRX_COMMIT_HEX_LEN] = '\0';
    if (!mrx_text_is_fpr(out->fpr))
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: feed author is not a fingerprint",
                             c->what, c->line);
    if (!is_commit(out->commit))
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: feed head is not a commit id",
                             c->what, c->line);
    if (mrx_text_parse_u64(&out->events, value + 82) < 0 || out->events == 0)
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: bad event count", c->what, c->line);
    return 0;
}

/* Parse the body into self, strictly; body is modified. */
static int
parse_body(mrx_view *self, char *body, const char *signer)
{
    char what[MRX_FPR_LEN + 16];
    mrx_text_cursor c = {body, 0, what};
    size_t lines = 0, cap;
    char *value;
    int rc;

    for (const char *p = body; (p = strchr(p, '\n')); p++)
        lines++;
    cap = lines < MRX_VIEW_FEEDS_MAX ? lines : MRX_VIEW_FEEDS_MAX;
    if (cap && !(self->feeds = calloc(cap, sizeof *self->feeds)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    snprintf(what, sizeof what, "view by %s", signer);
    if ((rc = mrx_text_take(&value, &c, "mrx-view")) < 0)
        return rc;
    if (strcmp(value, VIEW_VERSION) != 0)
        return mrx_error_set(MRX_EFORMAT, "view by %s: version \"%.8s\" not supported", signer,
                             value);
    if ((rc = mrx_text_take(&value, &c, "case")) < 0)
        return rc;
    if (!mrx_sha256_hex_valid(value))
        return mrx_error_set(MRX_EFORMAT, "view by %s: line 2: not a case id", signer);
    strcpy(self->case_id, value);
    if ((rc = mrx_text_take(&value, &c, "node")) < 0)
        return rc;
    if (!mrx_text_is_fpr(value))
        return mrx_error_set(MRX_EFORMAT, "view by %s: line 3: node is not a fingerprint", signer);
    strcpy(self->node, value);
    if ((rc = mrx_text_take(&value, &c, "time")) < 0)
        return rc;
    if (mrx_text_parse_time(&self->time, value) < 0)
        return mrx_error_set(MRX_EFORMAT, "view by %s: line 4: bad time", signer);
    while (*c.next) {
        mrx_ledger_head *feed = &self->feeds[self->n_feeds];

        if (self->n_feeds == MRX_VIEW_FEEDS_MAX)
            return mrx_error_set(MRX_ELIMIT, "view by %s: more than %d feeds", signer,
                                 MRX_VIEW_FEEDS_MAX);
        if ((rc = mrx_text_take(&value, &c, "feed")) < 0 || (rc = parse_feed(feed, value, &c)) < 0)
            return rc;
        if (self->n_feeds > 0 && strcmp(feed[-1].fpr, feed->fpr) >= 0)
            return mrx_error_set(MRX_EFORMAT, "view by %s: line %zu: feed %s %s", signer, c.line,
                                 feed->fpr,
                                 strcmp(feed[-1].fpr, feed->fpr) ? "out of order" : "repeated");
        self->n_feeds++;
    }
    if (strcmp(self->node, signer) != 0)
        return mrx_error_set(MRX_EDENIED, "view of node %s is signed by %s", self->node, signer);
    return 0;
}

int
mrx_view_parse(mrx_view **out, mrx_pgp *pgp, const char *text, size_t len)
{
    char signer[MRX_FPR_LEN + 1], *plain = NULL;
    const char *body = NULL;
    size_t body_len = 0, plain_len = 0;
    mrx_view *self = NULL;
    int rc;

    *out = NULL;
    if (len > MRX_VIEW_SIGNED_MAX)
        return mrx_error_set(MRX_ELIMIT, "view of %zu bytes, more than %d", len,
                             MRX_VIEW_SIGNED_MAX);
    if (memchr(text, '\0', len))
        return mrx_error_set(MRX_EFORMAT, "view holds a NUL byte");
    if ((rc = find_body(&body, &body_len, text, len)) < 0)
        return rc;
    if (body_len > MRX_VIEW_MAX)
        return mrx_error_set(MRX_ELIMIT, "view body of %zu bytes, more than %d", body_len,
                             MRX_VIEW_MAX);
    if ((rc = mrx_pgp_verify_clearsigned(pgp, signer, NULL, &plain, &plain_len, text, len)) < 0)
        return mrx_error_wrap(rc, "view");
    /* what gpg checked must be the body as shown, byte for byte: no dash
     * escapes, no trailing spaces, no other line ends */
    if (plain_len != body_len || memcmp(plain, body, body_len) != 0) {
        rc =
            mrx_error_set(MRX_EFORMAT, "view by %s: the signed text is not the text shown", signer);
        goto out;
    }
    if (!(self = calloc(1, sizeof *self)) || !(self->text = malloc(len + 1))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(self->text, text, len);
    self->text[len] = '\0';
    self->len = len;
    if ((rc = parse_body(self, plain, signer)) < 0)
        goto out;
    *out = self;
    self = NULL;
out:
    mrx_view_destroy(&self);
    free(plain);
    return rc;
}

/* Record a contradiction's reason in *why (if why is not NULL); 1. */
static int contradiction(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
contradiction(char **why, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!why)
        return 1;
    va_start(ap, fmt);
    n = vasprintf(why, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *why = NULL;
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    return 1;
}

static const mrx_ledger_head *
find_feed(const mrx_view *v, const char *fpr)
{
    mrx_ledger_head key;

    memcpy(key.fpr, fpr, sizeof key.fpr);
    return bsearch(&key, v->feeds, v->n_feeds, sizeof *v->feeds, by_author);
}

int
mrx_view_contradicts(const mrx_view *a, const mrx_view *b, char **why)
{
    char ta[MRX_TIME_LEN + 1], tb[MRX_TIME_LEN + 1];
    const mrx_view *early, *late;

    if (why)
        *why = NULL;
    if (strcmp(a->case_id, b->case_id) != 0)
        return 0;
    mrx_text_format_time(ta, a->time);
    mrx_text_format_time(tb, b->time);
    for (size_t i = 0; i < a->n_feeds; i++) {
        const mrx_ledger_head *fa = &a->feeds[i], *fb = find_feed(b, fa->fpr);

        if (fb && fa->events == fb->events && strcmp(fa->commit, fb->commit) != 0)
            return contradiction(why,
                                 "feed %s forked: with %llu events it ends at %s in the view by "
                                 "%s at %s and at %s in the view by %s at %s",
                                 fa->fpr, fa->events, fa->commit, a->node, ta, fb->commit, b->node,
                                 tb);
    }
    if (strcmp(a->node, b->node) != 0 || a->time == b->time)
        return 0;
    early = a->time < b->time ? a : b;
    late = early == a ? b : a;
    for (size_t i = 0; i < early->n_feeds; i++) {
        const mrx_ledger_head *fe = &early->feeds[i], *fl = find_feed(late, fe->fpr);

        if (!fl || fl->events < fe->events)
            return contradiction(why,
                                 "node %s went backwards on feed %s: %llu events at %s, %llu "
                                 "at %s",
                                 a->node, fe->fpr, fe->events, early == a ? ta : tb,
                                 fl ? fl->events : 0, early == a ? tb : ta);
    }
    return 0;
}

/* The case id a case folder is named by. */
static int
folder_case_id(char id[MRX_SHA256_HEX_LEN + 1], const char *case_dir)
{
    size_t n = strlen(case_dir);
    const char *name;

    while (n > 1 && case_dir[n - 1] == '/')
        n--;
    for (name = case_dir + n; name > case_dir && name[-1] != '/'; name--)
        ;
    if (case_dir + n - name != MRX_SHA256_HEX_LEN)
        return mrx_error_set(MRX_EINVAL, "%s is not a case folder", case_dir);
    memcpy(id, name, MRX_SHA256_HEX_LEN);
    id[MRX_SHA256_HEX_LEN] = '\0';
    if (!mrx_sha256_hex_valid(id))
        return mrx_error_set(MRX_EINVAL, "%s is not a case folder", case_dir);
    return 0;
}

/* Read and verify the view in path, which must be of case_id by node and,
 * if sha is not NULL, hash to it. */
static int
read_view(mrx_view **out, mrx_pgp *pgp, const char *path, const char *case_id, const char *node,
          const char *sha)
{
    char *text = NULL, hex[MRX_SHA256_HEX_LEN + 1];
    mrx_view *v = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = mrx_fs_read_file(&text, &len, path, MRX_VIEW_SIGNED_MAX)) < 0)
        return rc;
    if ((rc = mrx_view_parse(&v, pgp, text, len)) < 0) {
        mrx_error_wrap(rc, "%s", path);
        goto out;
    }
    if (strcmp(v->case_id, case_id) != 0 || strcmp(v->node, node) != 0) {
        rc = mrx_error_set(MRX_EFORMAT, "%s: holds a view of case %s by %s", path, v->case_id,
                           v->node);
        goto out;
    }
    if (sha && ((rc = mrx_sha256_hex(hex, text, len)) < 0 || strcmp(hex, sha) != 0)) {
        rc = rc < 0 ? rc : mrx_error_set(MRX_EFORMAT, "%s: content does not match its name", path);
        goto out;
    }
    *out = v;
    v = NULL;
out:
    mrx_view_destroy(&v);
    free(text);
    return rc;
}

int
mrx_view_load(mrx_view **out, mrx_pgp *pgp, const char *case_dir, const char *node)
{
    char case_id[MRX_SHA256_HEX_LEN + 1], *path = NULL;
    int rc;

    *out = NULL;
    if (!mrx_text_is_fpr(node))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", node);
    if ((rc = folder_case_id(case_id, case_dir)) < 0)
        return rc;
    if (asprintf(&path, "%s/views/%s" SUFFIX, case_dir, node) < 0)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = read_view(out, pgp, path, case_id, node, NULL);
    if (rc == MRX_ENOTFOUND)
        mrx_error_set(rc, "case %s: no view by %s kept", case_id, node);
    free(path);
    return rc;
}

/* Store the view in dir as <NODE>-<SHA-256>.view unless it is there, or
 * the node already has MRX_VIEW_CONFLICTS_MAX files (*count of them). */
static int
keep_evidence(int *kept, size_t *count, const char *dir, const mrx_view *v)
{
    char hex[MRX_SHA256_HEX_LEN + 1], *path = NULL;
    int rc;

    if ((rc = mrx_sha256_hex(hex, v->text, v->len)) < 0)
        return rc;
    if (asprintf(&path, "%s/%s-%s" SUFFIX, dir, v->node, hex) < 0)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (access(path, F_OK) == 0) {
        rc = 0;
    } else if (*count >= MRX_VIEW_CONFLICTS_MAX) {
        *kept |= MRX_VIEW_KEPT_FULL;
    } else if ((rc = mrx_fs_write_new(path, v->text, v->len, 0600)) == 0 || rc == MRX_EEXIST) {
        (*count)++;
        rc = 0;
    }
    free(path);
    return rc;
}

/* Files in dir named <node>-... .view */
static size_t
count_evidence(const char *dir, const char *node)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0, len;

    if (!d)
        return 0;
    while ((de = readdir(d))) {
        len = strlen(de->d_name);
        if (strncmp(de->d_name, node, MRX_FPR_LEN) == 0 && de->d_name[MRX_FPR_LEN] == '-' &&
            len > SUFFIX_LEN && strcmp(de->d_name + len - SUFFIX_LEN, SUFFIX) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Hold the lock of a case's views (views/lock) in *fd. */
static int
lock_views(int *fd, const char *views_dir)
{
    char *path = mrx_fs_join(views_dir, "lock");
    int rc = 0;

    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0)
        rc = mrx_error_set(MRX_EIO, "%s: cannot open: %s", path, strerror(errno));
    else
        while (flock(*fd, LOCK_EX) != 0)
            if (errno != EINTR) {
                rc = mrx_error_set(MRX_EIO, "%s: cannot lock: %s", path, strerror(errno));
                break;
            }
    free(path);
    return rc;
}

int
mrx_view_keep(int *kept, char **why, mrx_pgp *pgp, const char *case_dir, const mrx_view *view)
{
    char case_id[MRX_SHA256_HEX_LEN + 1], *views = NULL, *conflicts = NULL, *latest = NULL;
    char *reason = NULL;
    mrx_view *old = NULL;
    size_t count;
    int fd = -1, rc;

    *kept = 0;
    if (why)
        *why = NULL;
    if ((rc = folder_case_id(case_id, case_dir)) < 0)
        return rc;
    if (strcmp(case_id, view->case_id) != 0)
        return mrx_error_set(MRX_EINVAL, "a view of case %s does not belong in %s", view->case_id,
                             case_dir);
    if (view->time > time(NULL) + AHEAD_MAX) {
        char when[MRX_TIME_LEN + 1];

        mrx_text_format_time(when, view->time);
        return mrx_error_set(MRX_EINVAL, "view by %s is dated %s, more than a day ahead",
                             view->node, when);
    }
    if (asprintf(&views, "%s/views", case_dir) < 0 ||
        asprintf(&conflicts, "%s/conflicts", views) < 0 ||
        asprintf(&latest, "%s/%s" SUFFIX, views, view->node) < 0) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mrx_fs_mkdir_p(conflicts, 0700)) < 0 || (rc = lock_views(&fd, views)) < 0)
        goto out;
    rc = read_view(&old, pgp, latest, case_id, view->node, NULL);
    if (rc < 0 && rc != MRX_ENOTFOUND)
        goto out;
    rc = 0;
    if (old && (rc = mrx_view_contradicts(old, view, &reason)) == 1) {
        *kept |= MRX_VIEW_KEPT_EVIDENCE;
        count = count_evidence(conflicts, view->node);
        if ((rc = keep_evidence(kept, &count, conflicts, old)) < 0 ||
            (rc = keep_evidence(kept, &count, conflicts, view)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    if (!old || view->time > old->time) {
        if ((rc = mrx_fs_write_atomic(latest, view->text, view->len, 0600)) < 0)
            goto out;
        *kept |= MRX_VIEW_KEPT_LATEST;
    }
    if (why) {
        *why = reason;
        reason = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    mrx_view_destroy(&old);
    free(reason);
    free(latest);
    free(conflicts);
    free(views);
    return rc;
}

/* A growing list of views. */
struct list {
    mrx_view **items; /* owned */
    size_t n;         /* in use */
    size_t cap;       /* allocated */
};

/* Add every view kept in dir to list: <NODE>.view files, or, for the
 * evidence folder, <NODE>-<SHA-256>.view files. Other names (a writer's
 * temporary files, the lock) are not views. */
static int
list_dir(struct list *list, mrx_pgp *pgp, const char *dir, const char *case_id, int evidence)
{
    const size_t name_len = MRX_FPR_LEN + (evidence ? 1 + MRX_SHA256_HEX_LEN : 0) + SUFFIX_LEN;
    char node[MRX_FPR_LEN + 1], sha[MRX_SHA256_HEX_LEN + 1], *path = NULL;
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (!d)
        return errno == ENOENT ? 0 : mrx_error_set(MRX_EIO, "%s: %s", dir, strerror(errno));
    while (rc == 0 && (de = readdir(d))) {
        const char *name = de->d_name;

        if (strlen(name) != name_len || strcmp(name + name_len - SUFFIX_LEN, SUFFIX) != 0 ||
            (evidence && name[MRX_FPR_LEN] != '-'))
            continue;
        memcpy(node, name, MRX_FPR_LEN);
        node[MRX_FPR_LEN] = '\0';
        sha[0] = '\0';
        if (evidence) {
            memcpy(sha, name + MRX_FPR_LEN + 1, MRX_SHA256_HEX_LEN);
            sha[MRX_SHA256_HEX_LEN] = '\0';
        }
        if (!mrx_text_is_fpr(node) || (evidence && !mrx_sha256_hex_valid(sha)))
            continue;
        if (list->n == list->cap) {
            size_t cap = list->cap ? 2 * list->cap : 16;
            mrx_view **items = realloc(list->items, cap * sizeof *items);

            if (!items) {
                rc = mrx_error_set(MRX_ENOMEM, "out of memory");
                break;
            }
            list->items = items;
            list->cap = cap;
        }
        if (!(path = mrx_fs_join(dir, name))) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            break;
        }
        rc = read_view(&list->items[list->n], pgp, path, case_id, node, evidence ? sha : NULL);
        if (rc == 0)
            list->n++;
        free(path);
    }
    closedir(d);
    return rc;
}

/* By node, time, then text, so that copies of one view are neighbours. */
static int
by_node_and_time(const void *pa, const void *pb)
{
    const mrx_view *a = *(mrx_view *const *)pa, *b = *(mrx_view *const *)pb;
    int c = strcmp(a->node, b->node);

    if (c)
        return c;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->text, b->text, a->len);
}

int
mrx_view_list(mrx_view ***out, size_t *n, mrx_pgp *pgp, const char *case_dir)
{
    char case_id[MRX_SHA256_HEX_LEN + 1], *views = NULL, *conflicts = NULL;
    struct list list = {NULL, 0, 0};
    size_t kept = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = folder_case_id(case_id, case_dir)) < 0)
        return rc;
    if (asprintf(&views, "%s/views", case_dir) < 0 ||
        asprintf(&conflicts, "%s/conflicts", views) < 0) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = list_dir(&list, pgp, views, case_id, 0)) < 0 ||
        (rc = list_dir(&list, pgp, conflicts, case_id, 1)) < 0)
        goto out;
    if (list.n)
        qsort(list.items, list.n, sizeof *list.items, by_node_and_time);
    for (size_t i = 0; i < list.n; i++)
        if (kept && by_node_and_time(&list.items[kept - 1], &list.items[i]) == 0)
            mrx_view_destroy(&list.items[i]);
        else
            list.items[kept++] = list.items[i];
    *out = list.items;
    *n = kept;
    list.items = NULL;
    list.n = 0;
out:
    mrx_view_list_destroy(&list.items, list.n);
    free(conflicts);
    free(views);
    return rc;
}

void
mrx_view_list_destroy(mrx_view ***list_p, size_t n)
{
    mrx_view **list = list_p ? *list_p : NULL;

    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        mrx_view_destroy(&list[i]);
    free(list);
    *list_p = NULL;
}

/*
 * mrx_node: the node home and its identity.
 */
#include "mrx_node.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_FILE "mrxd.conf"
#define GNUPG_DIR "gnupg"
#define CURVE_FILE "curve.secret"
#define CERT_FILE "node.cert"
#define PEERS_DIR "peers"
#define SCRATCH_DIR "tmp"
#define CASES_DIR "cases"
#define PEERS_MAX 4096

struct mrx_node {
    char *home;      /* the node home */
    char *gnupghome; /* its keyring folder */
    char *scratch;   /* its temporary folder */
    char *peers;     /* its peers folder */
    char *cases;     /* its cases folder */
    mrx_config config; /* mrxd.conf */
    mrx_pgp *pgp;    /* the keyring, open */
    mrx_cert *cert;  /* this node's certificate, verified */
};

int
mrx_node_home_resolve(char **out, const char *dir)
{
    const char *env;

    *out = NULL;
    if (dir && *dir)
        *out = strdup(dir);
    else if ((env = getenv("MRX_HOME")) && *env)
        *out = strdup(env);
    else if ((env = getenv("XDG_DATA_HOME")) && *env)
        *out = mrx_fs_join(env, "mrx");
    else if ((env = getenv("HOME")) && *env) {
        if (asprintf(out, "%s/.local/share/mrx", env) < 0)
            *out = NULL;
    } else
        return mrx_error_set(MRX_EINVAL, "no node home: use --home DIR or set MRX_HOME");
    if (!*out)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    /* absolute, so a daemon that leaves its working folder still finds it */
    if ((*out)[0] != '/') {
        char *cwd = getcwd(NULL, 0), *abs = NULL;
        if (!cwd || asprintf(&abs, "%s/%s", cwd, *out) < 0)
            abs = NULL;
        free(cwd);
        free(*out);
        if (!(*out = abs))
            return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    return 0;
}

static char *
home_path(const char *home, const char *name)
{
    return mrx_fs_join(home, name);
}

/* A home may be created when it does not exist or is an empty folder. */
static int
check_home_free(const char *home, int *existed)
{
    mrx_fs_state state;
    char *conf;
    int rc, is_node;

    *existed = 0;
    if ((rc = mrx_fs_folder_state(&state, home)) < 0)
        return rc;
    switch (state) {
    case MRX_FS_ABSENT:
        return 0;
    case MRX_FS_EMPTY:
        *existed = 1;
        return 0;
    case MRX_FS_NOT_DIR:
        return mrx_error_set(MRX_EEXIST, "%s: exists and is not a folder", home);
    case MRX_FS_NONEMPTY:
        break;
    }
    conf = home_path(home, CONFIG_FILE);
    is_node = conf && access(conf, F_OK) == 0;
    free(conf);
    return is_node ? mrx_error_set(MRX_EEXIST, "%s: a node already lives here (not overwriting it)",
                                   home)
                   : mrx_error_set(MRX_EEXIST, "%s: folder is not empty", home);
}

int
mrx_node_init(const char *home, const char *name, mrx_role role, const char *const *listen,
              size_t n_listen)
{
    mrx_config config;
    mrx_pgp *pgp = NULL;
    mrx_cert *cert = NULL;
    char *gnupg = NULL, *curve = NULL, *certpath = NULL, *peers = NULL, *scratch = NULL,
         *confpath = NULL, *userid = NULL;
    char curve_public[MRX_CURVE_Z85_LEN + 1];
    int rc, existed = 0, created_any = 0;
    size_t i;

    mrx_config_init(&config);
    if (!mrx_text_is_single_line(name, MRX_NAME_MAX) || strpbrk(name, "<>()"))
        return mrx_error_set(MRX_EINVAL, "bad node name (1-%d characters on one line, none of "
                                         "<>())",
                             MRX_NAME_MAX);
    for (i = 0; i < n_listen; i++)
        if ((rc = mrx_config_add_listen(&config, listen[i])) < 0)
            goto out;
    if ((rc = check_home_free(home, &existed)) < 0)
        goto out;
    gnupg = home_path(home, GNUPG_DIR);
    curve = home_path(home, CURVE_FILE);
    certpath = home_path(home, CERT_FILE);
    peers = home_path(home, PEERS_DIR);
    scratch = home_path(home, SCRATCH_DIR);
    confpath = home_path(home, CONFIG_FILE);
    if (!gnupg || !curve || !certpath || !peers || !scratch || !confpath ||
        asprintf(&userid, "%s (mrx %s node)", name, mrx_role_name(role)) < 0) {
        userid = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    created_any = 1;
    if ((rc = mrx_fs_mkdir_p(home, 0700)) < 0 || (rc = mrx_fs_mkdir_p(gnupg, 0700)) < 0 ||
        (rc = mrx_fs_mkdir_p(peers, 0700)) < 0 || (rc = mrx_fs_mkdir_p(scratch, 0700)) < 0)
        goto out;
    if (chmod(home, 0700) != 0) {
        rc = mrx_error_set(MRX_EIO, "%s: cannot restrict permissions: %s", home, strerror(errno));
        goto out;
    }
    if ((rc = mrx_pgp_new(&pgp, gnupg)) < 0 || (rc = mrx_pgp_generate(pgp, config.fpr, userid)) < 0)
        goto out;
    if ((rc = mrx_curve_generate(curve_public, curve)) < 0)
        goto out;
    strcpy(config.name, name);
    config.role = role;
    if ((rc = mrx_cert_build(&cert, pgp, name, role, config.fpr, curve_public,
                             (const char *const *)config.listen, config.n_listen, time(NULL))) < 0)
        goto out;
    if ((rc = mrx_fs_write_new(certpath, mrx_cert_text(cert), strlen(mrx_cert_text(cert)),
                               0644)) < 0)
        goto out;
    /* the config is written last: a home is a node once it exists */
    rc = mrx_config_save(&config, confpath);
out:
    mrx_cert_destroy(&cert);
    mrx_pgp_destroy(&pgp);
    if (rc < 0 && created_any) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", mrx_error_last());
        if (gnupg)
            mrx_pgp_stop_agent(gnupg);
        if (existed) {
            const char *parts[] = {gnupg, curve, certpath, peers, scratch, confpath};
            for (i = 0; i < sizeof parts / sizeof parts[0]; i++)
                if (parts[i])
                    mrx_fs_remove_tree(parts[i]);
        } else {
            mrx_fs_remove_tree(home);
        }
        mrx_error_set(rc, "%s", saved);
    }
    mrx_config_release(&config);
    free(gnupg);
    free(curve);
    free(certpath);
    free(peers);
    free(scratch);
    free(confpath);
    free(userid);
    return rc;
}

void
mrx_node_destroy(mrx_node **self_p)
{
    mrx_node *self;

    if (!self_p || !(self = *self_p))
        return;
    mrx_cert_destroy(&self->cert);
    mrx_pgp_destroy(&self->pgp);
    mrx_config_release(&self->config);
    free(self->home);
    free(self->gnupghome);
    free(self->scratch);
    free(self->peers);
    free(self->cases);
    free(self);
    *self_p = NULL;
}

int
mrx_node_open(mrx_node **out, const char *home)
{
    mrx_node *self = calloc(1, sizeof *self);
    char *confpath = NULL, *certpath = NULL, *text = NULL;
    size_t len = 0;
    struct stat st;
    int rc;

    *out = NULL;
    if (!self)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    self->home = strdup(home);
    self->gnupghome = home_path(home, GNUPG_DIR);
    self->scratch = home_path(home, SCRATCH_DIR);
    self->peers = home_path(home, PEERS_DIR);
    self->cases = home_path(home, CASES_DIR);
    confpath = home_path(home, CONFIG_FILE);
    certpath = home_path(home, CERT_FILE);
    if (!self->home || !self->gnupghome || !self->scratch || !self->peers || !self->cases ||
        !confpath || !certpath) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if (stat(confpath, &st) != 0) {
        rc = mrx_error_set(MRX_ENOTFOUND, "%s: no node here (create one with 'mrx init')", home);
        goto out;
    }
    if (stat(home, &st) == 0 && (st.st_mode & 077)) {
        rc = mrx_error_set(MRX_EDENIED, "%s: node home is open to other users (chmod 700)", home);
        goto out;
    }
    if ((rc = mrx_config_load(&self->config, confpath)) < 0)
        goto out;
    if ((rc = mrx_pgp_new(&self->pgp, self->gnupghome)) < 0)
        goto out;
    if (!mrx_pgp_has_secret(self->pgp, self->config.fpr)) {
        rc = mrx_error_set(MRX_ENOTFOUND, "%s: the node key %s is not in %s", home,
                           self->config.fpr, self->gnupghome);
        goto out;
    }
    if ((rc = mrx_fs_read_file(&text, &len, certpath, MRX_CERT_MAX)) < 0 ||
        (rc = mrx_cert_load(&self->cert, self->pgp, text, len)) < 0) {
        mrx_error_wrap(rc, "%s", certpath);
        goto out;
    }
    if (strcmp(mrx_cert_fpr(self->cert), self->config.fpr) != 0) {
        rc = mrx_error_set(MRX_EINVAL, "%s: certificate is not this node's", certpath);
        goto out;
    }
    *out = self;
    self = NULL;
out:
    free(confpath);
    free(certpath);
    free(text);
    mrx_node_destroy(&self);
    return rc;
}

const char *
mrx_node_home(const mrx_node *self)
{
    return self->home;
}

const mrx_config *
mrx_node_config(const mrx_node *self)
{
    return &self->config;
}

const mrx_cert *
mrx_node_cert(const mrx_node *self)
{
    return self->cert;
}

mrx_pgp *
mrx_node_pgp(mrx_node *self)
{
    return self->pgp;
}

const char *
mrx_node_scratch(const mrx_node *self)
{
    return self->scratch;
}

const char *
mrx_node_gnupghome(const mrx_node *self)
{
    return self->gnupghome;
}

const char *
mrx_node_cases(const mrx_node *self)
{
    return self->cases;
}

static char *
peer_path(const mrx_node *self, const char *fpr)
{
    char *path = NULL;

    if (asprintf(&path, "%s/%s.cert", self->peers, fpr) < 0)
        return NULL;
    return path;
}

int
mrx_node_peer_remove(mrx_node *self, const char *fpr)
{
    char *path = NULL;
    int rc = 0;

    if (!mrx_text_is_fpr(fpr))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", fpr);
    if (!(path = peer_path(self, fpr)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (unlink(path) != 0)
        rc = errno == ENOENT ? mrx_error_set(MRX_ENOTFOUND, "peer %s: not imported", fpr)
                             : mrx_error_set(MRX_EIO, "%s: %s", path, strerror(errno));
    else
        rc = mrx_fs_fsync_dir(self->peers);
    free(path);
    return rc;
}

int
mrx_node_peer_holds(mrx_node *self, const char *fpr, const char *text, size_t len)
{
    char *path = NULL, *stored = NULL;
    size_t stored_len = 0;
    int same;

    if (!mrx_text_is_fpr(fpr) || !(path = peer_path(self, fpr)))
        return 0;
    same = mrx_fs_read_file(&stored, &stored_len, path, MRX_CERT_MAX) == 0 && stored_len == len &&
           memcmp(stored, text, len) == 0;
    free(path);
    free(stored);
    mrx_error_clear();
    return same;
}

int
mrx_node_peer_get(mrx_node *self, mrx_cert **out, const char *fpr)
{
    char *path = NULL, *text = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if (!mrx_text_is_fpr(fpr))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", fpr);
    if (!(path = peer_path(self, fpr)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (access(path, F_OK) != 0) {
        rc = mrx_error_set(MRX_ENOTFOUND, "peer %s: not imported (mrx peer add FILE)", fpr);
        goto out;
    }
    if ((rc = mrx_fs_read_file(&text, &len, path, MRX_CERT_MAX)) < 0 ||
        (rc = mrx_cert_load(out, self->pgp, text, len)) < 0) {
        mrx_error_wrap(rc, "peer %s", fpr);
        goto out;
    }
    if (strcmp(mrx_cert_fpr(*out), fpr) != 0) {
        mrx_cert_destroy(out);
        rc = mrx_error_set(MRX_EFORMAT, "peer %s: stored certificate names another key", fpr);
    }
out:
    free(path);
    free(text);
    return rc;
}

int
mrx_node_knows(mrx_node *self, const char *fpr)
{
    char *path;
    int known;

    if (!mrx_text_is_fpr(fpr))
        return 0;
    if (strcmp(fpr, self->config.fpr) == 0)
        return 1;
    if (!(path = peer_path(self, fpr)))
        return 0;
    known = access(path, F_OK) == 0;
    free(path);
    return known;
}

int
mrx_node_peer_add(mrx_node *self, mrx_cert **out, const char *text, size_t len)
{
    mrx_cert *cert = NULL, *old = NULL;
    char fpr[MRX_FPR_LEN + 1];
    char *path = NULL;
    int rc;

    if (out)
        *out = NULL;
    if ((rc = mrx_cert_parse(&cert, text, len, self->scratch)) < 0)
        return rc;
    if (strcmp(mrx_cert_fpr(cert), self->config.fpr) == 0) {
        rc = mrx_error_set(MRX_EINVAL, "that is this node's own certificate");
        goto out;
    }
    if (mrx_node_knows(self, mrx_cert_fpr(cert))) {
        if ((rc = mrx_node_peer_get(self, &old, mrx_cert_fpr(cert))) < 0)
            goto out;
        if (mrx_cert_created(cert) <= mrx_cert_created(old)) {
            rc = mrx_error_set(MRX_EEXIST, "peer %s: already imported (this certificate is not "
                                           "newer)",
                               mrx_cert_fpr(cert));
            goto out;
        }
    }
    /* the key was checked in a scratch keyring; now it joins ours */
    if ((rc = mrx_pgp_import(self->pgp, fpr, mrx_cert_public_key(cert),
                             strlen(mrx_cert_public_key(cert)))) < 0)
        goto out;
    if (strcmp(fpr, mrx_cert_fpr(cert)) != 0) {
        rc = mrx_error_set(MRX_ECRYPTO, "imported key %s differs from the certificate's", fpr);
        goto out;
    }
    if (!(path = peer_path(self, fpr))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mrx_fs_write_atomic(path, mrx_cert_text(cert), strlen(mrx_cert_text(cert)),
                                  0644)) < 0)
        goto out;
    if (out) {
        *out = cert;
        cert = NULL;
    }
out:
    free(path);
    mrx_cert_destroy(&cert);
    mrx_cert_destroy(&old);
    return rc;
}

static int
compare_by_name(const void *a, const void *b)
{
    const mrx_cert *x = *(mrx_cert *const *)a, *y = *(mrx_cert *const *)b;
    int c = strcmp(mrx_cert_name(x), mrx_cert_name(y));

    return c ? c : strcmp(mrx_cert_fpr(x), mrx_cert_fpr(y));
}

int
mrx_node_peer_list(mrx_node *self, mrx_cert ***out, size_t *n)
{
    mrx_cert **certs = NULL;
    size_t count = 0;
    DIR *dir;
    struct dirent *de;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (!(dir = opendir(self->peers)))
        return mrx_error_set(MRX_EIO, "%s: %s", self->peers, strerror(errno));
    while ((de = readdir(dir))) {
        char fpr[MRX_FPR_LEN + 1];
        size_t len = strlen(de->d_name);
        mrx_cert **grown;

        if (len != MRX_FPR_LEN + 5 || strcmp(de->d_name + MRX_FPR_LEN, ".cert") != 0)
            continue;
        memcpy(fpr, de->d_name, MRX_FPR_LEN);
        fpr[MRX_FPR_LEN] = '\0';
        if (!mrx_text_is_fpr(fpr))
            continue;
        if (count == PEERS_MAX) {
            rc = mrx_error_set(MRX_ELIMIT, "more than %d peers", PEERS_MAX);
            break;
        }
        if (!(grown = realloc(certs, (count + 1) * sizeof *certs))) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            break;
        }
        certs = grown;
        if ((rc = mrx_node_peer_get(self, &certs[count], fpr)) < 0)
            break;
        count++;
    }
    closedir(dir);
    if (rc < 0) {
        for (size_t i = 0; i < count; i++)
            mrx_cert_destroy(&certs[i]);
        free(certs);
        return rc;
    }
    if (count)
        qsort(certs, count, sizeof *certs, compare_by_name);
    *out = certs;
    *n = count;
    return 0;
}

void
mrx_node_describe_key(mrx_node *self, char *buf, size_t len, const char *fpr)
{
    mrx_cert *cert = NULL;

    if (strcmp(fpr, self->config.fpr) == 0)
        snprintf(buf, len, "%s (this node)", self->config.name);
    else if (mrx_node_peer_get(self, &cert, fpr) == 0)
        snprintf(buf, len, "%s (%s)", mrx_cert_name(cert), mrx_role_name(mrx_cert_role(cert)));
    else
        snprintf(buf, len, "%s", fpr);
    mrx_cert_destroy(&cert);
}
